"""Real client windows in this process, for the GUI tests: :class:`TkClient` (wired like
``run-client``, with a fast reconnect), :func:`spin` (the Tk-aware ``wait_until``) and
:func:`two_windows`.

tkinter is imported only in the guarded block below, so that a Python without it skips the
GUI tests one by one (see ``conftest.py``) instead of failing to collect them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC
from typing import Any

from localchat.adapters.gui.connect import ConnectForm
from localchat.adapters.gui.presenter import ChatPresenter
from localchat.adapters.system_clock import SystemClock
from localchat.adapters.tls.known_servers import KnownServersTrust, user_known_servers
from localchat.ports.discovery import ServerDirectory
from localchat.ports.session import ConnectTarget
from tests.integration.sessions import open_fast, open_fast_tls
from tests.servers import RunningServer

try:
    from localchat.adapters.gui.tk_view import TkChatView
except ImportError as error:
    TK_MISSING: ImportError | None = error
else:
    TK_MISSING = None


class TkClient:
    """One real client window in this process, wired like ``run-client`` but with a fast
    reconnect backoff (plain TCP unless ``tls``, like the test servers)."""

    def __init__(
        self,
        port: int | None,
        name: str,
        *,
        tls: bool = False,
        directory: ServerDirectory | None = None,
        **target: Any,
    ) -> None:
        self.view = TkChatView.open()
        self.root = self.view.root
        self.presenter = ChatPresenter(
            self.view,
            open_fast_tls if tls else open_fast,
            clock=SystemClock(),
            zone=UTC,
            directory=directory,
            trust=KnownServersTrust(user_known_servers()),
        )
        self.view.attach(self.presenter)
        start = (
            None
            if port is None
            else ConnectTarget(host="127.0.0.1", port=port, name=name, **target)
        )
        self.presenter.start(start, ConnectForm(host="127.0.0.1", name=name))

    @property
    def closed(self) -> bool:
        return self.view.closed

    def type(self, text: str) -> None:
        """Type into the input line and press Enter."""
        entry = self.view.input
        entry.focus_force()
        entry.delete("1.0", "end")
        entry.insert("end", text)
        entry.event_generate("<Return>")

    def log(self, key: str = "#lobby") -> str:
        """The text of a conversation's log ("" while it does not exist)."""
        if key not in self.view.conversation_keys():
            return ""
        return self.view.log_text(key)

    def connected(self) -> bool:
        return self.root.state() == "normal" and "#lobby" in self.view.conversation_keys()


def spin(
    *clients: TkClient, until: Callable[[], object], timeout: float = 8.0, what: str = ""
) -> Any:
    """Run the clients' Tk loops until ``until()`` is truthy (the Tk-aware ``wait_until``)."""
    deadline = time.monotonic() + timeout
    while True:
        for client in clients:
            if not client.closed:
                client.root.update()
        result = until()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or until}")
        time.sleep(0.01)


def two_windows(
    server: RunningServer, open_window: Callable[..., TkClient]
) -> tuple[TkClient, TkClient]:
    """ada's and bob's windows on ``server``, each seeing the other."""
    ada = open_window(server.port, "ada")
    bob = open_window(server.port, "bob")
    spin(ada, bob, until=lambda: ada.connected() and bob.connected(), what="both connected")
    spin(ada, bob, until=lambda: "bob joined #lobby" in ada.log(), what="ada to see bob")
    return ada, bob
