"""Every bad frame and payload of PROTOCOL.md §1 and §2, over a real socket.

After registration a payload error is answered with a non-fatal ``error`` and the connection
goes on; the 10th in a row is fatal. Before ``welcome`` every error is fatal. Framing errors
are always fatal and are detected on the 4 header bytes, before any payload.
"""

from __future__ import annotations

import socket
import struct

import pytest

from localchat.adapters.tcp.client import ChatClient
from localchat.adapters.wire import packets as p
from localchat.adapters.wire.framing import encode_frame
from tests.integration.support import Inbox, expect_closed, expect_error, expect_fatal, round_trip
from tests.servers import RunningServer
from tests.wire_support import hello_frame, json_frame

DEEP_33 = b'{"type":"say","text":"x","deep":' + b"[" * 32 + b"]" * 32 + b"}"
DEEP_32 = b'{"type":"say","text":"deep 32","deep":' + b"[" * 31 + b"]" * 31 + b"}"

# Payloads that break PROTOCOL.md §1 (the frame boundary stays intact): bad_message.
BAD_MESSAGES: dict[str, bytes] = {
    "invalid_utf8": b'{"type":"say","text":"\xff\xfe"}',
    "truncated_utf8": b'{"type":"say","text":"\xc3"}',
    "not_json": b'{"type":"say",',
    "nan": b'{"type":"say","text":"x","n":NaN}',
    "infinity": b'{"type":"say","text":"x","n":-Infinity}',
    "float_overflow": b'{"type":"say","text":"x","n":1e400}',
    "lone_surrogate": b'{"type":"say","text":"\\ud800"}',
    "lone_surrogate_in_key": b'{"type":"say","text":"x","\\udfff":1}',
    "duplicate_key": b'{"type":"say","text":"a","text":"b"}',
    "duplicate_nested_key": b'{"type":"say","text":"a","x":{"k":1,"k":2}}',
    "nesting_33": DEEP_33,
    "huge_int": b'{"type":"say","text":"x","n":9007199254740992}',
    "huge_negative_int": b'{"type":"say","text":"x","n":-9007199254740992}',
    "very_long_int": b'{"type":"say","text":"x","n":' + b"9" * 5000 + b"}",
    "array": b'["say"]',
    "string": b'"say"',
    "number": b"42",
    "null": b"null",
    "no_type": b'{"text":"x"}',
    "number_type": b'{"type":1,"text":"x"}',
    "null_type": b'{"type":null,"text":"x"}',
    "array_type": b'{"type":["say"],"text":"x"}',
    "missing_text": b'{"type":"say"}',
    "missing_room": b'{"type":"join"}',
    "missing_to": b'{"type":"direct","text":"x"}',
    "text_wrong_type": b'{"type":"say","text":5}',
    "room_wrong_type": b'{"type":"say","text":"x","room":["#lobby"]}',
    "limit_as_string": b'{"type":"history","room":"#lobby","limit":"5"}',
    "limit_as_bool": b'{"type":"history","room":"#lobby","limit":true}',
    "limit_as_float": b'{"type":"history","room":"#lobby","limit":5.5}',
    "null_text": b'{"type":"say","text":null}',
    "null_optional_room": b'{"type":"say","text":"x","room":null}',
    "null_optional_before": b'{"type":"history","room":"#lobby","before":null}',
    "limit_too_big": b'{"type":"history","room":"#lobby","limit":201}',
    "limit_zero": b'{"type":"history","room":"#lobby","limit":0}',
    "before_zero": b'{"type":"history","room":"#lobby","before":0}',
    "ping_without_id": b'{"type":"ping"}',
}
UNKNOWN_TYPES: dict[str, bytes] = {
    "unknown": b'{"type":"dance"}',
    "case_matters": b'{"type":"SAY","text":"x"}',
    "empty_type": b'{"type":""}',
}
BAD_PAYLOADS = [(name, data, "bad_message") for name, data in BAD_MESSAGES.items()] + [
    (name, data, "unknown_type") for name, data in UNKNOWN_TYPES.items()
]
BAD_ROOMS = ["lobby", "#", "#a b", "#" + "x" * 33, "#ß" + "s" * 31, "##", "#\u200b"]

