"""ServerConnection, the sans-IO state machine of one server connection, driven with bytes and
explicit times as a transport drives it."""

from __future__ import annotations

import struct
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from localchat.adapters.wire import packets as p
from localchat.adapters.wire.connection import (
    MAX_ERRORS_IN_A_ROW,
    ConnectionLimits,
    ServerConnection,
)
from localchat.adapters.wire.errors import SlowConsumer
from localchat.adapters.wire.framing import encode_frame
from localchat.adapters.wire.schema import ServerPacket
from localchat.domain.commands import Command, Disconnect, JoinRoom, PostMessage, Quit, Register
from localchat.domain.model import LeaveReason
from localchat.domain.names import RoomName
from localchat.ports.transport import Reply
from tests.wire_support import decode_all, json_frame

HELLO = json_frame({"type": "hello", "name": "ada", "protocol": 1})
BAD_JSON = encode_frame(b"{not json")
UNKNOWN = json_frame({"type": "shout", "text": "hi"})


def say(text: str) -> bytes:
    return json_frame({"type": "say", "text": text})


class Peer:
    """A connection plus what it produced, read the way a transport reads it."""

    def __init__(self, **limits: Any) -> None:
        self.conn = ServerConnection(ConnectionLimits(**limits), now=0.0)
        self.commands: list[Command] = []
        self._pending: list[Command] = []
        self._in_line: list[bytes] = []

    def send(self, data: bytes, now: float = 0.0) -> None:
        self.conn.receive_data(data, now)

    def _sort(self) -> None:
        """Split what the connection submits: commands, and its replies in line with them."""
        for item in self.conn.take_commands():
            if isinstance(item, Reply):
                self._in_line.append(item.payload)
            else:
                self._pending.append(item)

    def take(self) -> list[Command]:
        self._sort()
        commands, self._pending = self._pending, []
        self.commands.extend(commands)
        return commands

    def replies(self) -> list[ServerPacket]:
        """Every frame for the client: replies in line, then frames sent at once."""
        self._sort()
        in_line, self._in_line = b"".join(self._in_line), []
        return decode_all(in_line + self.conn.take_output())

    def register(self, now: float = 0.0) -> None:
        """hello, then the core's welcome (which the transport reports)."""
        self.send(HELLO, now)
        assert self.take() == [Register(name="ada", protocol=1)]
        self.conn.registration_accepted(now)


def errors(replies: list[ServerPacket]) -> list[tuple[str, bool]]:
    return [(r.code, r.fatal) for r in replies if isinstance(r, p.Error)]


def assert_ended(peer: Peer, code: str, reason: LeaveReason = LeaveReason.DISCONNECTED) -> None:
    """The connection sent fatal ``code``, is closing, and told the core once."""
    assert errors(peer.replies()) == [(code, True)]
    assert peer.conn.closing
    assert not peer.conn.wants_read
    assert peer.take() == [Disconnect(reason=reason)]
    assert peer.conn.leave_reason is reason
    assert peer.conn.error is not None
    assert peer.conn.error.code == code


# -- the handshake ------------------------------------------------------------------------------


def test_hello_becomes_register_and_pauses_reading() -> None:
    peer = Peer()
    assert peer.conn.wants_read
    peer.send(json_frame({"type": "hello", "name": "ada", "protocol": 1, "password": "pw"}))
    assert peer.take() == [Register(name="ada", protocol=1, password="pw")]
    assert peer.replies() == []
    assert not peer.conn.wants_read
    assert not peer.conn.closing


@pytest.mark.parametrize(
    "data",
    [
        say("hi"),
        json_frame({"type": "bye"}),
        json_frame({"type": "ping", "id": 1}),
        json_frame({"type": "pong", "id": 1}),
        json_frame({"type": "list_rooms"}),
        json_frame({"type": "join", "room": "not a room"}),
    ],
)
def test_any_other_type_before_hello_is_fatal_not_registered(data: bytes) -> None:
    peer = Peer()
    peer.send(data + HELLO)
    assert_ended(peer, "not_registered")


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (BAD_JSON, "bad_message"),
        (json_frame({"type": "hello", "name": "ada"}), "bad_message"),
        (json_frame({"type": "hello", "name": "ada", "protocol": "1"}), "bad_message"),
        (encode_frame(b"[1]"), "bad_message"),
        (UNKNOWN, "unknown_type"),
        (b"\x00\x00\x00\x00", "bad_frame"),
        (struct.pack(">I", 65_537), "frame_too_large"),
        (b"GET / HTTP/1.1\r\n\r\n", "frame_too_large"),
    ],
)
def test_any_error_before_hello_is_fatal(data: bytes, code: str) -> None:
    peer = Peer()
    peer.send(data + HELLO)
    assert_ended(peer, code)


