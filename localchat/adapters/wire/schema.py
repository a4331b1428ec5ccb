"""Packets <-> domain: parse payloads, turn packets into commands, encode events.

Inbound, :func:`parse_client_packet` turns a frame's payload into a validated packet (or a
:class:`PacketError`) and :func:`to_command` turns the packet into a domain command (or a
:class:`~localchat.domain.errors.DomainError` such as ``invalid_room``).

Outbound, :class:`EventEncoder` writes each event straight to a frame with the C JSON
encoder: the server encodes an event once for all its recipients, and this path runs for
every message, so it builds dicts rather than pydantic models. The server packets in
:mod:`~localchat.adapters.wire.packets` remain the contract; the tests check that every
encoded event validates against them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import ValidationError

from localchat.adapters.wire import packets as p
from localchat.adapters.wire.errors import MalformedPacket, UnknownPacketType
from localchat.adapters.wire.framing import encode_frame
from localchat.adapters.wire.strict_json import loads_object
from localchat.adapters.wire.times import utc_milliseconds
from localchat.domain import commands as c
from localchat.domain import events as e
from localchat.domain.errors import CodedError
from localchat.domain.model import Message
from localchat.domain.names import RoomName
from localchat.domain.protocol import PROTOCOL_VERSION

ClientPacket = p.ClientPacket
ServerPacket = p.ServerPacket
"""The packet unions of :mod:`.packets`, here beside the parsers that return them."""


def _describe(error: ValidationError) -> str:
    first = error.errors(include_url=False)[0]
    where = ".".join(str(part) for part in first["loc"]) or "message"
    return f"{where}: {first['msg']}"


AnyPacket = TypeVar("AnyPacket", bound=p.Packet)


def _parse(payload: bytes, known: dict[str, type[AnyPacket]]) -> AnyPacket:
    """One lookup of the ``type`` tag finds the model, which then validates the object."""
    data = loads_object(payload)
    kind = data.get("type")
    if not isinstance(kind, str):
        raise MalformedPacket("the message needs a string field 'type'")
    model = known.get(kind)
    if model is None:
        raise UnknownPacketType(f"unknown message type {kind[:40]!r}")
    refuse_nulls(data, model)
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise MalformedPacket(_describe(error)) from None


def refuse_nulls(data: dict[str, Any], model: type[p.Packet]) -> None:
    """An explicit ``null`` is a wrong type, except where any JSON value is allowed."""
    if None in data.values():
        for key, value in data.items():
            if value is None and key in model.model_fields and key not in model.NULLABLE:
                raise MalformedPacket(f"{key}: must not be null")


def parse_client_packet(payload: bytes) -> ClientPacket:
    """A client's payload as a packet; raises only :class:`PacketError` subclasses."""
    return _parse(payload, p.CLIENT_MODELS)


def parse_server_packet(payload: bytes) -> ServerPacket:
    """A server's payload as a packet; raises only :class:`PacketError` subclasses."""
    return _parse(payload, p.SERVER_MODELS)


# -- packets -> commands ------------------------------------------------------------------------

WireOnly = p.Ping | p.Pong
"""Packets the transport answers itself: keep-alive is not a chat concern."""


def to_command(packet: ClientPacket) -> c.Command | WireOnly:
    """The domain command for a packet; raises a DomainError for a broken room name."""
    match packet:
        case p.Say(text=text, room=room):
            return c.PostMessage(text=text, room=RoomName.parse(room))
        case p.Hello(name=name, protocol=protocol, password=password):
            return c.Register(name=name, protocol=protocol, password=password)
        case p.Ping() | p.Pong():
            return packet
        case p.Join(room=room):
            return c.JoinRoom(room=RoomName.parse(room))
        case p.Leave(room=room):
            return c.LeaveRoom(room=RoomName.parse(room))
        case p.ListUsers(room=room):
            return c.ListUsers(room=RoomName.parse(room))
        case p.ListRooms():
            return c.ListRooms()
        case p.Direct(to=to, text=text):
            return c.SendDirect(to=to, text=text)
        case p.History(room=room, before=before, limit=limit):
            return c.FetchHistory(room=RoomName.parse(room), before=before, limit=limit)
        case p.Bye():
            return c.Quit()
    raise AssertionError(f"unhandled packet {packet!r}")  # pragma: no cover


# -- client side: packets -> frames -------------------------------------------------------------


def encode_packet(packet: p.Packet) -> bytes:
    """A frame for any packet (the client library's encoder). Absent optionals are omitted."""
    data = packet.model_dump(mode="json")
    for key in [k for k, v in data.items() if v is None and k not in packet.NULLABLE]:
        del data[key]
    return _frame(data)


