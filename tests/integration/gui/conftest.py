"""Real Tk windows on the virtual display pytest-xvfb starts.

Every test here runs behind the autouse :func:`display` fixture. With
``LOCALCHAT_REQUIRE_DISPLAY=1`` (set by ``.ci/run``) a Python without tkinter (Debian ships
it apart, as ``python3-tk``) or a missing display fails these tests loudly; elsewhere it skips
them, so a laptop without Tk or Xvfb can still run the rest. So that the skip happens per test
and not as a collection error, nothing here or in the test modules imports tkinter when the
modules load, except in the guarded block below (test modules import it for type hints only).
"""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC
from typing import Any

import pytest

from localchat.adapters.gui.connect import ConnectForm
from localchat.adapters.gui.presenter import ChatPresenter
from localchat.adapters.system_clock import SystemClock
from localchat.adapters.tls.known_servers import KnownServersTrust, user_known_servers
from localchat.ports.session import ConnectTarget, ServerDirectory
from tests.helpers import display_unavailable
from tests.integration.sessions import open_fast, open_fast_tls
from tests.servers import RunningServer

try:
    import tkinter

    from localchat.adapters.gui.tk_view import TkChatView
except ImportError as error:
    TK_MISSING: ImportError | None = error
else:
    TK_MISSING = None


@pytest.fixture(scope="session", autouse=True)
def display() -> None:
    if TK_MISSING is not None:
        display_unavailable(
            f"this Python has no tkinter ({TK_MISSING}): apt-get install python3-tk"
        )
    try:
        probe = tkinter.Tk()
    except tkinter.TclError as error:
        display_unavailable(f"no display could be opened ({error}): apt-get install xvfb")
    probe.destroy()


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


@pytest.fixture
def open_window(display: None) -> Iterator[Callable[..., TkClient]]:
    clients: list[TkClient] = []

    def open_(port: int | None, name: str, **target: Any) -> TkClient:
        client = TkClient(port, name, **target)
        clients.append(client)
        return client

    yield open_
    for client in clients:
        if not client.closed:
            client.presenter.quit()
    clients.clear()
    join_client_threads()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item) -> Iterator[None]:
    """After each GUI test, once pytest let go of its fixtures and locals, free the
    windows here, on the main thread (see :func:`join_client_threads`)."""
    yield
    gc.collect()


def join_client_threads(timeout: float = 5.0) -> None:
    """Wait until no client thread can still hold a window.

    Tk widgets always form reference cycles, so a closed window is freed by the garbage
    collector, which runs on whatever thread happens to allocate. If that is a network
    thread of a later test, Tcl aborts the process ("Tcl_AsyncDelete: async handler deleted
    by the wrong thread"). So the sessions' network threads and the discovery feed (which
    end after ``quit``) are joined here, and the windows are collected on the main thread
    after the test (:func:`pytest_runtest_protocol`).
    """
    deadline = time.monotonic() + timeout
    for thread in threading.enumerate():
        if thread is not threading.current_thread() and thread.name.startswith(
            ("localchat-session", "localchat-browse", "localchat-discovery")
        ):
            thread.join(max(0.0, deadline - time.monotonic()))