# A TLS record header (handshake, TLS 1.0 record, 512 bytes), the ClientHello header, a random.
TLS_CLIENT_HELLO = bytes.fromhex("1603010200010001fc0303") + bytes(range(32))
HTTP_REQUEST = b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"


@pytest.fixture
def server(start_server: object) -> RunningServer:
    return start_server()  # type: ignore[operator,no-any-return]


# -- after registration: non-fatal --------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "code"),
    [(data, code) for _, data, code in BAD_PAYLOADS],
    ids=[name for name, _, _ in BAD_PAYLOADS],
)
def test_a_bad_payload_after_registration_is_not_fatal(
    server: RunningServer, payload: bytes, code: str
) -> None:
    client = server.connect("ada")
    client.send_raw(encode_frame(payload))
    error = expect_error(client, code)
    assert error.message
    round_trip(client)  # still connected, and nothing else was sent
    client.say("after")
    message = client.receive(timeout=5)
    assert isinstance(message, p.ChatMessage)
    assert (message.seq, message.text) == (1, "after")


def test_limits_of_i_json_that_are_allowed(server: RunningServer) -> None:
    """Just inside each I-JSON limit is fine: the errors above are not over-eager."""
    client = server.connect("ada")
    client.send_raw(encode_frame(DEEP_32))
    client.send_raw(
        encode_frame(b'{"type":"say","text":"big ints","n":9007199254740991,"m":-9007199254740991}')
    )
    client.send_raw(
        encode_frame(b'{"type":"say","text":"\\ud83d\\ude00 pair","extra":{"a":[1,2.5,null]}}')
    )
    client.send_raw(encode_frame('{"type":"say","text":"utf-8 ✓ ß"}'.encode()))
    client.send_raw(encode_frame(b'{"type":"ping","id":null}'))
    client.send_raw(encode_frame(b'{"type":"ping","id":{"nested":[1,"two",null,true]}}'))
    answers = [client.receive(timeout=5) for _ in range(6)]
    # A pong comes from the connection itself and may overtake messages (they go through
    # the chat core); each kind keeps its own order.
    assert [m.text for m in answers if isinstance(m, p.ChatMessage)] == [
        "deep 32",
        "big ints",
        "\U0001f600 pair",
        "utf-8 ✓ ß",
    ]
    assert [m for m in answers if isinstance(m, p.Pong)] == [
        p.Pong(id=None),
        p.Pong(id={"nested": [1, "two", None, True]}),
    ]


@pytest.mark.parametrize("room", BAD_ROOMS)
def test_a_bad_room_name_is_invalid_room(server: RunningServer, room: str) -> None:
    client = server.connect("ada")
    for packet in (p.Join(room=room), p.Say(text="x", room=room), p.Leave(room=room)):
        client.send(packet)
        expect_error(client, "invalid_room")
    client.send(p.ListUsers(room=room))
    expect_error(client, "invalid_room")
    round_trip(client)


def test_the_tenth_bad_message_in_a_row_is_fatal(server: RunningServer) -> None:
    watcher = Inbox(server.connect("watcher"))
    client = server.connect("ada")
    client.send_raw(encode_frame(b"[]") * 5 + json_frame({"type": "nope"}) * 4)
    for code in ["bad_message"] * 5 + ["unknown_type"] * 4:
        expect_error(client, code)
    client.send_raw(encode_frame(b"{}"))
    expect_fatal(client, "too_many_errors")
    left = watcher.wait_for(p.Left)
    assert (left[0].name, left[0].reason) == ("ada", "disconnected")


