"""Pydantic packets: the validated shape of every protocol-1 message, both directions.

Strict (no coercion: ``"1"`` is not ``1``), unknown fields ignored (forward compatibility),
and an explicit ``null`` refused except where any JSON value is allowed (``ping``/``pong``
``id``). Client packets are what the server accepts; server packets are what clients (our
client library, the Tk client, tests) accept from a server.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

from localchat.domain.commands import DEFAULT_HISTORY_LIMIT, MAX_HISTORY_LIMIT
from localchat.domain.names import LOBBY

LOBBY_NAME = LOBBY.canonical


class Packet(BaseModel):
    """Base of every packet: strict, frozen, extra fields ignored.

    On the wire an explicit ``null`` is refused for every field except those in
    :attr:`NULLABLE` (see :func:`localchat.adapters.wire.schema.refuse_nulls`); in Python,
    ``None`` for an optional field means "absent".
    """

    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)

    NULLABLE: ClassVar[frozenset[str]] = frozenset()


# -- client to server ---------------------------------------------------------------------------


class Hello(Packet):
    type: Literal["hello"] = "hello"
    name: str
    protocol: int
    password: str | None = None


class Say(Packet):
    type: Literal["say"] = "say"
    text: str
    room: str = LOBBY_NAME


class ListUsers(Packet):
    type: Literal["list_users"] = "list_users"
    room: str = LOBBY_NAME


class Join(Packet):
    type: Literal["join"] = "join"
    room: str


class Leave(Packet):
    type: Literal["leave"] = "leave"
    room: str


class ListRooms(Packet):
    type: Literal["list_rooms"] = "list_rooms"


class Direct(Packet):
    type: Literal["direct"] = "direct"
    to: str
    text: str


class History(Packet):
    type: Literal["history"] = "history"
    room: str
    before: Annotated[int, Field(ge=1)] | None = None
    limit: Annotated[int, Field(ge=1, le=MAX_HISTORY_LIMIT)] = DEFAULT_HISTORY_LIMIT


class Ping(Packet):
    NULLABLE = frozenset({"id"})
    type: Literal["ping"] = "ping"
    id: Any


class Pong(Packet):
    NULLABLE = frozenset({"id"})
    type: Literal["pong"] = "pong"
    id: Any = None


class Bye(Packet):
    type: Literal["bye"] = "bye"


ClientPacket = (
    Hello | Say | ListUsers | Join | Leave | ListRooms | Direct | History | Ping | Pong | Bye
)
"""Every packet a server accepts: the one list of them (:data:`CLIENT_MODELS` comes from it)."""

# -- server to client ---------------------------------------------------------------------------


class Limits(Packet):
    max_frame_bytes: int
    max_text_chars: int


class Welcome(Packet):
    type: Literal["welcome"] = "welcome"
    name: str
    server: str
    protocol: int
    room: str
    users: list[str]
    limits: Limits


class ChatMessage(Packet):
    type: Literal["message"] = "message"
    room: str
    seq: int
    sender: str
    text: str
    sent_at: str


class DirectMessage(Packet):
    type: Literal["direct"] = "direct"
    seq: int
    sender: str
    to: str
    text: str
    sent_at: str


class Joined(Packet):
    type: Literal["joined"] = "joined"
    room: str
    name: str
    at: str


class Left(Packet):
    type: Literal["left"] = "left"
    room: str
    name: str
    at: str
    reason: str


class UserList(Packet):
    type: Literal["user_list"] = "user_list"
    room: str
    users: list[str]


class RoomEntry(Packet):
    room: str
    members: int


class RoomList(Packet):
    type: Literal["room_list"] = "room_list"
    rooms: list[RoomEntry]


class HistoryPage(Packet):
    type: Literal["history"] = "history"
    room: str
    messages: list[ChatMessage]


class Error(Packet):
    type: Literal["error"] = "error"
    code: str
    message: str
    fatal: bool


ServerPacket = (
    Welcome
    | ChatMessage
    | DirectMessage
    | Joined
    | Left
    | UserList
    | RoomList
    | HistoryPage
    | Ping
    | Pong
    | Error
)
"""Every packet a client accepts: the one list of them (:data:`SERVER_MODELS` comes from it)."""


def _by_type(union: Any) -> dict[str, Any]:
    """Each packet class of ``union`` under its ``type`` tag: one lookup finds the model."""
    return {model.model_fields["type"].default: model for model in get_args(union)}


CLIENT_MODELS: dict[str, type[ClientPacket]] = _by_type(ClientPacket)
SERVER_MODELS: dict[str, type[ServerPacket]] = _by_type(ServerPacket)
