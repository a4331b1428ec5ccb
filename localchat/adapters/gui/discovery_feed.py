"""Servers found on the network, handed to the UI thread: a ``ServerDirectory`` fed by a
``ServerDiscovery`` (mDNS on a LAN, a fake in tests).

Discovery blocks (``watch`` waits for changes), and a GUI thread must never block, so one
thread of ours runs ``watch`` and puts each list on a queue; :meth:`DiscoveryFeed.snapshot`,
called by the connect dialog on the UI thread, only drains that queue. Looking starts at
the first snapshot, so a client started with ``--host`` and ``--name`` never browses the
network unless the dialog opens.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable

from localchat.ports.discovery import DiscoveredServer, ServerDiscovery
from localchat.ports.session import ServerEntry, ServerListing

log = logging.getLogger(__name__)

SEARCH_SECONDS = 3.0
"""How long "looking" lasts before an empty list means "nothing found": mDNS answers
within a second or two on a working LAN."""


def entry_of(server: DiscoveredServer) -> ServerEntry:
    return ServerEntry(
        label=server.name,
        host=server.host,
        port=server.port,
        tls=server.tls,
        password=server.password,
        fingerprint=server.fingerprint,
    )


class DiscoveryFeed:
    """A :class:`~localchat.ports.session.ServerDirectory`; see the module docstring."""

    def __init__(
        self,
        discovery: ServerDiscovery,
        *,
        search_seconds: float = SEARCH_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._discovery = discovery
        self._search_seconds = search_seconds
        self._monotonic = monotonic
        self._updates: queue.SimpleQueue[tuple[DiscoveredServer, ...] | str] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._closed = False
        self._running = False
        self._thread: threading.Thread | None = None
        self._started_at: float | None = None
        self._servers: tuple[ServerEntry, ...] = ()
        self._problem: str | None = None

    def snapshot(self) -> ServerListing:
        """What was found so far (UI thread; never blocks). The first call starts looking."""
        if self._started_at is None:
            self._start()
        while True:
            try:
                update = self._updates.get_nowait()
            except queue.Empty:
                break
            if isinstance(update, str):
                self._problem = update
            else:
                self._servers = tuple(entry_of(server) for server in update)
        assert self._started_at is not None
        early = self._monotonic() - self._started_at < self._search_seconds
        return ServerListing(
            servers=self._servers,
            searching=early and not self._servers and self._problem is None,
            problem=self._problem,
        )

    def close(self) -> None:
        """Stop looking (ends the thread)."""
        with self._lock:
            self._closed = True
            running = self._running
        if running:
            self._discovery.close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _start(self) -> None:
        self._started_at = self._monotonic()
        self._thread = threading.Thread(target=self._run, name="localchat-browse", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            with self._lock:
                if self._closed:
                    return
                self._discovery.start()
                self._running = True
            for servers in self._discovery.watch():
                self._updates.put(servers)
        except Exception as error:  # the safety net: the dialog says so, manual entry works
            log.warning("looking for servers failed: %s", error, exc_info=True)
            self._updates.put(str(error) or type(error).__name__)
