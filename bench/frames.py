"""The generator's view of the wire: just enough of PROTOCOL.md to count and check deliveries.

Why not the project's packet parser: the generator shares the machine with the server, so
the hot path must cost well under a microsecond per delivery. Plain receivers only walk the
4-byte length headers and count the marker our texts carry (``bytes.count`` runs in C);
a closer look (a regular expression, or ``json.loads`` for rare frames such as ``ping``)
is reserved for frames that are not plain deliveries and for the few checked receivers.

Every text we send is ``~cl~SENDER~SEQ~SENT_US~`` padded with ``x``: the sender index, its
own sequence number and the send time (``time.monotonic_ns() // 1000``, one clock for all
processes of the machine), so any receiver can measure latency and per-sender order.
"""

from __future__ import annotations

import json
import re
import struct
from typing import Any

from localchat.adapters.tcp.client import CLIENT_MAX_FRAME_BYTES
from localchat.adapters.wire import packets as p
from localchat.adapters.wire.framing import encode_frame
from localchat.adapters.wire.schema import encode_packet

MARK = b"~cl~"

_HEADER = struct.Struct(">I")
_unpack_header = _HEADER.unpack_from
_FIELDS = re.compile(rb"~cl~(\d+)~(\d+)~(\d+)~")
_ROOM_SEQ = re.compile(rb'"seq"\s*:\s*(\d+)')
_DELIVERY = re.compile(rb'"seq"\s*:\s*(\d+)[^~]*~cl~(\d+)~(\d+)~(\d+)~')
HISTORY = b'"history"'
_PING = b'"ping"'
_ERROR = b'"error"'


class BadFrame(Exception):
    """A length header of 0 or above the client library's limit: the stream cannot be framed."""


Fields = tuple[bytes, bytes, bytes, bytes]
"""A delivery's digits: room ``seq`` (empty if the server sent none), sender, its sequence
number, send time in µs."""


def hello_frame(name: str) -> bytes:
    return encode_packet(p.Hello(name=name, protocol=1))


def pong_frame(ping_id: Any) -> bytes:
    return encode_packet(p.Pong(id=ping_id))


def marked_text(sender: int, seq: int, sent_us: int, length: int) -> bytes:
    """The text of one message: the marker fields, padded with ``x`` to ``length`` bytes."""
    head = b"~cl~%d~%d~%d~" % (sender, seq, sent_us)
    return head + b"x" * (length - len(head)) if len(head) < length else head


def say_frame(sender: int, seq: int, sent_us: int, length: int) -> bytes:
    """A complete ``say`` frame to ``#lobby`` carrying :func:`marked_text`."""
    text = marked_text(sender, seq, sent_us, length)
    return encode_frame(b'{"type":"say","text":"' + text + b'"}')


def count_frames(buf: bytes) -> tuple[int, int]:
    """(complete frames at the start of ``buf``, bytes they take). Raises :class:`BadFrame`.

    The hot loop of every receiver, so it checks only the length of the frame still
    pending (a bad length there would stall the stream; an empty frame inside is refused by
    :func:`frame_spans`); struct.error ends the walk where fewer than 4 header bytes
    remain, which saves a comparison per frame.
    """
    pos = 0
    size = len(buf)
    frames = 0
    unpack = _unpack_header
    try:
        while True:
            end = pos + 4 + unpack(buf, pos)[0]
            if end > size:
                break
            pos = end
            frames += 1
    except struct.error:
        return frames, pos
    length = end - pos - 4
    if length == 0 or length > CLIENT_MAX_FRAME_BYTES:
        raise BadFrame(f"frame length {length}")
    return frames, pos


def frame_spans(buf: bytes, end: int) -> list[tuple[int, int]]:
    """(payload start, payload end) of each frame in ``buf[:end]``, already known complete.

    Raises :class:`BadFrame` for an empty frame, which :func:`count_frames` lets through:
    it carries no marker, so the frames holding it always take this path.
    """
    spans = []
    pos = 0
    while pos < end:
        start = pos + 4
        pos = start + _unpack_header(buf, pos)[0]
        if pos == start:
            raise BadFrame("frame length 0")
        spans.append((start, pos))
    return spans


def is_delivery(buf: bytes, start: int, end: int) -> bool:
    """A ``message`` frame with one of our texts (not a ``history`` page that quotes some)."""
    mark = buf.find(MARK, start, end)
    return mark >= 0 and buf.find(HISTORY, start, mark) < 0


def find_deliveries(buf: bytes, end: int) -> list[Fields]:
    """The fields of every delivery in ``buf[:end]``, in one pass of the regex engine.

    Assumes the room ``seq`` comes before the text in each ``message`` (true of our server
    and of the naive baseline); the caller compares the count with the frames it walked
    and falls back to :func:`parse_delivery` frame by frame when they differ.
    """
    found: list[Fields] = _DELIVERY.findall(buf, 0, end)
    return found


def parse_delivery(buf: bytes, start: int, end: int) -> Fields | None:
    """The fields of one frame if it is a delivery (any key order), else None."""
    fields = _FIELDS.search(buf, start, end)
    if fields is None or buf.find(HISTORY, start, fields.start()) >= 0:
        return None
    room_seq = _ROOM_SEQ.search(buf, start, end)
    return (b"" if room_seq is None else room_seq[1], fields[1], fields[2], fields[3])


def control_packet(buf: bytes, start: int, end: int) -> dict[str, Any] | None:
    """A ``ping`` or ``error`` packet as a dict (they need an answer or a note), else None.

    The byte searches keep ``json.loads`` off the frames that need neither (``joined``...).
    """
    if buf.find(_PING, start, end) < 0 and buf.find(_ERROR, start, end) < 0:
        return None
    try:
        packet = json.loads(buf[start:end])
    except ValueError:
        return None
    if isinstance(packet, dict) and packet.get("type") in ("ping", "error"):
        return packet
    return None
