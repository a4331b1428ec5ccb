"""Real Tk windows on the virtual display pytest-xvfb starts.

Every test here runs behind the autouse :func:`display` fixture. With
``LOCALCHAT_REQUIRE_DISPLAY=1`` (set by ``.ci/run``) a Python without tkinter (Debian ships
it apart, as ``python3-tk``) or a missing display fails these tests loudly; elsewhere it skips
them, so a laptop without Tk or Xvfb can still run the rest. So that the skip happens per test
and not as a collection error, nothing here or in the test modules imports tkinter when the
modules load, except in the guarded block of :mod:`tests.integration.gui.windows` (test
modules import it for type hints only; :func:`display` imports it once it knows it is there).
"""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.helpers import display_unavailable
from tests.integration.gui.windows import TK_MISSING, TkClient


@pytest.fixture(scope="session", autouse=True)
def display() -> None:
    if TK_MISSING is not None:
        display_unavailable(
            f"this Python has no tkinter ({TK_MISSING}): apt-get install python3-tk"
        )
    import tkinter

    try:
        probe = tkinter.Tk()
    except tkinter.TclError as error:
        display_unavailable(f"no display could be opened ({error}): apt-get install xvfb")
    probe.destroy()


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
