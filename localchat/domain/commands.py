"""Commands: what a client asks the chat core to do (imperative names).

Values that have rules (rooms) are already parsed when a command exists; text is checked
by the core because its limit is a server setting.
"""

from __future__ import annotations

from dataclasses import dataclass

from localchat.domain.model import LeaveReason
from localchat.domain.names import LOBBY, RoomName


@dataclass(frozen=True, slots=True, kw_only=True)
class Register:
    """``hello``: take a name and enter ``#lobby``."""

    name: str
    protocol: int
    password: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PostMessage:
    """``say``: post ``text`` to a room the sender is in."""

    text: str
    room: RoomName = LOBBY


@dataclass(frozen=True, slots=True, kw_only=True)
class ListUsers:
    """``list_users``: the members of a room."""

    room: RoomName = LOBBY


@dataclass(frozen=True, slots=True, kw_only=True)
class JoinRoom:
    """``join``: become a member, creating the room if needed."""

    room: RoomName


@dataclass(frozen=True, slots=True, kw_only=True)
class LeaveRoom:
    """``leave``: stop being a member."""

    room: RoomName


@dataclass(frozen=True, slots=True, kw_only=True)
class ListRooms:
    """``list_rooms``: every room and its member count."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SendDirect:
    """``direct``: a private message to one user, by name."""

    to: str
    text: str


DEFAULT_HISTORY_LIMIT = 50
MAX_HISTORY_LIMIT = 200


@dataclass(frozen=True, slots=True, kw_only=True)
class FetchHistory:
    """``history``: a page of a room's messages older than ``before``."""

    room: RoomName
    before: int | None = None
    limit: int = DEFAULT_HISTORY_LIMIT


@dataclass(frozen=True, slots=True, kw_only=True)
class Quit:
    """``bye``: leave every room and end the session."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Disconnect:
    """The transport lost the session (closed, reset, timed out, dropped)."""

    reason: LeaveReason = LeaveReason.DISCONNECTED


Command = (
    Register
    | PostMessage
    | ListUsers
    | JoinRoom
    | LeaveRoom
    | ListRooms
    | SendDirect
    | FetchHistory
    | Quit
    | Disconnect
)