@pytest.mark.parametrize(
    "good",
    [
        json_frame({"type": "list_rooms"}),
        json_frame({"type": "ping", "id": 1}),
        json_frame({"type": "join", "room": "no hash"}),  # invalid_room is not a payload error
        json_frame({"type": "say", "text": "x", "room": "#elsewhere"}),  # not_in_room
        json_frame({"type": "say", "text": "   "}),  # invalid_text
        json_frame({"type": "hello", "name": "ada", "protocol": 1}),  # already_registered
    ],
    ids=["list_rooms", "ping", "invalid_room", "not_in_room", "invalid_text", "second_hello"],
)
def test_any_other_answer_resets_the_error_count(server: RunningServer, good: bytes) -> None:
    client = server.connect("ada")
    # All in one write: the server judges the frames in order, whatever the timing.
    client.send_raw(
        encode_frame(b"null") * 9 + good + encode_frame(b"null") * 9 + encode_frame(b"1")
    )
    answers = expect_closed(client)
    # Payload errors come from the connection, answers to commands from the chat core, so
    # they may interleave differently (the core's answer may even come after the close and
    # be lost); what matters is that 18 bad ones in all were not fatal.
    assert answers[-1] == p.Error(code="too_many_errors", message=answers[-1].message, fatal=True)  # type: ignore[union-attr]
    errors = [a for a in answers[:-1] if isinstance(a, p.Error) and a.code == "bad_message"]
    assert len(errors) == 18
    assert all(not e.fatal for e in errors)
    assert len(answers) in (19, 20)


def test_a_second_hello_is_already_registered(server: RunningServer) -> None:
    client = server.connect("ada")
    client.send(p.Hello(name="someone_else", protocol=1))
    expect_error(client, "already_registered")
    client.say("still ada")
    message = client.receive(timeout=5)
    assert isinstance(message, p.ChatMessage)
    assert message.sender == "ada"


# -- framing: always fatal, detected on the header ----------------------------------------------


def test_an_empty_frame_is_fatal(server: RunningServer) -> None:
    watcher = Inbox(server.connect("watcher"))
    client = server.connect("ada")
    client.send_raw(b"\0\0\0\0")
    expect_fatal(client, "bad_frame")
    left = watcher.wait_for(p.Left)
    assert (left[0].name, left[0].reason) == ("ada", "disconnected")
    watcher.client.ping("alive")
    watcher.wait_for(p.Pong, lambda pong: pong.id == "alive")


@pytest.mark.parametrize("registered", [True, False], ids=["registered", "before_hello"])
def test_an_oversized_header_is_refused_before_any_payload(
    server: RunningServer, registered: bool
) -> None:
    client = server.connect("ada") if registered else server.open()
    client.send_raw(struct.pack(">I", 65_537))  # the header alone: no payload is ever sent
    expect_fatal(client, "frame_too_large")


def test_the_frame_limit_is_the_configured_one(start_server: object) -> None:
    server: RunningServer = start_server(max_frame_bytes=2048, max_text_chars=200)  # type: ignore[operator]
    client = server.connect("ada")
    assert client.welcome is not None
    assert client.welcome.limits.max_frame_bytes == 2048
    head = b'{"type":"say","text":"exactly the limit","pad":"'
    exact = head + b"x" * (2048 - len(head) - 2) + b'"}'
    assert len(exact) == 2048
    client.send_raw(encode_frame(exact))
    message = client.receive(timeout=5)
    assert isinstance(message, p.ChatMessage)
    assert message.text == "exactly the limit"
    client.send_raw(struct.pack(">I", 2049))
    expect_fatal(client, "frame_too_large")


@pytest.mark.parametrize("data", [TLS_CLIENT_HELLO, HTTP_REQUEST], ids=["tls", "http"])
def test_tls_or_http_on_the_port_is_refused_at_once(server: RunningServer, data: bytes) -> None:
    client = server.open()
    client.send_raw(data)
    expect_fatal(client, "frame_too_large")


# -- before welcome: every error is fatal -------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "code"),
    [(data, code) for _, data, code in BAD_PAYLOADS],
    ids=[name for name, _, _ in BAD_PAYLOADS],
)
def test_a_bad_payload_before_hello_is_fatal(
    server: RunningServer, payload: bytes, code: str
) -> None:
    client = server.open()
    client.send_raw(encode_frame(payload))
    expect_fatal(client, code)


@pytest.mark.parametrize(
    "packet",
    [
        p.Say(text="hi"),
        p.Join(room="#x"),
        p.ListRooms(),
        p.ListUsers(),
        p.Direct(to="ada", text="x"),
        p.Ping(id=1),
        p.Pong(id=1),
        p.Bye(),
    ],
    ids=lambda packet: packet.type,
)
def test_anything_but_hello_first_is_not_registered(
    server: RunningServer, packet: p.Packet
) -> None:
    client = server.open()
    client.send(packet)
    expect_fatal(client, "not_registered")
    assert server.server.service.user_count == 0


