"""The pure parts of the TCP client session: server packets -> events, and the backoff."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from localchat.adapters.tcp.session import Backoff
from localchat.adapters.wire import packets as p
from localchat.adapters.wire.client_events import UnreadablePacket, parse_time, to_event
from localchat.domain import events as e
from localchat.domain.model import LeaveReason, Message
from localchat.domain.names import LOBBY

AT = "2026-11-22T10:04:05.123Z"
MOMENT = datetime(2026, 11, 22, 10, 4, 5, 123000, tzinfo=UTC)


def test_every_server_packet_becomes_its_event() -> None:
    message = p.ChatMessage(room="#lobby", seq=3, sender="ada", text="hi", sent_at=AT)
    as_message = Message(room=LOBBY, seq=3, sender="ada", text="hi", sent_at=MOMENT)
    cases: list[tuple[p.Packet, object]] = [
        (message, e.MessagePosted(message=as_message)),
        (
            p.Welcome(
                name="ada",
                server="localchat/0.1.0",
                protocol=1,
                room="#lobby",
                users=["ada", "bob"],
                limits=p.Limits(max_frame_bytes=65536, max_text_chars=4000),
            ),
            e.Welcomed(name="ada", room=LOBBY, users=("ada", "bob"), max_text_chars=4000),
        ),
        (
            p.DirectMessage(seq=1, sender="ada", to="bob", text="psst", sent_at=AT),
            e.DirectSent(seq=1, sender="ada", to="bob", text="psst", sent_at=MOMENT),
        ),
        (
            p.Joined(room="#lobby", name="bob", at=AT),
            e.UserJoined(room=LOBBY, name="bob", at=MOMENT),
        ),
        (
            p.Left(room="#lobby", name="bob", at=AT, reason="quit"),
            e.UserLeft(room=LOBBY, name="bob", at=MOMENT, reason=LeaveReason.QUIT),
        ),
        (
            p.UserList(room="#lobby", users=["ada"]),
            e.UsersListed(room=LOBBY, users=("ada",)),
        ),
        (
            p.RoomList(rooms=[p.RoomEntry(room="#lobby", members=2)]),
            e.RoomsListed(rooms=(e.RoomSummary(room=LOBBY, members=2),)),
        ),
        (
            p.HistoryPage(room="#lobby", messages=[message]),
            e.HistoryFetched(room=LOBBY, messages=(as_message,)),
        ),
        (
            p.Error(code="no_such_user", message="nobody", fatal=False),
            e.CommandRejected(code="no_such_user", message="nobody", fatal=False),
        ),
    ]
    for packet, event in cases:
        assert to_event(packet) == event  # type: ignore[arg-type]
    assert to_event(p.Ping(id=1)) is None
    assert to_event(p.Pong(id=1)) is None


def test_a_leave_reason_from_a_newer_server_is_still_a_departure() -> None:
    event = to_event(p.Left(room="#lobby", name="bob", at=AT, reason="vanished"))
    assert isinstance(event, e.UserLeft)
    assert event.reason is LeaveReason.DISCONNECTED


def test_unreadable_values_raise_one_documented_error() -> None:
    with pytest.raises(UnreadablePacket):
        to_event(p.Joined(room="lobby", name="bob", at=AT))
    with pytest.raises(UnreadablePacket):
        to_event(p.Joined(room="#lobby", name="bob", at="yesterday"))


def test_times_are_utc() -> None:
    assert parse_time("2026-11-22T11:04:05.123+01:00") == MOMENT
    assert parse_time("2026-11-22T10:04:05.123") == MOMENT


@given(attempt=st.integers(min_value=0, max_value=10_000), seed=st.integers())
def test_backoff_grows_is_capped_and_jittered_within_half(attempt: int, seed: int) -> None:
    backoff = Backoff(initial=0.5, factor=2.0, maximum=10.0, rng=random.Random(seed))
    nominal = min(10.0, 0.5 * 2.0 ** min(attempt, 64))
    assert nominal / 2 <= backoff.delay(attempt) <= nominal


def test_backoff_reaches_the_cap() -> None:
    class Highest(random.Random):
        def random(self) -> float:
            return 1.0

    backoff = Backoff(initial=0.5, maximum=10.0, rng=Highest())
    assert [backoff.delay(n) for n in range(7)] == [0.5, 1.0, 2.0, 4.0, 8.0, 10.0, 10.0]
