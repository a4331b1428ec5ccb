"""The connect dialog's logic: server, port, name (and a password when one is needed).

:class:`ConnectPresenter` validates what the person typed and hands a
:class:`~localchat.ports.session.ConnectTarget` to whoever asked; it shows results through
a :class:`ConnectView` that only draws a :class:`ConnectForm`. Servers found on the network
come from an optional :class:`~localchat.ports.discovery.ServerDirectory`, polled while the
dialog is open (:meth:`ConnectPresenter.refresh`), so a discovery adapter plugs in without
the dialog knowing how servers are found. Servers that worked before are offered below the
ones found. A server picked from the list carries what it announced (its TLS fingerprint) into
the :class:`~localchat.ports.session.ConnectTarget`, so the first-contact question can compare.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Protocol

from localchat.domain.errors import InvalidName
from localchat.domain.names import UserName
from localchat.ports.discovery import (
    NOTHING_FOUND_REASONS,
    ServerDirectory,
    ServerEntry,
    ServerListing,
)
from localchat.ports.session import DEFAULT_PORT, ConnectTarget, address_key

Field = Literal["host", "port", "name", "password"]
FIELD_LABELS: dict[Field, str] = {
    "host": "Server address",
    "port": "Port",
    "name": "Your name",
    "password": "Password",
}
"""What each field is called, in every view (in this order)."""

LOOKING = "Looking for servers on your network…"
NOTHING_FOUND = (
    f"No server found on your network. {NOTHING_FOUND_REASONS} Type its address and port below."
)


@dataclass(frozen=True, slots=True, kw_only=True)
class ServerRow:
    """One line of the dialog's server list."""

    text: str
    entry: ServerEntry
    found: bool
    """Found on the network now (else: a server used before)."""


def describe(entry: ServerEntry, *, found: bool) -> str:
    """``Team room — 10.0.0.5:5050 — encrypted, password``."""
    traits: list[str] = []
    if found:
        if entry.tls is not None:
            traits.append("encrypted" if entry.tls else "NOT encrypted")
        if entry.password:
            traits.append("password")
    else:
        traits.append("used before")
    label = entry.label if entry.label and entry.label != entry.address else ""
    parts = [label, entry.address] if label else [entry.address]
    return " — ".join([*parts, ", ".join(traits)]) if traits else " — ".join(parts)


def server_rows(
    found: tuple[ServerEntry, ...], remembered: tuple[ServerEntry, ...]
) -> tuple[ServerRow, ...]:
    """Servers found first; then those used before that are not found now."""
    rows = [ServerRow(text=describe(e, found=True), entry=e, found=True) for e in found]
    seen = {address_key(e.host, e.port) for e in found}
    for entry in remembered:
        if address_key(entry.host, entry.port) not in seen:
            seen.add(address_key(entry.host, entry.port))
            rows.append(ServerRow(text=describe(entry, found=False), entry=entry, found=False))
    return tuple(rows)


def discovery_note(listing: ServerListing) -> str:
    """One line about looking for servers (empty when servers were found)."""
    if listing.servers:
        return ""
    if listing.problem is not None:
        return f"Cannot look for servers on your network ({listing.problem}). Type the address."
    return LOOKING if listing.searching else NOTHING_FOUND


@dataclass(frozen=True, slots=True, kw_only=True)
class ConnectForm:
    """Everything the dialog shows. ``port`` is text: it is shown as typed."""

    host: str = ""
    port: str = str(DEFAULT_PORT)
    name: str = ""
    ask_password: bool = False
    """The server wants a password: show the (masked) password field."""
    error: str = ""
    focus: Field = "host"
    busy: bool = False
    """Connecting: the fields are read-only until the attempt ends."""
    status: str = ""
    servers: tuple[ServerRow, ...] = ()
    """Servers found on the network, then servers used before."""
    discovery: str = ""
    """A line about looking for servers: still looking, or why nothing was found."""


class ConnectView(Protocol):
    def show_form(self, form: ConnectForm) -> None: ...

    def close(self) -> None: ...


NAME_REFUSED = f"That name cannot be used: {InvalidName.default_message}"


class ConnectPresenter:
    """The dialog's decisions; see the module docstring."""

    def __init__(
        self,
        form: ConnectForm,
        *,
        on_submit: Callable[[ConnectTarget], None],
        on_cancel: Callable[[], None],
        directory: ServerDirectory | None = None,
        remembered: tuple[ServerEntry, ...] = (),
        fallback_password: str | None = None,
    ) -> None:
        self._remembered = remembered
        self.form = dataclasses.replace(form, servers=server_rows((), remembered))
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
        checked = self._check(host, port, name)
        if not isinstance(checked, UserName):
            message, field = checked
            self._show(dataclasses.replace(typed, error=message, focus=field))
            return
        picked = self._listed(host, int(port))
        target = ConnectTarget(
            host=host,
            port=int(port),
            name=checked.display,
            password=password or self._fallback_password,
            advertised_fingerprint=None if picked is None else picked.fingerprint,
            label="" if picked is None else picked.label,
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
        """A click on a listed server: fill in its address."""
        if not self.form.busy:
            self._show(
                dataclasses.replace(self.form, host=entry.host, port=str(entry.port), error="")
            )

    def server_activated(self, entry: ServerEntry, name: str, password: str = "") -> None:
        """A double click on a listed server: connect to it with the name typed (the form
        shows its address either way)."""
        self.submit(entry.host, str(entry.port), name, password)

    def refresh(self) -> None:
        """Poll the directory (UI thread); redraw only when what is shown changed."""
        if self._directory is None:
            return
        listing = self._directory.snapshot()
        rows = server_rows(listing.servers, self._remembered)
        note = discovery_note(listing)
        if rows != self.form.servers or note != self.form.discovery:
            self._show(dataclasses.replace(self.form, servers=rows, discovery=note))

    def _listed(self, host: str, port: int) -> ServerEntry | None:
        """The listed server at this address (found ones first), if any."""
        key = address_key(host, port)
        for row in self.form.servers:
            if address_key(row.entry.host, row.entry.port) == key:
                return row.entry
        return None

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
    def _check(host: str, port: str, name: str) -> UserName | tuple[str, Field]:
        """The name to register as, or what is wrong and the field to fix."""
        if not host or any(char.isspace() for char in host):
            return "Type the server's address, e.g. 192.168.1.20 or chat.local", "host"
        if not port.isascii() or not port.isdigit() or not 1 <= int(port) <= 65535:
            return f"The port is a number from 1 to 65535 (LocalChat uses {DEFAULT_PORT})", "port"
        try:
            return UserName.parse(name)
        except InvalidName:
            if not name:
                return "Type the name others will see you as", "name"
            return NAME_REFUSED, "name"
