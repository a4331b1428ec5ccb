"""Hand-written fakes for the ports (no mocks): injected at the composition root."""

from __future__ import annotations

import queue
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from localchat.ports.discovery import DiscoveredServer


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
