"""EventEncoder: every event becomes a frame that a client parses back to the same values."""

from __future__ import annotations

import re
import typing
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from localchat.adapters.wire import packets as p
from localchat.adapters.wire.schema import EventEncoder
from localchat.domain import events as e
from localchat.domain.model import LeaveReason, Message
from localchat.domain.names import LOBBY, RoomName
from tests.strategies import message_texts, room_names, user_names
from tests.wire_support import decode_one

AT = datetime(2026, 11, 22, 10, 4, 5, 123456, tzinfo=UTC)
AT_TEXT = "2026-11-22T10:04:05.123Z"
DEV = RoomName.parse("#dev")
RFC3339_UTC_MS = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z")
ENCODER = EventEncoder(server="localchat/9.9", max_frame_bytes=65_536)


def parse_time(text: str) -> datetime:
    assert RFC3339_UTC_MS.fullmatch(text), text
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def message(seq: int, text: str = "hi", room: RoomName = DEV, sender: str = "ada") -> Message:
    return Message(room=room, seq=seq, sender=sender, text=text, sent_at=AT)


def test_welcome() -> None:
    event = e.Welcomed(name="Jos\u00e9", room=LOBBY, users=("ada", "Jos\u00e9"), max_text_chars=77)
    assert decode_one(ENCODER.encode(event)) == p.Welcome(
        name="Jos\u00e9",
        server="localchat/9.9",
        protocol=1,
        room="#lobby",
        users=["ada", "Jos\u00e9"],
        limits=p.Limits(max_frame_bytes=65_536, max_text_chars=77),
    )


def test_message() -> None:
    event = e.MessagePosted(message=message(7, text="  a\tb\nc "))
    assert decode_one(ENCODER.encode(event)) == p.ChatMessage(
        room="#dev", seq=7, sender="ada", text="  a\tb\nc ", sent_at=AT_TEXT
    )


def test_direct() -> None:
    event = e.DirectSent(seq=3, sender="ada", to="Bob", text="psst", sent_at=AT)
    assert decode_one(ENCODER.encode(event)) == p.DirectMessage(
        seq=3, sender="ada", to="Bob", text="psst", sent_at=AT_TEXT
    )


def test_joined() -> None:
    event = e.UserJoined(room=DEV, name="ada", at=AT)
    assert decode_one(ENCODER.encode(event)) == p.Joined(room="#dev", name="ada", at=AT_TEXT)


@pytest.mark.parametrize("reason", list(LeaveReason))
def test_left_with_every_reason(reason: LeaveReason) -> None:
    event = e.UserLeft(room=DEV, name="ada", at=AT, reason=reason)
    assert decode_one(ENCODER.encode(event)) == p.Left(
        room="#dev", name="ada", at=AT_TEXT, reason=reason.value
    )
    assert reason.value in {"leave", "quit", "disconnected", "timeout", "kicked"}


def test_user_list() -> None:
    event = e.UsersListed(room=DEV, users=("ada", "bob"))
    assert decode_one(ENCODER.encode(event)) == p.UserList(room="#dev", users=["ada", "bob"])


def test_room_list() -> None:
    event = e.RoomsListed(
        rooms=(e.RoomSummary(room=DEV, members=2), e.RoomSummary(room=LOBBY, members=0))
    )
    assert decode_one(ENCODER.encode(event)) == p.RoomList(
        rooms=[p.RoomEntry(room="#dev", members=2), p.RoomEntry(room="#lobby", members=0)]
    )


def test_history() -> None:
    event = e.HistoryFetched(room=DEV, messages=(message(1, "a"), message(2, "b")))
    assert decode_one(ENCODER.encode(event)) == p.HistoryPage(
        room="#dev",
        messages=[
            p.ChatMessage(room="#dev", seq=1, sender="ada", text="a", sent_at=AT_TEXT),
            p.ChatMessage(room="#dev", seq=2, sender="ada", text="b", sent_at=AT_TEXT),
        ],
    )
    assert decode_one(ENCODER.encode(e.HistoryFetched(room=DEV, messages=()))) == p.HistoryPage(
        room="#dev", messages=[]
    )


@pytest.mark.parametrize("fatal", [True, False])
def test_error(fatal: bool) -> None:
    event = e.CommandRejected(code="not_in_room", message="you are not in #dev", fatal=fatal)
    assert decode_one(ENCODER.encode(event)) == p.Error(
        code="not_in_room", message="you are not in #dev", fatal=fatal
    )


def test_every_event_type_is_covered_here() -> None:
    """A new event type must get its own round-trip test above."""
    tested = {
        e.Welcomed,
        e.MessagePosted,
        e.DirectSent,
        e.UserJoined,
        e.UserLeft,
        e.UsersListed,
        e.RoomsListed,
        e.HistoryFetched,
        e.CommandRejected,
        e.SessionClosed,
    }
    assert set(typing.get_args(e.Event)) == tested


def test_session_closed_is_not_a_wire_message() -> None:
    assert ENCODER.encode(e.SessionClosed(reason=LeaveReason.QUIT)) is None


