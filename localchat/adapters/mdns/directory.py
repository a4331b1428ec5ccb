"""The discovery model: what was announced and what answers, merged into one entry per server.

Pure (no sockets, no threads, time passed in), so a connect dialog, ``localchat discover``
and the tests share one set of rules:

* **Only what answers is shown.** Every announced address starts unknown and is probed
  (a TCP connect, by the caller); an address that does not answer is left out, and a server
  with no answering address is not listed at all. Answering addresses are checked again
  every ``recheck_up`` seconds, silent ones every ``retry_down`` seconds.
* **One entry per server.** A server on several interfaces (LAN, VM bridge, VPN, Docker) is
  announced with several addresses, sometimes under several instance names (a name
  conflict on one link renames it). Announcements are merged when they share an address
  and port, or the same TLS fingerprint and port; several servers on one host differ by port
  and stay apart.
* **Best address first.** Private IPv4 before IPv6, link-local last; ties keep the order
  the server announced.
"""

from __future__ import annotations

import enum
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass, field

from localchat.adapters.mdns.txt import ServerAdvert
from localchat.ports.discovery import DiscoveredServer

Endpoint = tuple[str, int]
"""(address, port)"""


class Reach(enum.Enum):
    UNKNOWN = "unknown"
    UP = "up"
    DOWN = "down"


@dataclass(slots=True)
class _EndpointState:
    reach: Reach = Reach.UNKNOWN
    checked_at: float = 0.0
    checking: bool = False


@dataclass(frozen=True, slots=True)
class _Announcement:
    key: str
    advert: ServerAdvert
    endpoints: tuple[Endpoint, ...]
    port: int


def address_rank(address: str) -> int:
    """Lower is better: what to try first among one server's addresses."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return 1  # a host name
    if ip.is_link_local:
        return 2 if ip.version == 4 else 3
    return 0 if ip.version == 4 else 1


@dataclass
class DiscoveryModel:
    """See the module docstring. Not thread-safe: one owner calls it."""

    recheck_up: float = 30.0
    retry_down: float = 10.0
    version: int = 0
    """Goes up by one each time :meth:`servers` changes."""
    _announcements: dict[str, _Announcement] = field(default_factory=dict)
    _endpoints: dict[Endpoint, _EndpointState] = field(default_factory=dict)
    _snapshot: tuple[DiscoveredServer, ...] = ()

    # -- inputs ---------------------------------------------------------------------------------

    def announced(
        self, key: str, advert: ServerAdvert, addresses: Sequence[str], port: int
    ) -> bool:
        """A service instance was resolved (again). True if the list changed."""
        endpoints = tuple(dict.fromkeys((address, port) for address in addresses))
        self._announcements[key] = _Announcement(key, advert, endpoints, port)
        for endpoint in endpoints:
            self._endpoints.setdefault(endpoint, _EndpointState())
        self._prune()
        return self._refresh()

    def withdrawn(self, key: str) -> bool:
        """A service instance said goodbye (or expired). True if the list changed."""
        if self._announcements.pop(key, None) is None:
            return False
        self._prune()
        return self._refresh()

    def probes_due(self, now: float) -> list[Endpoint]:
        """Endpoints to probe now; they count as being checked until :meth:`probed`."""
        due = []
        for endpoint, state in self._endpoints.items():
            if not state.checking and now >= self._due_at(state):
                state.checking = True
                due.append(endpoint)
        return due

    def probed(self, endpoint: Endpoint, answered: bool, now: float) -> bool:
        """The result of a probe. True if the list changed."""
        state = self._endpoints.get(endpoint)
        if state is None:
            return False  # withdrawn meanwhile
        state.reach = Reach.UP if answered else Reach.DOWN
        state.checked_at = now
        state.checking = False
        return self._refresh()

    # -- outputs --------------------------------------------------------------------------------

    def servers(self) -> tuple[DiscoveredServer, ...]:
        return self._snapshot

    def next_probe_at(self) -> float | None:
        """When :meth:`probes_due` will next return something (None: nothing to probe)."""
        times = [self._due_at(s) for s in self._endpoints.values() if not s.checking]
        return min(times, default=None)

    # -- internals ------------------------------------------------------------------------------

    def _due_at(self, state: _EndpointState) -> float:
        if state.reach is Reach.UNKNOWN:
            return float("-inf")
        wait = self.recheck_up if state.reach is Reach.UP else self.retry_down
        return state.checked_at + wait

    def _prune(self) -> None:
        wanted = {e for a in self._announcements.values() for e in a.endpoints}
        for endpoint in [e for e in self._endpoints if e not in wanted]:
            del self._endpoints[endpoint]

    def _groups(self) -> list[list[_Announcement]]:
        """Announcements of the same server, together (union-find over shared traits)."""
        keys = sorted(self._announcements)
        parent = {key: key for key in keys}

        def root(key: str) -> str:
            while parent[key] != key:
                parent[key] = parent[parent[key]]
                key = parent[key]
            return key

        first_with: dict[object, str] = {}
        for key in keys:
            announcement = self._announcements[key]
            traits: list[object] = list(announcement.endpoints)
            if announcement.advert.fingerprint is not None:
                traits.append((announcement.advert.fingerprint, announcement.port))
            for trait in traits:
                other = first_with.setdefault(trait, key)
                parent[root(key)] = root(other)
        groups: dict[str, list[_Announcement]] = {}
        for key in keys:
            groups.setdefault(root(key), []).append(self._announcements[key])
        return list(groups.values())

    def _entry(self, group: list[_Announcement]) -> DiscoveredServer | None:
        answering: list[str] = []
        representative: _Announcement | None = None
        for announcement in group:
            for endpoint in announcement.endpoints:
                if self._endpoints[endpoint].reach is Reach.UP:
                    representative = representative or announcement
                    if endpoint[0] not in answering:
                        answering.append(endpoint[0])
        if representative is None:
            return None
        addresses = tuple(sorted(answering, key=address_rank))  # stable: announced order
        advert = representative.advert
        return DiscoveredServer(
            key=representative.key,
            name=advert.name,
            host=addresses[0],
            port=representative.port,
            addresses=addresses,
            tls=advert.tls,
            password=advert.password,
            fingerprint=None if advert.fingerprint is None else str(advert.fingerprint),
            protocol=advert.protocol,
        )

    def _refresh(self) -> bool:
        entries = [entry for group in self._groups() if (entry := self._entry(group))]
        entries.sort(key=lambda e: (e.name.casefold(), e.host, e.port))
        snapshot = tuple(entries)
        if snapshot == self._snapshot:
            return False
        self._snapshot = snapshot
        self.version += 1
        return True