def test_a_frame_pipelined_behind_hello_waits_for_the_welcome() -> None:
    peer = Peer()
    peer.send(HELLO + say("first") + json_frame({"type": "join", "room": "#Dev"}))
    assert peer.take() == [Register(name="ada", protocol=1)]
    peer.conn.tick(5.0)  # nothing happens while the core decides
    assert peer.take() == []
    assert peer.replies() == []
    peer.conn.registration_accepted(5.0)
    assert peer.take() == [
        PostMessage(text="first"),
        JoinRoom(room=RoomName.parse("#dev")),
    ]
    assert peer.conn.wants_read


def test_a_bad_frame_pipelined_behind_hello_is_judged_as_registered() -> None:
    peer = Peer()
    peer.send(HELLO + BAD_JSON + say("ok"))
    peer.take()
    peer.conn.registration_accepted(0.0)
    assert errors(peer.replies()) == [("bad_message", False)]
    assert peer.take() == [PostMessage(text="ok")]
    assert not peer.conn.closing


def test_a_refused_hello_processes_nothing_more() -> None:
    peer = Peer()
    peer.send(HELLO + say("never"))
    peer.take()
    peer.conn.close_quietly()  # the core answered a fatal error (name_taken, ...)
    peer.conn.tick(100.0)
    assert peer.take() == []
    peer.conn.connection_lost()
    assert peer.take() == [Disconnect(reason=LeaveReason.DISCONNECTED)]


def test_no_hello_within_the_handshake_timeout() -> None:
    peer = Peer(handshake_timeout=10.0)
    assert peer.conn.next_deadline() == 10.0
    peer.send(HELLO[:3], now=5.0)  # bytes, but no hello: the deadline stands
    peer.conn.tick(9.99)
    assert peer.replies() == []
    assert peer.take() == []
    peer.conn.tick(10.0)
    assert_ended(peer, "handshake_timeout")


def test_the_handshake_timeout_does_not_apply_once_hello_arrived() -> None:
    peer = Peer(handshake_timeout=10.0)
    peer.send(HELLO, now=9.0)
    peer.take()
    peer.conn.tick(20.0)
    peer.conn.registration_accepted(20.0)
    peer.conn.tick(25.0)
    assert peer.replies() == []
    assert peer.take() == []
    assert not peer.conn.closing


# -- errors after registration ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (BAD_JSON, "bad_message"),
        (json_frame({"type": "say"}), "bad_message"),
        (json_frame({"type": "say", "text": None}), "bad_message"),
        (encode_frame(b'{"type":"say","text":"a","text":"b"}'), "bad_message"),
        (encode_frame(b'{"type":"say","text":"\xff"}'), "bad_message"),
        (UNKNOWN, "unknown_type"),
        (json_frame({"type": "join", "room": "nope"}), "invalid_room"),
        (HELLO, None),  # a second hello goes to the core (already_registered)
    ],
)
def test_payload_errors_after_registration_are_not_fatal(data: bytes, code: str | None) -> None:
    peer = Peer()
    peer.register()
    peer.send(data + say("after"))
    assert errors(peer.replies()) == ([(code, False)] if code else [])
    assert peer.take()[-1] == PostMessage(text="after")
    assert not peer.conn.closing
    assert peer.conn.wants_read


@pytest.mark.parametrize("bad", [BAD_JSON, UNKNOWN])
def test_the_tenth_error_in_a_row_is_fatal_too_many_errors(bad: bytes) -> None:
    assert MAX_ERRORS_IN_A_ROW == 10
    peer = Peer()
    peer.register()
    peer.send(bad * 9)
    assert len(errors(peer.replies())) == 9
    assert not peer.conn.closing
    peer.send(bad + say("never"))
    assert_ended(peer, "too_many_errors")


