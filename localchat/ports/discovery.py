"""Discovery: how a client finds servers on the local network without typing addresses.

The connect dialog drives a :class:`ServerDiscovery` and shows its
:class:`DiscoveredServer` entries; the composition root picks the implementation (mDNS on
a LAN, a fake in tests).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True, kw_only=True)
class DiscoveredServer:
    """One server that answers, however many interfaces and announcements it was seen on."""

    key: str
    """Stable while the server stays (its service instance name): for updating a list view."""
    name: str
    """The server's name for people."""
    host: str
    """The address to connect to: the best one that answered."""
    port: int
    addresses: tuple[str, ...]
    """Every address that answered, best first (``host`` is the first)."""
    tls: bool
    password: bool
    """Whether ``hello`` needs a password."""
    fingerprint: str | None
    """With TLS: the certificate fingerprint the server announced (``SHA256:...``), to show
    beside the one presented on first connect."""
    protocol: int


class ServerDiscovery(Protocol):
    """A live list of servers. Thread-safe; network threads never call into a GUI."""

    def start(self) -> None:
        """Start looking (returns at once)."""
        ...

    def servers(self) -> tuple[DiscoveredServer, ...]:
        """What answers now, sorted by name."""
        ...

    def watch(self, timeout: float | None = None) -> Iterator[tuple[DiscoveredServer, ...]]:
        """The current list at once, then each changed list, until closed or ``timeout``."""
        ...

    def close(self) -> None:
        """Stop looking; ends every :meth:`watch`."""
        ...
