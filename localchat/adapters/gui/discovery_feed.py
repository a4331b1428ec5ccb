"""Servers found on the network, for the connect dialog: a
:class:`~localchat.ports.discovery.ServerDirectory` over a
:class:`~localchat.ports.discovery.ServerDiscovery` (mDNS on a LAN, a fake in tests).

A discovery's list never blocks and is safe from any thread, so :meth:`DiscoveryFeed.snapshot`
(called by the dialog on the UI thread) reads it directly. Only starting may block (it opens
sockets), so that runs on a short-lived thread of ours. Looking starts at the first snapshot,
so a client started with ``--host`` and ``--name`` never browses the network unless the
dialog opens.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from localchat.ports.discovery import (
    DiscoveredServer,
    ServerDiscovery,
    ServerEntry,
    ServerListing,
)

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
    """A :class:`~localchat.ports.discovery.ServerDirectory`; see the module docstring."""

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
        self._lock = threading.Lock()
        self._closed = False
        self._running = False
        self._problem: str | None = None
        self._thread: threading.Thread | None = None
        self._started_at: float | None = None
        self._found: tuple[DiscoveredServer, ...] = ()
        self._servers: tuple[ServerEntry, ...] = ()

    def snapshot(self) -> ServerListing:
        """What was found so far (UI thread; never blocks). The first call starts looking."""
        if self._started_at is None:
            self._start()
        assert self._started_at is not None
        with self._lock:
            running, problem = self._running, self._problem
        if running:
            found = self._discovery.servers()
            if found != self._found:
                self._found, self._servers = found, tuple(entry_of(s) for s in found)
        early = self._monotonic() - self._started_at < self._search_seconds
        return ServerListing(
            servers=self._servers,
            searching=early and not self._servers and problem is None,
            problem=problem,
        )

    def close(self) -> None:
        """Stop looking (a start still under way is closed as soon as it returns)."""
        with self._lock:
            self._closed = True
            running, self._running = self._running, False
        if running:
            self._discovery.close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _start(self) -> None:
        self._started_at = self._monotonic()
        self._thread = threading.Thread(target=self._run, name="localchat-browse", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        with self._lock:
            if self._closed:
                return
        try:
            self._discovery.start()
        except Exception as error:  # the safety net: the dialog says so, manual entry works
            log.warning("looking for servers failed: %s", error, exc_info=True)
            with self._lock:
                self._problem = str(error) or type(error).__name__
            return
        with self._lock:
            closed = self._closed
            self._running = not closed
        if closed:  # closed while starting
            self._discovery.close()
