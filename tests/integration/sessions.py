"""Client sessions for tests: a fast reconnect backoff, openers that use it, and a listener
that records what a session reports."""

from __future__ import annotations

import functools
import queue
from collections.abc import Callable
from typing import TypeVar

from localchat.adapters.tcp.session import Backoff, TcpChatSession, open_tcp_session
from localchat.adapters.tls.known_servers import user_known_servers
from localchat.ports.session import ConnectTarget, SessionEvent, SessionListener

E = TypeVar("E")

FAST = Backoff(initial=0.05, maximum=0.2)
"""Reconnect quickly: tests wait for reconnects, a person's client need not hurry."""

open_fast = functools.partial(open_tcp_session, backoff=FAST)
"""A started plain-TCP session with the :data:`FAST` backoff (a ``SessionOpener``)."""


def open_fast_tls(target: ConnectTarget, listener: SessionListener) -> TcpChatSession:
    """Over TLS, checked against the pins in this test's private config directory."""
    return open_fast(target, listener, known_servers=user_known_servers())


class Recorder:
    """The session's listener: every event, in order, on a queue."""

    def __init__(self) -> None:
        self.events: queue.Queue[SessionEvent] = queue.Queue()

    def __call__(self, event: SessionEvent) -> None:
        self.events.put(event)

    def next(self, kind: type[E], timeout: float = 5.0) -> E:
        """The next event of ``kind``, skipping others."""
        while True:
            event = self.events.get(timeout=timeout)
            if isinstance(event, kind):
                return event


OpenSession = Callable[..., tuple[TcpChatSession, Recorder]]
"""``open_session(port, name="ada", known_servers=None, **target)`` (the fixture's type)."""
