"""Events: what happened, as the chat core reports it (past-tense names).

A :class:`Delivery` pairs one event with the sessions that must receive it. Transports
encode each event once and hand the same bytes to every recipient.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from localchat.domain.errors import CodedError
from localchat.domain.model import LeaveReason, Message, SessionId
from localchat.domain.names import RoomName


@dataclass(frozen=True, slots=True, kw_only=True)
class Welcomed:
    """The session is registered and a member of ``room`` (``#lobby``)."""

    name: str
    room: RoomName
    users: tuple[str, ...]
    max_text_chars: int


@dataclass(frozen=True, slots=True, kw_only=True)
class MessagePosted:
    """A message was accepted in a room (the echo is the sender's acknowledgement)."""

    message: Message


@dataclass(frozen=True, slots=True, kw_only=True)
class DirectSent:
    """A direct message; ``seq`` counts per unordered pair of names."""

    seq: int
    sender: str
    to: str
    text: str
    sent_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class UserJoined:
    room: RoomName
    name: str
    at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class UserLeft:
    room: RoomName
    name: str
    at: datetime
    reason: LeaveReason


@dataclass(frozen=True, slots=True, kw_only=True)
class UsersListed:
    room: RoomName
    users: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class RoomSummary:
    room: RoomName
    members: int


@dataclass(frozen=True, slots=True, kw_only=True)
class RoomsListed:
    rooms: tuple[RoomSummary, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class HistoryFetched:
    """A page of a room's messages, oldest first."""

    room: RoomName
    messages: tuple[Message, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class CommandRejected:
    """A command broke a rule; ``fatal`` means the session ends after this event."""

    code: str
    message: str
    fatal: bool

    @staticmethod
    def from_error(error: CodedError) -> CommandRejected:
        return CommandRejected(code=error.code, message=error.message, fatal=error.fatal)


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionClosed:
    """The session is over (``bye``): the transport closes it once its output is flushed.

    Not a wire message; it tells the transport when it may close.
    """

    reason: LeaveReason


ClientEvent = (
    Welcomed
    | MessagePosted
    | DirectSent
    | UserJoined
    | UserLeft
    | UsersListed
    | RoomsListed
    | HistoryFetched
    | CommandRejected
)
"""The events a client receives (each has a wire packet)."""

Event = ClientEvent | SessionClosed


@dataclass(frozen=True, slots=True)
class Delivery:
    """One event and the sessions it goes to, in order."""

    event: Event
    recipients: tuple[SessionId, ...]