# -- server side: events -> frames --------------------------------------------------------------

_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False).encode


def _frame(data: dict[str, Any]) -> bytes:
    return encode_frame(_dumps(data).encode())


def message_object(message: Message) -> dict[str, Any]:
    return {
        "type": "message",
        "room": message.room.canonical,
        "seq": message.seq,
        "sender": message.sender,
        "text": message.text,
        "sent_at": utc_milliseconds(message.sent_at),
    }


def message_json(message: Message) -> str:
    """The protocol's ``message`` object as JSON text, exactly as a frame carries it."""
    return _dumps(message_object(message))


def error_frame_of(error: CodedError, *, fatal: bool | None = None) -> bytes:
    """The ``error`` frame of a protocol or domain error, or of a ``CommandRejected``;
    ``fatal`` overrides the error's own (before ``welcome`` every error is fatal)."""
    return _frame(
        {
            "type": "error",
            "code": error.code,
            "message": error.message,
            "fatal": error.fatal if fatal is None else fatal,
        }
    )


def pong_frame(ping_id: Any) -> bytes:
    return _frame({"type": "pong", "id": ping_id})


def ping_frame(ping_id: Any) -> bytes:
    return _frame({"type": "ping", "id": ping_id})


class EventEncoder:
    """Encodes domain events as frames for one server (its name and limits go in ``welcome``).

    A history page is trimmed from its oldest end until it fits ``max_frame_bytes``: a client
    pages further back with ``before`` set to the oldest ``seq`` it got.
    """

    def __init__(self, *, server: str, max_frame_bytes: int) -> None:
        self._server = server
        self._max_frame = max_frame_bytes
        self._encoders: dict[type[Any], Callable[[Any], bytes | None]] = {
            e.MessagePosted: self._message,
            e.UserJoined: self._joined,
            e.UserLeft: self._left,
            e.DirectSent: self._direct,
            e.Welcomed: self._welcome,
            e.UsersListed: self._user_list,
            e.RoomsListed: self._room_list,
            e.HistoryFetched: self._history,
            e.CommandRejected: self._error,
            e.SessionClosed: self._nothing,
        }

    def encode(self, event: e.Event) -> bytes | None:
        """The frame for ``event``, or None if it does not go on the wire."""
        return self._encoders[type(event)](event)

    def _message(self, event: e.MessagePosted) -> bytes:
        return _frame(message_object(event.message))

    def _joined(self, event: e.UserJoined) -> bytes:
        return _frame(
            {
                "type": "joined",
                "room": event.room.canonical,
                "name": event.name,
                "at": utc_milliseconds(event.at),
            }
        )

    def _left(self, event: e.UserLeft) -> bytes:
        return _frame(
            {
                "type": "left",
                "room": event.room.canonical,
                "name": event.name,
                "at": utc_milliseconds(event.at),
                "reason": event.reason.value,
            }
        )

    def _direct(self, event: e.DirectSent) -> bytes:
        return _frame(
            {
                "type": "direct",
                "seq": event.seq,
                "sender": event.sender,
                "to": event.to,
                "text": event.text,
                "sent_at": utc_milliseconds(event.sent_at),
            }
        )

    def _welcome(self, event: e.Welcomed) -> bytes:
        return _frame(
            {
                "type": "welcome",
                "name": event.name,
                "server": self._server,
                "protocol": PROTOCOL_VERSION,
                "room": event.room.canonical,
                "users": list(event.users),
                "limits": {
                    "max_frame_bytes": self._max_frame,
                    "max_text_chars": event.max_text_chars,
                },
            }
        )

    def _user_list(self, event: e.UsersListed) -> bytes:
        return _frame(
            {"type": "user_list", "room": event.room.canonical, "users": list(event.users)}
        )

    def _room_list(self, event: e.RoomsListed) -> bytes:
        rooms = [{"room": r.room.canonical, "members": r.members} for r in event.rooms]
        return _frame({"type": "room_list", "rooms": rooms})

    def _history(self, event: e.HistoryFetched) -> bytes:
        messages = [message_object(m) for m in event.messages]
        room = event.room.canonical
        data = _dumps({"type": "history", "room": room, "messages": messages}).encode()
        if len(data) > self._max_frame:
            excess = len(data) - self._max_frame
            drop = 0
            while drop < len(messages) and excess > 0:
                excess -= len(_dumps(messages[drop]).encode()) + 1  # the comma
                drop += 1
            data = _dumps({"type": "history", "room": room, "messages": messages[drop:]}).encode()
        return encode_frame(data)

    def _error(self, event: e.CommandRejected) -> bytes:
        return error_frame_of(event)

    def _nothing(self, event: e.SessionClosed) -> None:
        return None