@pytest.mark.parametrize(
    "good",
    [
        say("ok"),
        json_frame({"type": "ping", "id": 1}),
        json_frame({"type": "pong", "id": 1}),
        json_frame({"type": "join", "room": "x"}),
    ],
)
def test_a_frame_not_answered_with_those_errors_resets_the_count(good: bytes) -> None:
    peer = Peer()
    peer.register()
    peer.send(BAD_JSON * 9 + good + UNKNOWN * 9)
    assert not peer.conn.closing
    assert [code for code, _ in errors(peer.replies())].count("too_many_errors") == 0
    peer.send(BAD_JSON)
    assert errors(peer.replies()) == [("too_many_errors", True)]
    assert peer.conn.closing


@pytest.mark.parametrize(
    ("data", "code"),
    [(b"\x00\x00\x00\x00", "bad_frame"), (struct.pack(">I", 2048), "frame_too_large")],
)
def test_framing_errors_after_registration_are_fatal(data: bytes, code: str) -> None:
    peer = Peer(max_frame_bytes=1024)
    peer.register()
    peer.send(say("before") + data + b"x" * 2048)
    assert peer.take() == [PostMessage(text="before"), Disconnect(reason=LeaveReason.DISCONNECTED)]
    assert errors(peer.replies()) == [(code, True)]
    assert peer.conn.closing


# -- keep-alive ---------------------------------------------------------------------------------


def test_ping_after_silence_then_timeout() -> None:
    peer = Peer(ping_interval=30.0, idle_timeout=90.0)
    peer.register(now=0.0)
    assert peer.conn.next_deadline() == 30.0
    peer.conn.tick(29.9)
    assert peer.replies() == []
    peer.conn.tick(30.0)
    [ping] = peer.replies()
    assert isinstance(ping, p.Ping)
    peer.conn.tick(60.0)
    assert peer.replies() == []  # one ping per silence
    assert peer.conn.next_deadline() == 90.0
    peer.conn.tick(89.9)
    assert not peer.conn.closing
    peer.conn.tick(90.0)
    assert_ended(peer, "timeout", LeaveReason.TIMEOUT)


def test_any_frame_from_the_client_restarts_the_keep_alive_timers() -> None:
    peer = Peer(ping_interval=30.0, idle_timeout=90.0)
    peer.register(now=0.0)
    peer.conn.tick(30.0)
    [ping] = peer.replies()
    assert isinstance(ping, p.Ping)
    peer.send(json_frame({"type": "pong", "id": ping.id}), now=80.0)
    assert peer.take() == []
    peer.conn.tick(109.0)
    assert peer.replies() == []
    peer.conn.tick(110.0)
    assert [type(r) for r in peer.replies()] == [p.Ping]
    peer.conn.tick(169.9)
    assert not peer.conn.closing
    peer.conn.tick(170.0)
    assert_ended(peer, "timeout", LeaveReason.TIMEOUT)


@pytest.mark.parametrize("ping_id", [1, "x", None, {"a": [1, None]}, [], 2**53 - 1, 1.5, True])
def test_a_ping_from_the_client_is_answered_with_the_same_id(ping_id: Any) -> None:
    peer = Peer()
    peer.register()
    peer.send(json_frame({"type": "ping", "id": ping_id}))
    assert peer.replies() == [p.Pong(id=ping_id)]
    assert peer.take() == []


def test_bye_quits_once_and_closes() -> None:
    peer = Peer()
    peer.register()
    peer.send(json_frame({"type": "bye"}) + say("after bye"))
    assert peer.take() == [Quit()]
    assert peer.conn.closing
    assert not peer.conn.wants_read
    peer.send(say("still after"), now=1.0)
    peer.conn.connection_lost()
    peer.conn.tick(1000.0)
    assert peer.take() == []
    assert peer.replies() == []


def test_eof_is_a_disconnect() -> None:
    peer = Peer()
    peer.register()
    peer.conn.connection_lost()
    assert peer.take() == [Disconnect(reason=LeaveReason.DISCONNECTED)]
    assert peer.conn.peer_gone
    assert peer.conn.closing
    peer.conn.connection_lost()
    assert peer.take() == []


