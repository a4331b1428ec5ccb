"""MemoryServerTransport: clients in the same process, speaking commands and events.

For programs that embed LocalChat (a bot, a bridge, a test) and for fast application
tests: no sockets, no codec, the same dispatcher and the same guarantees of order. A
:class:`MemoryClient` sends domain commands and receives domain events.
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Sequence

from localchat.adapters.wire.errors import ShuttingDown
from localchat.domain.commands import Command, Disconnect, Quit
from localchat.domain.events import CommandRejected, Event, SessionClosed
from localchat.domain.model import LeaveReason, SessionId
from localchat.ports.transport import CommandSink, Outbound, Reply, TransportOptions

SHUTTING_DOWN = CommandRejected.from_error(ShuttingDown())


def create_transport(options: TransportOptions) -> MemoryServerTransport:
    """Entry point ``memory`` of the ``localchat.transports`` group."""
    return MemoryServerTransport()


class MemoryClient:
    """One in-process session. Thread-safe: send from one thread, receive from another."""

    def __init__(self, transport: MemoryServerTransport, session: SessionId) -> None:
        self._transport = transport
        self.session = session
        self._events: collections.deque[Event] = collections.deque()
        self._ready = threading.Condition()
        self.closed = False

    def send(self, command: Command) -> None:
        """Submit a command; ignored once the session is closed."""
        if self.closed:
            return
        if isinstance(command, Quit):
            self.closed = True
        self._transport.submit(self.session, command)

    def receive(self, timeout: float = 5.0) -> Event:
        """The next event, waiting up to ``timeout`` seconds; raises TimeoutError."""
        deadline = time.monotonic() + timeout
        with self._ready:
            while not self._events:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError("no event in time")
                self._ready.wait(remaining)
            return self._events.popleft()

    def pending(self) -> list[Event]:
        """Every event received and not yet taken, without waiting."""
        with self._ready:
            events = list(self._events)
            self._events.clear()
            return events

    def close(self) -> None:
        """Drop the session as a lost connection would (members see ``disconnected``)."""
        if not self.closed:
            self.closed = True
            self._transport.submit(self.session, Disconnect(reason=LeaveReason.DISCONNECTED))
        self._transport.forget(self.session)

    def _push(self, event: Event) -> None:
        with self._ready:
            self._events.append(event)
            self._ready.notify_all()
        if isinstance(event, SessionClosed):
            self.closed = True
            self._transport.forget(self.session)
        elif isinstance(event, CommandRejected) and event.fatal:
            # The core refused the session (e.g. name_taken): end it as a TCP close would,
            # so the dispatcher forgets it too.
            self.close()


class MemoryServerTransport:
    name = "memory"

    def __init__(self) -> None:
        self._sink: CommandSink | None = None
        self._clients: dict[SessionId, MemoryClient] = {}

    def start(self, sink: CommandSink) -> None:
        self._sink = sink

    def addresses(self) -> list[str]:
        return ["memory (in-process only)"]

    def connect(self) -> MemoryClient:
        """A new session; send ``Register`` first, as a TCP client sends ``hello``."""
        assert self._sink is not None, "start() first"
        session = self._sink.open_session(self)
        client = MemoryClient(self, session)
        self._clients[session] = client
        return client

    def submit(self, session: SessionId, command: Command) -> None:
        assert self._sink is not None
        self._sink.submit([(session, command)])

    def forget(self, session: SessionId) -> None:
        self._clients.pop(session, None)

    def deliver(self, event: Outbound, recipients: Sequence[SessionId]) -> None:
        if isinstance(event, Reply):
            return  # this transport submits no replies: clients speak commands directly
        clients = self._clients
        for session in recipients:
            client = clients.get(session)
            if client is not None:
                client._push(event)

    def flush(self) -> None:
        """Events are handed over in :meth:`deliver`; nothing is buffered."""

    def shutdown(self, timeout: float) -> None:
        for client in list(self._clients.values()):
            client._push(SHUTTING_DOWN)
        self._clients.clear()
