"""Hand-written fakes for the ports (no mocks): injected at the composition root."""

from __future__ import annotations

import queue
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from localchat.adapters.tls.fingerprint import Fingerprint
from localchat.domain.model import Message
from localchat.domain.names import RoomName
from localchat.ports.discovery import DiscoveredServer
from localchat.ports.store import Commit, StoreError

OTHER_FINGERPRINT = Fingerprint(b"\x42" * 32)
"""A fingerprint no test server presents: a pin or an announcement that does not match."""


class FixedClock:
    """A clock that only moves when told to (``advance``), or by ``step`` per reading."""

    def __init__(self, start: datetime | None = None, *, step: timedelta = timedelta(0)) -> None:
        self._now = start or datetime(2026, 11, 22, 10, 4, 5, 123000, tzinfo=UTC)
        self._step = step

    def now(self) -> datetime:
        moment = self._now
        self._now += self._step
        return moment

    def advance(self, delta: timedelta) -> None:
        self._now += delta


class BreakableStore:
    """A MessageStore in memory whose commits fail while ``broken`` is set (a full disk
    without the disk), and whose reads fail while ``reads_broken`` is set. Messages whose
    commit ran are ``durable``."""

    durable_at_once = False

    def __init__(self) -> None:
        self._messages: list[Message] = []
        self._durable = 0
        self.broken = False
        self.reads_broken = False
        self.commits = 0

    @property
    def durable(self) -> tuple[Message, ...]:
        return tuple(self._messages[: self._durable])

    @property
    def pending(self) -> int:
        """How many messages are not durable."""
        return len(self._messages) - self._durable

    def is_durable(self, message: Message) -> bool:
        return message in self._messages[: self._durable]

    def last_seq(self, room: RoomName) -> int:
        self._check_reads()
        return max((m.seq for m in self._messages if m.room == room), default=0)

    def append(self, message: Message) -> None:
        self._messages.append(message)

    def seal(self) -> Commit:
        end = len(self._messages)

        def commit() -> None:
            if end <= self._durable:
                return
            if self.broken:
                raise StoreError("the disk is full (a fake)")
            self._durable = end
            self.commits += 1

        return commit

    def commit(self) -> None:
        try:
            self.seal()()
        except StoreError:
            self.discard()
            raise

    def discard(self) -> None:
        del self._messages[self._durable :]

    def page(self, room: RoomName, *, before: int | None, limit: int) -> tuple[Message, ...]:
        self._check_reads()
        mine = [m for m in self._messages if m.room == room and (before is None or m.seq < before)]
        return tuple(mine[-limit:]) if limit > 0 else ()

    def close(self) -> None:
        self.commit()

    def _check_reads(self) -> None:
        if self.reads_broken:
            raise StoreError("the disk cannot be read (a fake)")


class FakeDiscovery:
    """A :class:`~localchat.ports.discovery.ServerDiscovery` whose servers a test publishes:
    no network at all. One watcher at a time (the connect dialog's feed). ``fail_start``
    makes :meth:`start` raise like a machine without a usable network interface."""

    def __init__(self, *, fail_start: OSError | None = None) -> None:
        self._current: tuple[DiscoveredServer, ...] = ()
        self._updates: queue.SimpleQueue[tuple[DiscoveredServer, ...] | None] = queue.SimpleQueue()
        self._fail_start = fail_start
        self.started = False
        self.closed = False

    def publish(self, *servers: DiscoveredServer) -> None:
        self._current = tuple(sorted(servers, key=lambda s: s.name))
        self._updates.put(self._current)

    def start(self) -> None:
        if self._fail_start is not None:
            raise self._fail_start
        self.started = True

    def servers(self) -> tuple[DiscoveredServer, ...]:
        return self._current

    def watch(self, timeout: float | None = None) -> Iterator[tuple[DiscoveredServer, ...]]:
        yield self._current
        while not self.closed:
            try:
                update = self._updates.get(timeout=timeout)
            except queue.Empty:
                return
            if update is None:
                return
            yield update

    def close(self) -> None:
        self.closed = True
        self._updates.put(None)


def discovered(
    name: str,
    port: int,
    *,
    host: str = "127.0.0.1",
    fingerprint: str | None = None,
    password: bool = False,
) -> DiscoveredServer:
    """A server as discovery reports it (TLS when it announces a fingerprint)."""
    return DiscoveredServer(
        key=f"{name} ({host}:{port})",
        name=name,
        host=host,
        port=port,
        addresses=(host,),
        tls=fingerprint is not None,
        password=password,
        fingerprint=fingerprint,
        protocol=1,
    )
