"""The chat session as a client sees it: what the GUI presenter drives.

A :class:`ChatSession` is one person's presence on one server. It speaks the domain's own
vocabulary: the presenter sends :data:`ClientCommand` values (``PostMessage``, ``JoinRoom``,
...) and receives :data:`SessionEvent` values (``MessagePosted``, ``UserJoined``, ...), so the
presenter never sees packets, frames or sockets. An implementation keeps the connection
alive on its own thread (reconnecting with backoff, registering again, rejoining rooms) and
tells its listener what happened; the listener is called on that thread, so it must only
hand the event over (e.g. put it on a queue) and return.

Where to connect is a :class:`ConnectTarget`; the servers a person may pick from are in
:mod:`localchat.ports.discovery`.

Trust (TLS with trust on first use): a session that meets a server it cannot trust on its
own stops and says why (:class:`UnknownCertificatePresented`, :class:`CertificateChanged`,
:class:`UnencryptedServerReached`); the presenter decides what to ask the person, records
their answer through :class:`ServerTrust`, and opens a new session, which then applies it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from localchat.domain.commands import (
    FetchHistory,
    JoinRoom,
    LeaveRoom,
    ListRooms,
    ListUsers,
    PostMessage,
    SendDirect,
)
from localchat.domain.events import (
    ClientEvent,
)

DEFAULT_PORT = 5050


def host_port(host: str, port: int) -> str:
    """``HOST:PORT`` as people type it (an IPv6 address in brackets)."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def address_key(host: str, port: int) -> tuple[str, int]:
    """One spelling of a server's address, to tell whether two are the same server: the host
    trimmed, without IPv6 brackets, lower-cased (host names ignore case), and the port."""
    return host.strip().strip("[]").lower(), port


@dataclass(frozen=True, slots=True, kw_only=True)
class ConnectTarget:
    """Where to connect and as whom.

    ``rooms`` are joined right after the first ``welcome`` (a new session taking over the
    rooms of an old one); later reconnects rejoin whatever the session is in by then.
    """

    host: str
    port: int = DEFAULT_PORT
    name: str
    password: str | None = field(default=None, repr=False)
    rooms: tuple[str, ...] = ()
    advertised_fingerprint: str | None = None
    """The TLS fingerprint the server announced on the network (``SHA256:...``), when it was
    picked from discovery: shown beside the presented one on first contact."""
    label: str = ""
    """The server's name for people (from discovery or the list of servers used before)."""

    @property
    def address(self) -> str:
        return host_port(self.host, self.port)


@dataclass(frozen=True, slots=True, kw_only=True)
class ConnectionDropped:
    """The session is not connected: an attempt failed or a live connection ended.

    ``reason`` is for people. ``code`` is the server's error code when it sent one
    (``shutting_down``, ``name_taken``...), else ``None`` (refused, reset, timed out).
    ``retry_in`` is how many seconds until the session tries again; ``None`` means it gave
    up and will send nothing more (the name is taken, the password is wrong, or the very
    first attempt failed, where a person is better placed to fix the address than a loop).
    """

    reason: str
    code: str | None = None
    retry_in: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ConnectionOpened:
    """A connection is up and about to register: how it is protected.

    Comes before every ``Welcomed``. ``fingerprint`` is the server's certificate fingerprint
    (``SHA256:...``) when the connection is encrypted with TLS, else ``None`` (the person
    agreed to talk to this server without encryption, or the client runs with TLS off).
    """

    address: str
    fingerprint: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class UnknownCertificatePresented:
    """First contact: nothing is trusted yet for ``address``. The session has stopped.

    ``advertised`` is the fingerprint the server announced on the network, if it was picked
    from discovery. Once the person accepts, :meth:`ServerTrust.pin` and connect again.
    """

    address: str
    fingerprint: str
    advertised: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CertificateChanged:
    """The server presented another certificate than the one trusted for ``address``: the
    session refused to talk and has stopped (it never retries this)."""

    address: str
    pinned: str
    presented: str


@dataclass(frozen=True, slots=True, kw_only=True)
class UnencryptedServerReached:
    """The server does not speak TLS (it runs with ``--no-tls``). The session has stopped.

    ``pinned`` is the fingerprint trusted for ``address`` when there is one: a server that
    encrypted before and no longer does. Otherwise the person may agree
    (:meth:`ServerTrust.allow_unencrypted`) and connect again.
    """

    address: str
    pinned: str | None = None


TrustEvent = UnknownCertificatePresented | CertificateChanged | UnencryptedServerReached
"""A session stopped because it could not trust the server by itself."""

ClientCommand = (
    PostMessage | SendDirect | JoinRoom | LeaveRoom | ListUsers | ListRooms | FetchHistory
)
"""What a person can ask of the server through a session."""

SessionEvent = (
    ClientEvent
    | ConnectionDropped
    | ConnectionOpened
    | UnknownCertificatePresented
    | CertificateChanged
    | UnencryptedServerReached
)
"""What a session reports. ``ConnectionOpened`` then ``Welcomed`` start every
(re)connection; ``CommandRejected`` is always non-fatal here (a fatal error ends the
connection and arrives as :class:`ConnectionDropped` with its code); a :data:`TrustEvent`
ends the session."""

SessionListener = Callable[[SessionEvent], None]


class ChatSession(Protocol):
    """One person's connection to one server, kept alive in the background."""

    def send(self, command: ClientCommand) -> bool:
        """Send ``command`` now; False (nothing sent) if not connected at this moment.

        Never raises for network trouble: a broken connection is reported to the listener.
        """
        ...

    def close(self) -> None:
        """Say ``bye`` if connected, close, stop reconnecting; returns within about a second."""
        ...


SessionOpener = Callable[[ConnectTarget, SessionListener], ChatSession]
"""Starts a session that connects in the background and reports to the listener."""


class ServerTrust(Protocol):
    """Where the person's trust decisions are kept, per server address (as the session's
    events spell it), so that every later session applies them without asking.

    Both methods raise ``OSError`` when the decision cannot be saved.
    """

    def pin(self, address: str, fingerprint: str) -> None:
        """Trust this certificate fingerprint at ``address`` from now on."""
        ...

    def allow_unencrypted(self, address: str) -> None:
        """Talk to ``address`` without encryption from now on (it does not speak TLS)."""
        ...
