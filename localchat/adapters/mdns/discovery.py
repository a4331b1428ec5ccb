"""The client side of discovery: a live list of servers on the LAN (zeroconf browsing).

Threads: zeroconf's own thread calls :meth:`LanDiscovery._on_service_change`, which only
queues the name. One worker thread resolves names, probes addresses (see :mod:`.probe`)
and updates the :class:`~localchat.adapters.mdns.directory.DiscoveryModel`; readers take
snapshots under a lock (:meth:`LanDiscovery.servers`, which never blocks, so a dialog may
poll it from its UI thread), or wait for changes in :meth:`LanDiscovery.watch`. Nothing here
calls back into a GUI.
"""

from __future__ import annotations

import functools
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence

from zeroconf import InterfaceChoice, ServiceBrowser, ServiceStateChange, Zeroconf

from localchat.adapters.mdns.directory import DiscoveryModel
from localchat.adapters.mdns.probe import probe_all
from localchat.adapters.mdns.txt import SERVICE_TYPE, InvalidAdvert, decode_txt, label_of
from localchat.ports.discovery import DiscoveredServer

log = logging.getLogger(__name__)

RESOLVE_MILLISECONDS = 2000
IDLE_WAIT_SECONDS = 1.0


class LanDiscovery:
    """A :class:`~localchat.ports.discovery.ServerDiscovery` over mDNS/DNS-SD."""

    def __init__(
        self,
        *,
        probe_timeout: float = 1.0,
        interfaces: Sequence[str] | None = None,
    ) -> None:
        self._probe_timeout = probe_timeout
        self._interfaces = list(interfaces) if interfaces else None
        self._model = DiscoveryModel()
        self._changed = threading.Condition()
        self._names: queue.Queue[tuple[str, ServiceStateChange]] = queue.Queue()
        self._closed = False
        self._zeroconf: Zeroconf | None = None
        self._browser: ServiceBrowser | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._zeroconf = Zeroconf(
            interfaces=self._interfaces if self._interfaces else InterfaceChoice.All
        )
        self._browser = ServiceBrowser(
            self._zeroconf, SERVICE_TYPE, handlers=[self._on_service_change]
        )
        self._thread = threading.Thread(target=self._run, name="localchat-discovery", daemon=True)
        self._thread.start()

    def servers(self) -> tuple[DiscoveredServer, ...]:
        with self._changed:
            return self._model.servers()

    def watch(self, timeout: float | None = None) -> Iterator[tuple[DiscoveredServer, ...]]:
        deadline = None if timeout is None else time.monotonic() + timeout
        seen = -1
        while True:
            with self._changed:
                while self._model.version == seen and not self._closed:
                    remaining = None if deadline is None else deadline - time.monotonic()
                    if remaining is not None and remaining <= 0:
                        return
                    self._changed.wait(remaining)
                if self._closed:
                    return
                seen = self._model.version
                snapshot = self._model.servers()
            yield snapshot

    def close(self) -> None:
        with self._changed:
            self._closed = True
            self._changed.notify_all()
        if self._browser is not None:
            self._browser.cancel()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._zeroconf is not None:
            self._zeroconf.close()

    def __enter__(self) -> LanDiscovery:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- zeroconf's thread ----------------------------------------------------------------------

    def _on_service_change(
        self,
        zeroconf: Zeroconf,
        service_type: str,
        name: str,
        state_change: ServiceStateChange,
    ) -> None:
        self._names.put((name, state_change))

    # -- the worker -----------------------------------------------------------------------------

    def _run(self) -> None:
        try:
            while not self._closed:
                self._take_names(self._wait_seconds())
                self._probe()
        except Exception:  # pragma: no cover - the safety net: log; the list stays as it was
            log.exception("discovery stopped after an internal error")

    def _wait_seconds(self) -> float:
        with self._changed:
            next_at = self._model.next_probe_at()
        if next_at is None:
            return IDLE_WAIT_SECONDS
        return min(IDLE_WAIT_SECONDS, max(0.0, next_at - time.monotonic()))

    def _take_names(self, wait: float) -> None:
        try:
            name, change = self._names.get(timeout=wait) if wait > 0 else self._names.get_nowait()
        except queue.Empty:
            return
        while True:
            if change is ServiceStateChange.Removed:
                self._update(functools.partial(self._model.withdrawn, name))
            else:
                self._resolve(name)
            try:
                name, change = self._names.get_nowait()
            except queue.Empty:
                return

    def _resolve(self, name: str) -> None:
        assert self._zeroconf is not None
        info = self._zeroconf.get_service_info(SERVICE_TYPE, name, timeout=RESOLVE_MILLISECONDS)
        if info is None or info.port is None:
            log.debug("cannot resolve %r", name)
            return
        try:
            advert = decode_txt(info.properties, label_of(name))
        except InvalidAdvert as error:
            log.debug("ignoring %r: %s", name, error)
            return
        addresses = info.parsed_scoped_addresses()
        port = info.port
        self._update(functools.partial(self._model.announced, name, advert, addresses, port))

    def _probe(self) -> None:
        with self._changed:
            due = self._model.probes_due(time.monotonic())
        if not due:
            return
        results = probe_all(due, self._probe_timeout)
        now = time.monotonic()
        with self._changed:
            changed = [self._model.probed(endpoint, ok, now) for endpoint, ok in results.items()]
            if any(changed):
                self._changed.notify_all()

    def _update(self, change: Callable[[], bool]) -> None:
        with self._changed:
            if change():
                self._changed.notify_all()
