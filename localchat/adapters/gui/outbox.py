"""Bookkeeping of what the client sent and has not heard back about.

:class:`Outbox` keeps every line the person typed (a room message or a direct message)
until the server echoes it: the echo is the acknowledgement (PROTOCOL.md §6). A line typed
while offline waits; a line sent on a connection that then broke waits again and goes out
after the reconnect. Nothing the person typed is dropped unless the server refuses it.
(A line the server accepted but whose echo was lost with the connection is sent twice:
at least once beats at most once for a chat.)

:class:`RequestLog` pairs answers with requests. The server answers one connection's
commands in order, so a non-fatal ``error`` belongs to the oldest request that has had no
answer yet; that is how a refused line is taken out of the outbox and shown where it was
typed.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import count

from localchat.domain.commands import PostMessage, SendDirect
from localchat.ports.session import ClientCommand

Line = PostMessage | SendDirect


@dataclass(frozen=True, slots=True, kw_only=True)
class OutboxEntry:
    number: int
    conversation: str
    command: Line

    @property
    def text(self) -> str:
        return self.command.text


class Outbox:
    """Lines in the order typed; each is *waiting* or *in flight* on this connection."""

    def __init__(self) -> None:
        self._entries: list[OutboxEntry] = []
        self._in_flight: set[int] = set()
        self._numbers = count(1)

    def __len__(self) -> int:
        return len(self._entries)

    def add(self, conversation: str, command: Line) -> OutboxEntry:
        entry = OutboxEntry(number=next(self._numbers), conversation=conversation, command=command)
        self._entries.append(entry)
        return entry

    def waiting(self) -> list[OutboxEntry]:
        """Lines not sent on the current connection, oldest first."""
        return [entry for entry in self._entries if entry.number not in self._in_flight]

    def mark_sent(self, entry: OutboxEntry) -> None:
        self._in_flight.add(entry.number)

    def settle(self, entry: OutboxEntry) -> None:
        """The server echoed or refused ``entry``: it is done."""
        self._in_flight.discard(entry.number)
        self._entries = [e for e in self._entries if e.number != entry.number]

    def connection_lost(self) -> None:
        """Everything unacknowledged waits to be sent again."""
        self._in_flight.clear()


@dataclass(slots=True)
class Request:
    """A command sent on the current connection, still without its answer."""

    command: ClientCommand
    conversation: str | None = None
    """Where the answer (or the error) is shown."""
    visible: bool = False
    """The person asked (``/users``, ``/rooms``): show the answer, not only use it."""
    entry: OutboxEntry | None = field(default=None)


class RequestLog:
    """Requests in the order sent; see the module docstring."""

    def __init__(self) -> None:
        self._pending: deque[Request] = deque()

    def __len__(self) -> int:
        return len(self._pending)

    def add(self, request: Request) -> None:
        self._pending.append(request)

    def answer(self, matches: Callable[[ClientCommand], bool]) -> Request | None:
        """Remove and return the oldest request the answer matches, if any."""
        for request in self._pending:
            if matches(request.command):
                self._pending.remove(request)
                return request
        return None

    def reject(self) -> Request | None:
        """An error arrived: it answers the oldest request."""
        return self._pending.popleft() if self._pending else None

    def clear(self) -> None:
        """A new connection: old requests will never be answered."""
        self._pending.clear()
