"""Length-prefixed frames (PROTOCOL.md §1): round trip, chunking, garbage, early size check."""

from __future__ import annotations

import itertools
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from localchat.adapters.wire.errors import EmptyFrame, FrameTooLarge, ProtocolError
from localchat.adapters.wire.framing import DEFAULT_MAX_FRAME_BYTES, FrameDecoder, encode_frame

SMALL_MAX = 64
payloads = st.binary(min_size=1, max_size=SMALL_MAX)


def drain(decoder: FrameDecoder) -> list[bytes]:
    frames = []
    while (frame := decoder.next_frame()) is not None:
        frames.append(frame)
    return frames


@st.composite
def chunked(draw: st.DrawFn, stream: bytes) -> list[bytes]:
    """``stream`` cut at arbitrary places (empty chunks included)."""
    cuts = sorted(draw(st.lists(st.integers(0, len(stream)), max_size=len(stream) + 2)))
    bounds = [0, *cuts, len(stream)]
    return [stream[a:b] for a, b in itertools.pairwise(bounds)]


def test_encode_frame_prefixes_a_big_endian_uint32_length() -> None:
    assert encode_frame(b"{}") == b"\x00\x00\x00\x02{}"
    assert encode_frame(b"x" * 258)[:4] == b"\x00\x00\x01\x02"
    assert DEFAULT_MAX_FRAME_BYTES == 65_536


@settings(max_examples=200, deadline=None)
@given(st.lists(payloads, max_size=8))
def test_round_trip(frames: list[bytes]) -> None:
    decoder = FrameDecoder(SMALL_MAX)
    decoder.receive_data(b"".join(encode_frame(f) for f in frames))
    assert drain(decoder) == frames
    assert decoder.buffered == 0


@settings(max_examples=200, deadline=None)
@given(st.data(), st.lists(payloads, max_size=6))
def test_any_chunking_gives_the_same_frames(data: st.DataObject, frames: list[bytes]) -> None:
    stream = b"".join(encode_frame(f) for f in frames)
    decoder = FrameDecoder(SMALL_MAX)
    received: list[bytes] = []
    for chunk in data.draw(chunked(stream)):
        decoder.receive_data(chunk)
        received.extend(drain(decoder))
    decoder.receive_eof()
    received.extend(drain(decoder))
    assert received == frames


@settings(max_examples=300, deadline=None)
@given(st.data(), st.binary(max_size=200), st.booleans())
def test_any_garbage_gives_frames_or_a_protocol_error(
    data: st.DataObject, garbage: bytes, eof: bool
) -> None:
    decoder = FrameDecoder(SMALL_MAX)
    frames: list[bytes] = []
    failure: ProtocolError | None = None
    try:
        for chunk in data.draw(chunked(garbage)):
            decoder.receive_data(chunk)
            frames.extend(drain(decoder))
        if eof:
            decoder.receive_eof()
            frames.extend(drain(decoder))
    except ProtocolError as error:
        failure = error
    if failure is not None:
        assert isinstance(failure, EmptyFrame | FrameTooLarge)
        with pytest.raises(type(failure)):  # it stays broken
            decoder.next_frame()
    else:
        consumed = b"".join(encode_frame(f) for f in frames)
        assert garbage.startswith(consumed)
        if eof:  # a clean end: every byte was part of a frame
            assert consumed == garbage
    assert all(1 <= len(f) <= SMALL_MAX for f in frames)


@settings(max_examples=100, deadline=None)
@given(st.integers(SMALL_MAX + 1, 2**32 - 1) | st.sampled_from([SMALL_MAX + 1, 2**32 - 1]))
def test_an_oversized_header_is_refused_after_exactly_four_bytes(declared: int) -> None:
    decoder = FrameDecoder(SMALL_MAX)
    header = struct.pack(">I", declared)
    for byte in header[:3]:
        decoder.receive_data(bytes([byte]))
        assert decoder.next_frame() is None
    decoder.receive_data(header[3:])
    with pytest.raises(FrameTooLarge) as raised:
        decoder.next_frame()
    assert raised.value.code == "frame_too_large"
    assert raised.value.fatal
    assert decoder.buffered == 0
    # The payload that follows is never kept, and the decoder stays broken.
    for _ in range(3):
        decoder.receive_data(b"x" * 1000)
        assert decoder.buffered == 0
        with pytest.raises(FrameTooLarge):
            decoder.next_frame()


def test_tls_and_http_openings_are_oversized_headers() -> None:
    for opening in (b"\x16\x03\x01\x02\x00\x01\x00\x01", b"GET / HTTP/1.1\r\n"):
        decoder = FrameDecoder()
        decoder.receive_data(opening)
        with pytest.raises(FrameTooLarge):
            decoder.next_frame()


def test_exactly_max_frame_bytes_is_accepted() -> None:
    decoder = FrameDecoder(SMALL_MAX)
    decoder.receive_data(encode_frame(b"x" * SMALL_MAX))
    assert decoder.next_frame() == b"x" * SMALL_MAX


def test_length_zero_is_an_empty_frame() -> None:
    decoder = FrameDecoder(SMALL_MAX)
    decoder.receive_data(encode_frame(b"ok") + b"\x00\x00\x00\x00" + encode_frame(b"never"))
    assert decoder.next_frame() == b"ok"
    with pytest.raises(EmptyFrame) as raised:
        decoder.next_frame()
    assert (raised.value.code, raised.value.fatal) == ("bad_frame", True)
    with pytest.raises(EmptyFrame):
        decoder.next_frame()


@pytest.mark.parametrize("cut", [1, 3, 4, 5, 9])
def test_eof_inside_a_frame_is_a_bad_frame(cut: int) -> None:
    decoder = FrameDecoder(SMALL_MAX)
    decoder.receive_data(encode_frame(b"complete") + encode_frame(b"cut short")[:cut])
    decoder.receive_eof()
    assert decoder.next_frame() == b"complete"
    with pytest.raises(EmptyFrame):
        decoder.next_frame()


def test_eof_between_frames_is_clean() -> None:
    decoder = FrameDecoder(SMALL_MAX)
    decoder.receive_data(encode_frame(b"a"))
    decoder.receive_eof()
    assert decoder.next_frame() == b"a"
    assert decoder.next_frame() is None
    assert decoder.next_frame() is None


def test_buffer_holds_only_what_is_not_returned() -> None:
    decoder = FrameDecoder(SMALL_MAX)
    stream = encode_frame(b"abc") * 50
    decoder.receive_data(stream[:-2])
    assert len(drain(decoder)) == 49
    assert decoder.buffered == 5
    decoder.receive_data(stream[-2:])
    assert drain(decoder) == [b"abc"]
    assert decoder.buffered == 0


def test_max_frame_bytes_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        FrameDecoder(0)
    assert FrameDecoder(7).max_frame_bytes == 7