def test_ending_from_the_server_side_sends_the_fatal_error() -> None:
    peer = Peer()
    peer.register()
    peer.conn.end(SlowConsumer(), LeaveReason.DISCONNECTED)
    assert_ended(peer, "slow_consumer")


# -- flood control ------------------------------------------------------------------------------


def run_timers(peer: Peer, until: float) -> list[tuple[float, Command]]:
    """Tick at each ``resume_at`` (as the transport's timer does); when each command came."""
    seen: list[tuple[float, Command]] = [(0.0, command) for command in peer.take()]
    for _ in range(10_000):
        now = peer.conn.resume_at
        if now is None or now > until or peer.conn.closing:
            break
        assert not peer.conn.wants_read
        peer.conn.tick(now)
        seen.extend((now, command) for command in peer.take())
    return seen


def test_frames_beyond_the_burst_are_delayed_in_order_never_dropped() -> None:
    burst, rate = 3, 2.0
    peer = Peer(rate_limit=rate, rate_burst=burst)
    peer.register()
    peer.send(b"".join(say(f"m{i}") for i in range(10)))
    assert [c.text for c in peer.take()] == ["m0", "m1", "m2"]  # type: ignore[union-attr]
    assert peer.conn.resume_at == pytest.approx(0.5)
    assert not peer.conn.wants_read
    assert peer.conn.next_deadline() == pytest.approx(0.5)
    peer.conn.tick(0.49)
    assert peer.take() == []
    seen = run_timers(peer, until=100.0)
    assert [c.text for _, c in seen] == [f"m{i}" for i in range(3, 10)]  # type: ignore[union-attr]
    assert [t for t, _ in seen] == pytest.approx([(k + 1) / rate for k in range(7)])
    assert peer.conn.resume_at is None
    assert peer.conn.wants_read
    assert peer.replies() == []


def test_the_bucket_refills_over_time() -> None:
    peer = Peer(rate_limit=10.0, rate_burst=5)
    peer.register()
    peer.send(say("a") * 5, now=0.0)
    assert len(peer.take()) == 5
    peer.send(say("b") * 5, now=0.5)  # 5 tokens back after half a second
    assert len(peer.take()) == 5
    assert peer.conn.resume_at is None
    peer.send(say("c"), now=0.5)
    assert peer.take() == []
    assert peer.conn.resume_at == pytest.approx(0.6)


def test_a_long_backlog_is_not_mistaken_for_silence() -> None:
    """A client whose frames wait for tokens is not silent: no ping, no timeout."""
    peer = Peer(rate_limit=1.0, rate_burst=1, ping_interval=3.0, idle_timeout=5.0)
    peer.register()
    peer.send(b"".join(say(f"m{i}") for i in range(20)))
    seen = run_timers(peer, until=100.0)
    assert [c for _, c in seen] == [PostMessage(text=f"m{i}") for i in range(20)]
    assert peer.replies() == []
    assert not peer.conn.closing


def test_a_frame_waiting_longer_than_the_idle_timeout_is_not_silence() -> None:
    peer = Peer(rate_limit=0.01, rate_burst=1, ping_interval=3.0, idle_timeout=5.0)
    peer.register()
    peer.send(say("now") + say("in 100 s"))
    assert peer.take() == [PostMessage(text="now")]
    assert peer.conn.resume_at == pytest.approx(100.0)
    assert peer.conn.next_deadline() == peer.conn.resume_at
    peer.conn.tick(50.0)
    assert peer.replies() == []
    assert not peer.conn.closing
    peer.conn.tick(100.0)
    assert peer.take() == [PostMessage(text="in 100 s")]
    assert peer.conn.next_deadline() == pytest.approx(103.0)  # silence counts from now


def test_flood_control_counts_frames_after_registration_only() -> None:
    peer = Peer(rate_limit=1.0, rate_burst=1)
    peer.send(HELLO + say("one") + say("two"))
    assert peer.take() == [Register(name="ada", protocol=1)]
    peer.conn.registration_accepted(0.0)
    assert peer.take() == [PostMessage(text="one")]
    assert peer.conn.resume_at == pytest.approx(1.0)


def test_rate_zero_disables_flood_control() -> None:
    peer = Peer(rate_limit=0.0, rate_burst=1)
    peer.register()
    peer.send(say("x") * 500)
    assert len(peer.take()) == 500
    assert peer.conn.resume_at is None
    assert peer.conn.wants_read


