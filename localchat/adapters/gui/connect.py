"""The connect dialog's logic: server, port, name (and a password when one is needed).

:class:`ConnectPresenter` validates what the person typed and hands a
:class:`~localchat.ports.session.ConnectTarget` to whoever asked; it shows results through
a :class:`ConnectView` that only draws a :class:`ConnectForm`. Servers found on the network
come from an optional :class:`~localchat.ports.session.ServerDirectory`, polled while the
dialog is open (:meth:`ConnectPresenter.refresh`), so a discovery adapter plugs in without
the dialog knowing how servers are found.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Protocol

from localchat.domain.errors import InvalidName
from localchat.domain.names import UserName
from localchat.ports.session import ConnectTarget, ServerDirectory, ServerEntry

Field = Literal["host", "port", "name", "password"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ConnectForm:
    """Everything the dialog shows. ``port`` is text: it is shown as typed."""

    host: str = ""
    port: str = "5050"
    name: str = ""
    ask_password: bool = False
    """The server wants a password: show the (masked) password field."""
    error: str = ""
    focus: Field = "host"
    busy: bool = False
    """Connecting: the fields are read-only until the attempt ends."""
    status: str = ""
    servers: tuple[ServerEntry, ...] = ()


class ConnectView(Protocol):
    def show_form(self, form: ConnectForm) -> None: ...

    def close(self) -> None: ...


NAME_RULE = "a name is 1 to 32 letters, digits, '_', '-' or '.'"


class ConnectPresenter:
    """The dialog's decisions; see the module docstring."""

    def __init__(
        self,
        form: ConnectForm,
        *,
        on_submit: Callable[[ConnectTarget], None],
        on_cancel: Callable[[], None],
        directory: ServerDirectory | None = None,
        fallback_password: str | None = None,
    ) -> None:
        self.form = form
        self._on_submit = on_submit
        self._on_cancel = on_cancel
        self._directory = directory
        self._fallback_password = fallback_password
        self._view: ConnectView | None = None
        self._closed = False

    @property
    def closed(self) -> bool:
        return self._closed

    def attach(self, view: ConnectView) -> None:
        """The view exists: draw the form (with any servers already found)."""
        self._view = view
        self.refresh()
        view.show_form(self.form)

    def _show(self, form: ConnectForm) -> None:
        self.form = form
        if self._view is not None and not self._closed:
            self._view.show_form(form)

    # -- intents from the view ------------------------------------------------------------------

    def submit(self, host: str, port: str, name: str, password: str = "") -> None:
        if self.form.busy or self._closed:
            return
        host, port, name = host.strip(), port.strip(), name.strip()
        typed = dataclasses.replace(self.form, host=host, port=port, name=name, status="")
        problem = self._check(host, port, name)
        if problem is not None:
            message, field = problem
            self._show(dataclasses.replace(typed, error=message, focus=field))
            return
        target = ConnectTarget(
            host=host,
            port=int(port),
            name=UserName.parse(name).display,
            password=password or self._fallback_password,
        )
        self._show(
            dataclasses.replace(
                typed,
                error="",
                busy=True,
                status=f"Connecting to {target.address} as {target.name}…",
            )
        )
        self._on_submit(target)

    def cancel(self) -> None:
        if not self._closed:
            self._on_cancel()

    def server_chosen(self, entry: ServerEntry) -> None:
        if not self.form.busy:
            self._show(dataclasses.replace(self.form, host=entry.host, port=str(entry.port)))

    def refresh(self) -> None:
        """Poll the directory (UI thread); redraw only when the list changed."""
        if self._directory is None:
            return
        servers = self._directory.snapshot()
        if servers != self.form.servers:
            self._show(dataclasses.replace(self.form, servers=servers))

    # -- from the chat presenter ----------------------------------------------------------------

    def failed(self, error: str, *, focus: Field = "host", ask_password: bool = False) -> None:
        """The attempt failed: say why, and let the person fix it."""
        self._show(
            dataclasses.replace(
                self.form,
                busy=False,
                status="",
                error=error,
                focus=focus,
                ask_password=ask_password or self.form.ask_password,
            )
        )

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            if self._view is not None:
                self._view.close()

    @staticmethod
    def _check(host: str, port: str, name: str) -> tuple[str, Field] | None:
        if not host or any(char.isspace() for char in host):
            return "Type the server's address, e.g. 192.168.1.20 or chat.local", "host"
        if not port.isascii() or not port.isdigit() or not 1 <= int(port) <= 65535:
            return "The port is a number from 1 to 65535 (LocalChat uses 5050)", "port"
        try:
            UserName.parse(name)
        except InvalidName:
            if not name:
                return "Type the name others will see you as", "name"
            return f"That name cannot be used: {NAME_RULE}", "name"
        return None
