"""The client's side of the codec: its commands -> packets, server packets -> the domain
events a client session reports (the mirror of :func:`~localchat.adapters.wire.schema.to_command`
and the server's event encoder).

Pure and sans-IO, so every client transport shares it. A server is trusted to send canonical
room names and valid times, but a broken or newer one must not crash a client: anything that
does not convert is :class:`UnreadablePacket`, which a session treats as a protocol error.
"""

from __future__ import annotations

from datetime import UTC, datetime

from localchat.adapters.wire import packets as p
from localchat.adapters.wire.schema import ServerPacket
from localchat.domain.commands import (
    FetchHistory,
    JoinRoom,
    LeaveRoom,
    ListRooms,
    ListUsers,
    PostMessage,
    SendDirect,
)
from localchat.domain.errors import DomainError
from localchat.domain.events import (
    ClientEvent,
    CommandRejected,
    DirectSent,
    HistoryFetched,
    MessagePosted,
    RoomsListed,
    RoomSummary,
    UserJoined,
    UserLeft,
    UsersListed,
    Welcomed,
)
from localchat.domain.model import LeaveReason, Message
from localchat.domain.names import RoomName
from localchat.ports.session import ClientCommand


class UnreadablePacket(ValueError):
    """A packet that validated but holds a value no event can carry (a bad room or time)."""


def parse_time(text: str) -> datetime:
    """An RFC 3339 time as an aware UTC datetime."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise UnreadablePacket(f"not an RFC 3339 time: {text[:40]!r}") from None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _room(text: str) -> RoomName:
    try:
        return RoomName.parse(text)
    except DomainError:
        raise UnreadablePacket(f"not a room name: {text[:40]!r}") from None


def _reason(text: str) -> LeaveReason:
    try:
        return LeaveReason(text)
    except ValueError:  # a reason from a newer server: still a departure
        return LeaveReason.DISCONNECTED


def _message(packet: p.ChatMessage) -> Message:
    return Message(
        room=_room(packet.room),
        seq=packet.seq,
        sender=packet.sender,
        text=packet.text,
        sent_at=parse_time(packet.sent_at),
    )


def to_event(packet: ServerPacket) -> ClientEvent | None:
    """The event for a packet; None for keep-alive packets, which are no chat concern."""
    match packet:
        case p.ChatMessage():
            return MessagePosted(message=_message(packet))
        case p.Joined(room=room, name=name, at=at):
            return UserJoined(room=_room(room), name=name, at=parse_time(at))
        case p.Left(room=room, name=name, at=at, reason=reason):
            return UserLeft(room=_room(room), name=name, at=parse_time(at), reason=_reason(reason))
        case p.DirectMessage(seq=seq, sender=sender, to=to, text=text, sent_at=sent_at):
            return DirectSent(seq=seq, sender=sender, to=to, text=text, sent_at=parse_time(sent_at))
        case p.Welcome(name=name, room=room, users=users, limits=limits):
            return Welcomed(
                name=name,
                room=_room(room),
                users=tuple(users),
                max_text_chars=limits.max_text_chars,
            )
        case p.UserList(room=room, users=users):
            return UsersListed(room=_room(room), users=tuple(users))
        case p.RoomList(rooms=rooms):
            return RoomsListed(
                rooms=tuple(RoomSummary(room=_room(r.room), members=r.members) for r in rooms)
            )
        case p.HistoryPage(room=room, messages=messages):
            return HistoryFetched(room=_room(room), messages=tuple(_message(m) for m in messages))
        case p.Error(code=code, message=message, fatal=fatal):
            return CommandRejected(code=code, message=message, fatal=fatal)
        case p.Ping() | p.Pong():
            return None
    raise AssertionError(f"unhandled packet {packet!r}")  # pragma: no cover


def to_packet(command: ClientCommand) -> p.Packet:
    """The packet that asks the server for ``command``."""
    match command:
        case PostMessage(text=text, room=room):
            return p.Say(text=text, room=room.canonical)
        case SendDirect(to=to, text=text):
            return p.Direct(to=to, text=text)
        case JoinRoom(room=room):
            return p.Join(room=room.canonical)
        case LeaveRoom(room=room):
            return p.Leave(room=room.canonical)
        case ListUsers(room=room):
            return p.ListUsers(room=room.canonical)
        case ListRooms():
            return p.ListRooms()
        case FetchHistory(room=room, before=before, limit=limit):
            return p.History(room=room.canonical, before=before, limit=limit)
    raise AssertionError(f"unhandled command {command!r}")  # pragma: no cover
