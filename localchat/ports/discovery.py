"""Discovery: how a client finds servers on the local network without typing addresses.

Two sides, two interfaces:

* :class:`ServerDiscovery` is what a discovery adapter implements (mDNS on a LAN, a fake in
  tests): it looks on the network and keeps a live list of :class:`DiscoveredServer`.
* :class:`ServerDirectory` is what the connect dialog polls on the UI thread: a cheap
  :class:`ServerListing` of :class:`ServerEntry` rows, found ones or remembered ones. The
  GUI adapts a ``ServerDiscovery`` into one (``DiscoveryFeed``); the composition root picks
  the implementation.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from localchat.ports.session import DEFAULT_PORT, host_port

NOTHING_FOUND_REASONS = (
    "That happens when the network blocks multicast (mDNS), when the server is on another "
    "subnet or behind a VPN, or when it runs with --no-advertise."
)
"""Why looking on the local network may find nothing, for every client that looks."""


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
    """A live list of servers found on the network. Thread-safe; network threads never call
    into a GUI."""

    def start(self) -> None:
        """Start looking. May block briefly (it opens sockets) and raise ``OSError``."""
        ...

    def servers(self) -> tuple[DiscoveredServer, ...]:
        """What answers now, sorted by name; never blocks."""
        ...

    def watch(self, timeout: float | None = None) -> Iterator[tuple[DiscoveredServer, ...]]:
        """The current list at once, then each changed list, until closed or ``timeout``."""
        ...

    def close(self) -> None:
        """Stop looking; ends every :meth:`watch`."""
        ...


# -- what the connect dialog shows ---------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class ServerEntry:
    """A server a person may pick in the connect dialog (found on the network, or known).

    ``tls``, ``password`` and ``fingerprint`` are what the server announced; ``None`` when
    not known (a server remembered from before).
    """

    label: str
    host: str
    port: int = DEFAULT_PORT
    tls: bool | None = None
    password: bool | None = None
    fingerprint: str | None = None

    @property
    def address(self) -> str:
        return host_port(self.host, self.port)


@dataclass(frozen=True, slots=True, kw_only=True)
class ServerListing:
    """What a :class:`ServerDirectory` knows at one moment."""

    servers: tuple[ServerEntry, ...] = ()
    searching: bool = False
    """Nothing found yet, but it is too early to say that nothing is there."""
    problem: str | None = None
    """Looking for servers failed (for people); the list stays as it was."""


class ServerDirectory(Protocol):
    """The servers to offer in the connect dialog, read from the UI thread.

    ``snapshot`` must be cheap and never block: the connect dialog polls it while open.
    """

    def snapshot(self) -> ServerListing: ...
