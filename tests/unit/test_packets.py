"""Client packets (PROTOCOL.md §1 and §4): shape, strict types, nulls, unknown fields and types,
and the commands they become."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from localchat.adapters.wire import packets as p
from localchat.adapters.wire.errors import MalformedPacket, PacketError, UnknownPacketType
from localchat.adapters.wire.schema import parse_client_packet, to_command
from localchat.domain import commands as c
from localchat.domain.errors import InvalidRoom
from localchat.domain.names import LOBBY, RoomName


def packet(**fields: Any) -> bytes:
    return json.dumps(fields).encode()


def refused(**fields: Any) -> MalformedPacket:
    with pytest.raises(MalformedPacket) as raised:
        parse_client_packet(packet(**fields))
    assert (raised.value.code, raised.value.fatal) == ("bad_message", False)
    return raised.value


VALID: list[tuple[dict[str, Any], p.Packet]] = [
    ({"type": "hello", "name": "ada", "protocol": 1}, p.Hello(name="ada", protocol=1)),
    (
        {"type": "hello", "name": "ada", "protocol": 1, "password": "pw"},
        p.Hello(name="ada", protocol=1, password="pw"),
    ),
    ({"type": "say", "text": "hi"}, p.Say(text="hi", room="#lobby")),
    ({"type": "say", "text": "hi", "room": "#Dev"}, p.Say(text="hi", room="#Dev")),
    ({"type": "list_users"}, p.ListUsers(room="#lobby")),
    ({"type": "list_users", "room": "#x"}, p.ListUsers(room="#x")),
    ({"type": "join", "room": "#x"}, p.Join(room="#x")),
    ({"type": "leave", "room": "#x"}, p.Leave(room="#x")),
    ({"type": "list_rooms"}, p.ListRooms()),
    ({"type": "direct", "to": "bob", "text": "hi"}, p.Direct(to="bob", text="hi")),
    ({"type": "history", "room": "#x"}, p.History(room="#x", before=None, limit=50)),
    (
        {"type": "history", "room": "#x", "before": 7, "limit": 200},
        p.History(room="#x", before=7, limit=200),
    ),
    ({"type": "ping", "id": 3}, p.Ping(id=3)),
    ({"type": "ping", "id": None}, p.Ping(id=None)),
    ({"type": "ping", "id": {"any": ["json", 1.5, None]}}, p.Ping(id={"any": ["json", 1.5, None]})),
    ({"type": "pong", "id": "abc"}, p.Pong(id="abc")),
    ({"type": "pong", "id": None}, p.Pong(id=None)),
    ({"type": "bye"}, p.Bye()),
]


@pytest.mark.parametrize(("fields", "expected"), VALID, ids=lambda v: str(v)[:40])
def test_valid_packets_parse(fields: dict[str, Any], expected: p.Packet) -> None:
    assert parse_client_packet(packet(**fields)) == expected


def test_unknown_fields_are_ignored() -> None:
    parsed = parse_client_packet(packet(type="say", text="hi", colour="red", meta={"v": [2]}))
    assert parsed == p.Say(text="hi", room="#lobby")
    assert parse_client_packet(packet(type="bye", reason="tired")) == p.Bye()


@pytest.mark.parametrize(
    "fields",
    [
        {"type": "hello", "protocol": 1},
        {"type": "hello", "name": "ada"},
        {"type": "say"},
        {"type": "say", "room": "#lobby"},
        {"type": "join"},
        {"type": "leave"},
        {"type": "direct", "to": "bob"},
        {"type": "direct", "text": "hi"},
        {"type": "history"},
        {"type": "ping"},
    ],
)
def test_a_missing_field_is_bad_message(fields: dict[str, Any]) -> None:
    refused(**fields)


@pytest.mark.parametrize(
    "fields",
    [
        {"type": "hello", "name": 1, "protocol": 1},
        {"type": "hello", "name": "ada", "protocol": "1"},
        {"type": "hello", "name": "ada", "protocol": True},
        {"type": "hello", "name": "ada", "protocol": 1.0},
        {"type": "hello", "name": "ada", "protocol": 1, "password": 1234},
        {"type": "say", "text": 5},
        {"type": "say", "text": ["hi"]},
        {"type": "say", "text": "hi", "room": ["#lobby"]},
        {"type": "join", "room": {"name": "#x"}},
        {"type": "direct", "to": "bob", "text": False},
        {"type": "history", "room": "#x", "limit": "5"},
        {"type": "history", "room": "#x", "limit": True},
        {"type": "history", "room": "#x", "limit": 5.0},
        {"type": "history", "room": "#x", "before": "3"},
        {"type": "history", "room": "#x", "before": True},
    ],
)
def test_a_wrong_type_is_bad_message_strictly(fields: dict[str, Any]) -> None:
    refused(**fields)


@pytest.mark.parametrize(
    "fields",
    [
        {"type": "hello", "name": None, "protocol": 1},
        {"type": "hello", "name": "ada", "protocol": None},
        {"type": "hello", "name": "ada", "protocol": 1, "password": None},
        {"type": "say", "text": "hi", "room": None},
        {"type": "list_users", "room": None},
        {"type": "history", "room": "#x", "before": None},
        {"type": "history", "room": "#x", "limit": None},
        {"type": "direct", "to": None, "text": "hi"},
    ],
)
def test_an_explicit_null_is_a_wrong_type(fields: dict[str, Any]) -> None:
    assert "null" in refused(**fields).message


def test_null_in_an_unknown_field_is_ignored() -> None:
    assert parse_client_packet(packet(type="bye", extra=None)) == p.Bye()


@pytest.mark.parametrize(("limit", "ok"), [(0, False), (1, True), (200, True), (201, False)])
def test_history_limit_is_1_to_200(limit: int, ok: bool) -> None:
    fields = {"type": "history", "room": "#x", "limit": limit}
    if ok:
        assert parse_client_packet(packet(**fields)) == p.History(room="#x", limit=limit)
    else:
        refused(**fields)


@pytest.mark.parametrize("before", [0, -1])
def test_history_before_is_a_seq(before: int) -> None:
    refused(type="history", room="#x", before=before)


@pytest.mark.parametrize("kind", ["shout", "", "HELLO", "welcome", "message", "error", "joined"])
def test_an_unknown_type_is_unknown_type(kind: str) -> None:
    with pytest.raises(UnknownPacketType) as raised:
        parse_client_packet(packet(type=kind, text="hi"))
    assert (raised.value.code, raised.value.fatal) == ("unknown_type", False)


@pytest.mark.parametrize("fields", [{}, {"type": 1}, {"type": None}, {"type": ["say"]}])
def test_a_missing_or_non_string_type_is_bad_message(fields: dict[str, Any]) -> None:
    refused(**fields)


# -- any input ----------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=80))
def test_any_bytes_give_a_packet_or_a_packet_error(payload: bytes) -> None:
    try:
        parsed = parse_client_packet(payload)
    except PacketError:
        return
    assert isinstance(parsed, p.Packet)


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**60), 2**60)
    | st.floats()
    | st.text(st.characters(codec=None), max_size=6),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=4), children, max_size=3)
    ),
    max_leaves=8,
)
field_names = st.sampled_from(
    ["name", "protocol", "password", "text", "room", "to", "before", "limit", "id", "x"]
)


@settings(max_examples=150, deadline=None)
@given(
    st.sampled_from([*p.CLIENT_MODELS, "nope"]),
    st.dictionaries(field_names, json_values, max_size=4),
    st.booleans(),
)
def test_any_object_of_a_known_type_gives_a_packet_or_a_packet_error(
    kind: str, fields: dict[str, Any], ascii_only: bool
) -> None:
    payload = json.dumps({"type": kind, **fields}, ensure_ascii=ascii_only, allow_nan=True)
    try:
        parsed = parse_client_packet(payload.encode("utf-8", "surrogatepass"))
    except PacketError:
        return
    assert parsed.type == kind  # type: ignore[union-attr]


# -- packets -> commands ------------------------------------------------------------------------

DEV = RoomName.parse("#dev")


@pytest.mark.parametrize(
    ("parsed", "command"),
    [
        (p.Hello(name="Ada", protocol=1), c.Register(name="Ada", protocol=1)),
        (
            p.Hello(name="Ada", protocol=2, password="pw"),
            c.Register(name="Ada", protocol=2, password="pw"),
        ),
        (p.Say(text=" hi ", room="#Dev"), c.PostMessage(text=" hi ", room=DEV)),
        (p.Say(text="hi"), c.PostMessage(text="hi", room=LOBBY)),
        (p.ListUsers(room="#DEV"), c.ListUsers(room=DEV)),
        (p.Join(room="#Dev"), c.JoinRoom(room=DEV)),
        (p.Leave(room="#dev"), c.LeaveRoom(room=DEV)),
        (p.ListRooms(), c.ListRooms()),
        (p.Direct(to="Bob", text="x"), c.SendDirect(to="Bob", text="x")),
        (p.History(room="#Dev"), c.FetchHistory(room=DEV, before=None, limit=50)),
        (p.History(room="#dev", before=9, limit=3), c.FetchHistory(room=DEV, before=9, limit=3)),
        (p.Bye(), c.Quit()),
        (p.Ping(id=1), p.Ping(id=1)),
        (p.Pong(id=None), p.Pong(id=None)),
    ],
    ids=lambda v: type(v).__name__,
)
def test_packets_become_commands(parsed: Any, command: Any) -> None:
    assert to_command(parsed) == command


@pytest.mark.parametrize(
    "parsed",
    [
        p.Say(text="hi", room="dev"),
        p.Join(room="#no spaces"),
        p.Leave(room="#"),
        p.ListUsers(room=""),
        p.History(room="#" + "x" * 33),
    ],
    ids=lambda v: type(v).__name__,
)
def test_a_broken_room_name_is_invalid_room(parsed: Any) -> None:
    with pytest.raises(InvalidRoom):
        to_command(parsed)