@settings(max_examples=100, deadline=None)
@given(
    room=room_names,
    seq=st.integers(1, 2**53 - 1),
    sender=user_names,
    text=message_texts,
    sent_at=st.datetimes(
        min_value=datetime(1970, 1, 1),  # hypothesis wants naive bounds
        max_value=datetime(9999, 12, 31),
        timezones=st.just(UTC),
    ),
)
def test_messages_round_trip(
    room: str, seq: int, sender: str, text: str, sent_at: datetime
) -> None:
    original = Message(
        room=RoomName.parse(room), seq=seq, sender=sender, text=text, sent_at=sent_at
    )
    for frame in (
        ENCODER.encode(e.MessagePosted(message=original)),
        ENCODER.encode(e.HistoryFetched(room=original.room, messages=(original,))),
    ):
        packet = decode_one(frame)
        parsed = packet.messages[0] if isinstance(packet, p.HistoryPage) else packet
        assert isinstance(parsed, p.ChatMessage)
        assert parsed.room == original.room.canonical
        assert parsed.seq == seq
        assert parsed.sender == sender
        assert parsed.text == text
        assert parse_time(parsed.sent_at) == sent_at.replace(
            microsecond=sent_at.microsecond // 1000 * 1000
        )
    direct = decode_one(
        ENCODER.encode(e.DirectSent(seq=seq, sender=sender, to=sender, text=text, sent_at=sent_at))
    )
    assert isinstance(direct, p.DirectMessage)
    assert (direct.seq, direct.sender, direct.to, direct.text) == (seq, sender, sender, text)


@pytest.mark.parametrize(
    ("moment", "text"),
    [
        (datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), "2026-01-02T03:04:05.000Z"),
        (datetime(2026, 1, 2, 3, 4, 5, 999999, tzinfo=UTC), "2026-01-02T03:04:05.999Z"),
        (datetime(2026, 1, 2, 3, 4, 5, 1000, tzinfo=UTC), "2026-01-02T03:04:05.001Z"),
    ],
)
def test_times_are_rfc3339_utc_with_milliseconds(moment: datetime, text: str) -> None:
    event = e.UserJoined(room=DEV, name="ada", at=moment)
    joined = decode_one(ENCODER.encode(event))
    assert isinstance(joined, p.Joined)
    assert joined.at == text


def fill(count: int, text: str) -> tuple[Message, ...]:
    return tuple(message(seq, text) for seq in range(1, count + 1))


UNLIMITED = EventEncoder(server="s", max_frame_bytes=1 << 24)


def page_size(messages: tuple[Message, ...]) -> int:
    """The payload size of a history page holding all of ``messages``."""
    frame = UNLIMITED.encode(e.HistoryFetched(room=DEV, messages=messages))
    assert frame is not None
    return len(frame) - 4


def assert_trimmed_to_fit(messages: tuple[Message, ...], max_frame: int) -> list[int]:
    """The page holds the newest messages that fit, oldest first; one more would not fit."""
    encoder = EventEncoder(server="s", max_frame_bytes=max_frame)
    frame = encoder.encode(e.HistoryFetched(room=DEV, messages=messages))
    assert frame is not None
    assert len(frame) - 4 <= max_frame
    page = decode_one(frame, max_frame)
    assert isinstance(page, p.HistoryPage)
    kept = len(page.messages)
    assert [m.seq for m in page.messages] == [m.seq for m in messages[len(messages) - kept :]]
    assert [m.text for m in page.messages] == [m.text for m in messages[len(messages) - kept :]]
    if kept < len(messages):
        assert page_size(messages[len(messages) - kept - 1 :]) > max_frame
    return [m.seq for m in page.messages]


@settings(max_examples=60, deadline=None)
@given(
    count=st.integers(0, 60),
    text=st.text(st.sampled_from("a\u00e9\u20ac\U0001f600\n"), min_size=1, max_size=300),
    max_frame=st.integers(1024, 8192),
)
def test_a_history_page_too_big_for_a_frame_loses_its_oldest_messages(
    count: int, text: str, max_frame: int
) -> None:
    assert_trimmed_to_fit(fill(count, text), max_frame)


def test_a_page_that_fits_is_not_trimmed() -> None:
    messages = fill(200, "x" * 100)
    assert page_size(messages) < 65_536
    assert assert_trimmed_to_fit(messages, 65_536) == list(range(1, 201))


def test_trimming_counts_bytes_not_characters() -> None:
    messages = fill(10, "\u20ac" * 200)  # 200 characters, 600 bytes each
    kept = assert_trimmed_to_fit(messages, 2048)
    assert len(kept) >= 1
    assert len(kept) < 10
    assert kept[-1] == 10


def test_times_need_not_be_whole_milliseconds() -> None:
    moment = AT + timedelta(microseconds=999)
    joined = decode_one(ENCODER.encode(e.UserJoined(room=DEV, name="a", at=moment)))
    assert isinstance(joined, p.Joined)
    assert joined.at == "2026-11-22T10:04:05.124Z"
