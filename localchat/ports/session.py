"""The chat session as a client sees it: what the GUI presenter drives.

A :class:`ChatSession` is one person's presence on one server. It speaks the domain's own
vocabulary: the presenter sends :data:`ClientCommand` values (``PostMessage``, ``JoinRoom``,
...) and receives :data:`SessionEvent` values (``MessagePosted``, ``UserJoined``, ...), so the
presenter never sees packets, frames or sockets. An implementation keeps the connection
alive on its own thread (reconnecting with backoff, registering again, rejoining rooms) and
tells its listener what happened; the listener is called on that thread, so it must only
hand the event over (e.g. put it on a queue) and return.

Where to connect is a :class:`ConnectTarget`; servers found on the network (a discovery
adapter) are offered through a :class:`ServerDirectory`.
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
    CommandRejected,
    DirectSent,
    HistoryFetched,
    MessagePosted,
    RoomsListed,
    UserJoined,
    UserLeft,
    UsersListed,
    Welcomed,
)

DEFAULT_PORT = 5050


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

    @property
    def address(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


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
    attempt: int = 0


ClientCommand = (
    PostMessage | SendDirect | JoinRoom | LeaveRoom | ListUsers | ListRooms | FetchHistory
)
"""What a person can ask of the server through a session."""

SessionEvent = (
    Welcomed
    | MessagePosted
    | DirectSent
    | UserJoined
    | UserLeft
    | UsersListed
    | RoomsListed
    | HistoryFetched
    | CommandRejected
    | ConnectionDropped
)
"""What a session reports. ``Welcomed`` starts every (re)connection; ``CommandRejected`` is
always non-fatal here (a fatal error ends the connection and arrives as
:class:`ConnectionDropped` with its code)."""

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


# -- servers to choose from ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class ServerEntry:
    """A server a person may pick in the connect dialog (found on the network, or known)."""

    label: str
    host: str
    port: int = DEFAULT_PORT


class ServerDirectory(Protocol):
    """A live list of servers (e.g. found by mDNS), read from the UI thread.

    ``snapshot`` must be cheap and thread-safe: the connect dialog polls it while open.
    """

    def snapshot(self) -> tuple[ServerEntry, ...]: ...
