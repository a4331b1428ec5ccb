"""The generator's frame scanning against frames as our server encodes them."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bench.frames import (
    BadFrame,
    control_packet,
    count_frames,
    find_deliveries,
    frame_spans,
    hello_frame,
    is_delivery,
    marked_text,
    parse_delivery,
    say_frame,
)
from localchat.adapters.tcp.client import CLIENT_MAX_FRAME_BYTES
from localchat.adapters.wire import packets as p
from localchat.adapters.wire.framing import FrameDecoder, encode_frame
from localchat.adapters.wire.schema import encode_packet, parse_client_packet
from tests.unit.bench_support import JOINED, message


def test_say_frame_is_a_valid_say_packet_with_the_marked_text() -> None:
    decoder = FrameDecoder()
    decoder.receive_data(say_frame(3, 77, 123_456, 64))
    packet = parse_client_packet(decoder.next_frame() or b"")
    assert isinstance(packet, p.Say)
    assert packet.text.startswith("~cl~3~77~123456~x")
    assert len(packet.text) == 64


def test_a_text_longer_than_asked_is_not_cut() -> None:
    assert marked_text(12, 3456, 7_890_123, 5) == b"~cl~12~3456~7890123~"


def test_hello_frame_registers_a_name() -> None:
    decoder = FrameDecoder()
    decoder.receive_data(hello_frame("bench0"))
    assert parse_client_packet(decoder.next_frame() or b"") == p.Hello(name="bench0", protocol=1)


def test_find_deliveries_reads_every_message_of_a_stream() -> None:
    stream = message(5, 0, 0, 111) + JOINED + message(6, 2, 9, 222)
    frames, used = count_frames(stream)
    assert (frames, used) == (3, len(stream))
    assert find_deliveries(stream, used) == [(b"5", b"0", b"0", b"111"), (b"6", b"2", b"9", b"222")]


def test_parse_delivery_accepts_any_key_order_and_spacing() -> None:
    payload = json.dumps({"text": marked_text(1, 2, 3, 20).decode(), "seq": 42, "type": "message"})
    frame = encode_frame(payload.encode())
    assert parse_delivery(frame, 4, len(frame)) == (b"42", b"1", b"2", b"3")


def test_a_server_without_room_seq_still_gives_deliveries() -> None:
    frame = encode_frame(json.dumps({"type": "message", "text": "~cl~1~2~3~"}).encode())
    assert find_deliveries(frame, len(frame)) == []
    assert parse_delivery(frame, 4, len(frame)) == (b"", b"1", b"2", b"3")


def test_a_history_page_is_not_a_delivery() -> None:
    old = p.ChatMessage(
        room="#lobby", seq=1, sender="ada", text="~cl~0~0~1~", sent_at="2026-11-22T10:04:05.123Z"
    )
    frame = encode_packet(p.HistoryPage(room="#lobby", messages=[old]))
    assert not is_delivery(frame, 4, len(frame))
    assert parse_delivery(frame, 4, len(frame)) is None
    assert is_delivery(message(1, 0, 0, 1), 4, len(message(1, 0, 0, 1)))


@given(
    st.lists(st.integers(min_value=0, max_value=10**6), min_size=1, max_size=20),
    st.data(),
)
def test_any_chunking_counts_the_same_frames(seqs: list[int], data: st.DataObject) -> None:
    stream = b"".join(message(n + 1, 0, n, n) if n % 3 else JOINED for n in seqs)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=8)))
    frames, rest = 0, b""
    for start, end in zip([0, *cuts], [*cuts, len(stream)], strict=True):
        buf = rest + stream[start:end]
        counted, used = count_frames(buf)
        frames += counted
        rest = buf[used:]
    assert (frames, rest) == (len(seqs), b"")


def test_frame_spans_match_the_headers() -> None:
    stream = JOINED + message(1, 0, 0, 1)
    _, used = count_frames(stream)
    assert frame_spans(stream, used) == [(4, len(JOINED)), (len(JOINED) + 4, len(stream))]


@pytest.mark.parametrize("length", [0, CLIENT_MAX_FRAME_BYTES + 1])
def test_a_bad_length_is_refused(length: int) -> None:
    stream = JOINED + length.to_bytes(4, "big") + b"xx"
    with pytest.raises(BadFrame):
        frame_spans(stream, len(stream) - 2 if length == 0 else count_frames(stream)[1])


def test_a_partial_header_waits_for_more() -> None:
    assert count_frames(JOINED + b"\x00\x00") == (1, len(JOINED))


def test_control_packets_are_ping_and_error_only() -> None:
    ping = encode_packet(p.Ping(id={"n": [1, 2]}))
    error = encode_packet(p.Error(code="slow_consumer", message="too slow", fatal=True))
    assert control_packet(ping, 4, len(ping)) == {"type": "ping", "id": {"n": [1, 2]}}
    assert control_packet(error, 4, len(error)) == {
        "type": "error",
        "code": "slow_consumer",
        "message": "too slow",
        "fatal": True,
    }
    assert control_packet(JOINED, 4, len(JOINED)) is None