# -- exactly one end ----------------------------------------------------------------------------

client_frames = st.sampled_from(
    [
        HELLO,
        say("hi"),
        BAD_JSON,
        UNKNOWN,
        json_frame({"type": "bye"}),
        json_frame({"type": "ping", "id": 7}),
        b"\0\0\0\0",
    ]
)
actions = st.one_of(
    st.tuples(st.just("send"), st.lists(client_frames, min_size=1, max_size=4)),
    st.tuples(st.just("split"), client_frames),
    st.tuples(st.just("wait"), st.floats(0.0, 40.0)),
    st.tuples(st.sampled_from(["accept", "refuse", "eof", "lost", "slow"]), st.none()),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(actions, max_size=25), st.floats(0.0, 5.0), st.integers(1, 5))
def test_exactly_one_terminal_command_per_connection(
    script: list[tuple[str, Any]], rate: float, burst: int
) -> None:
    peer = Peer(
        rate_limit=rate, rate_burst=burst, handshake_timeout=10, ping_interval=20, idle_timeout=50
    )
    now = 0.0
    for action, argument in script:
        if action == "send":
            peer.send(b"".join(argument), now)
        elif action == "split":
            peer.send(argument[:3], now)
            peer.send(argument[3:], now)
        elif action == "wait":
            now += argument
            peer.conn.tick(now)
        elif action == "accept":
            peer.conn.registration_accepted(now)
        elif action == "refuse":
            peer.conn.close_quietly()
        elif action in ("eof", "lost"):  # EOF is a lost connection to the sans-IO core
            peer.conn.connection_lost()
        else:
            peer.conn.end(SlowConsumer(), LeaveReason.DISCONNECTED)
        peer.take()
        for reply in peer.replies():  # every reply is a valid server packet
            assert isinstance(reply, p.Error | p.Pong | p.Ping)
    ends = [c for c in peer.commands if isinstance(c, Quit | Disconnect)]
    assert len(ends) <= 1
    if ends:
        assert peer.commands[-1] is ends[0]  # nothing after the end
    peer.conn.connection_lost()  # the transport always closes in the end
    peer.take()
    assert len([c for c in peer.commands if isinstance(c, Quit | Disconnect)]) == 1
    assert isinstance(peer.commands[-1], Quit | Disconnect)


def test_replies_of_the_connection_stay_in_line_with_the_commands_before_them() -> None:
    peer = Peer()
    peer.register()
    peer.send(say("one") + BAD_JSON + json_frame({"type": "ping", "id": 7}) + say("two"))
    items = peer.conn.take_commands()
    kinds = [type(item).__name__ for item in items]
    assert kinds == ["PostMessage", "Reply", "Reply", "PostMessage"]
    first, second = (decode_all(item.payload)[0] for item in items if isinstance(item, Reply))
    assert isinstance(first, p.Error)
    assert first.code == "bad_message"
    assert first.fatal is False
    assert second == p.Pong(id=7)
    assert peer.conn.take_output() == b""


def test_a_fatal_error_follows_earlier_answers_and_comes_before_the_end() -> None:
    peer = Peer()
    peer.register()
    peer.send(say("last words") + BAD_JSON * MAX_ERRORS_IN_A_ROW)
    items = peer.conn.take_commands()
    assert isinstance(items[0], PostMessage)
    closing = [item for item in items if isinstance(item, Reply) and item.closes]
    assert len(closing) == 1
    assert decode_all(closing[0].payload)[0].code == "too_many_errors"  # type: ignore[union-attr]
    assert items.index(closing[0]) == len(items) - 2
    assert items[-1] == Disconnect(reason=LeaveReason.DISCONNECTED)
    assert peer.conn.awaiting_close


def test_an_error_the_transport_raises_is_sent_at_once_not_in_line() -> None:
    peer = Peer()
    peer.register()
    peer.conn.end(SlowConsumer(), LeaveReason.DISCONNECTED, in_order=False)
    assert [type(item) for item in peer.conn.take_commands()] == [Disconnect]
    assert errors(decode_all(peer.conn.take_output())) == [("slow_consumer", True)]
    assert not peer.conn.awaiting_close