@pytest.mark.parametrize(
    ("hello", "code"),
    [
        (hello_frame("not a name"), "invalid_name"),
        (hello_frame(""), "invalid_name"),
        (hello_frame("x" * 33), "invalid_name"),
        (hello_frame("bell\u0007"), "invalid_name"),
        (json_frame({"type": "hello", "name": "ada", "protocol": 2}), "unsupported_protocol"),
        (json_frame({"type": "hello", "name": "ada"}), "bad_message"),
        (json_frame({"type": "hello", "name": 7, "protocol": 1}), "bad_message"),
        (json_frame({"type": "hello", "name": "ada", "protocol": "1"}), "bad_message"),
        (
            json_frame({"type": "hello", "name": "ada", "protocol": 1, "password": None}),
            "bad_message",
        ),
        (json_frame({"type": "hello", "name": "Taken", "protocol": 1}), "name_taken"),
        (json_frame({"type": "hello", "name": "TAKEN", "protocol": 1}), "name_taken"),
    ],
)
def test_a_refused_hello_is_fatal(server: RunningServer, hello: bytes, code: str) -> None:
    server.connect("taken")
    client = server.open()
    client.send_raw(hello)
    expect_fatal(client, code)
    assert server.server.service.user_count == 1


# -- pipelining: deterministic ------------------------------------------------------------------


@pytest.mark.parametrize("attempt", range(5))
def test_hello_and_say_in_one_send(server: RunningServer, attempt: int) -> None:
    client = server.open()
    client.send_raw(hello_frame(f"ada{attempt}") + json_frame({"type": "say", "text": "hi"}))
    welcome = client.receive(timeout=5)
    assert isinstance(welcome, p.Welcome)
    assert isinstance(client.receive(timeout=5), p.HistoryPage)
    message = client.receive(timeout=5)
    assert isinstance(message, p.ChatMessage)
    assert (message.seq, message.sender, message.text) == (1, f"ada{attempt}", "hi")


@pytest.mark.parametrize("attempt", range(5))
def test_hello_and_a_bad_payload_in_one_send(server: RunningServer, attempt: int) -> None:
    """What follows ``hello`` is judged as the registered session: non-fatal."""
    client = server.open()
    client.send_raw(hello_frame("ada") + encode_frame(b"[]") + json_frame({"type": "nope"}))
    assert isinstance(client.receive(timeout=5), p.Welcome)
    assert isinstance(client.receive(timeout=5), p.HistoryPage)
    expect_error(client, "bad_message")
    expect_error(client, "unknown_type")
    round_trip(client)


def test_a_refused_hello_and_more_in_one_send(server: RunningServer) -> None:
    """The refusal is the one answer: the frames behind it are not judged."""
    client = server.open()
    client.send_raw(
        hello_frame("not a name") + json_frame({"type": "say", "text": "x"}) + b"\0" * 4
    )
    packets = expect_closed(client)
    assert [(e.code, e.fatal) for e in packets if isinstance(e, p.Error)] == [
        ("invalid_name", True)
    ]
    assert len(packets) == 1


def test_the_server_survives_all_of_it(server: RunningServer) -> None:
    """Every bad thing on its own connection, at once; then chat still works."""
    socks = []
    for _, data, _ in BAD_PAYLOADS:
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
        sock.sendall(hello_frame(f"u{len(socks)}") + encode_frame(data) + b"\0\0\0\0")
        socks.append(sock)
    for data in (TLS_CLIENT_HELLO, HTTP_REQUEST, b"\0\0\0\0"):
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
        sock.sendall(data)
        socks.append(sock)
    for sock in socks:
        client = ChatClient(sock)
        server.clients.append(client)
        expect_closed(client)
    ada = server.connect("ada")
    ada.say("fine")
    message = ada.receive(timeout=5)
    assert isinstance(message, p.ChatMessage)
    assert message.text == "fine"
