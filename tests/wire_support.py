"""Frames at the wire level, for tests on both sides of it: frames built by hand (any JSON
value, valid packet or not), and server output read back as a client library reads it."""

from __future__ import annotations

import json
from typing import Any

from localchat.adapters.tcp.client import CLIENT_MAX_FRAME_BYTES
from localchat.adapters.wire.framing import FrameDecoder, encode_frame
from localchat.adapters.wire.schema import ServerPacket, parse_server_packet


def json_frame(data: Any) -> bytes:
    """A frame holding ``data`` as compact JSON (any JSON value, valid packet or not)."""
    return encode_frame(json.dumps(data, separators=(",", ":")).encode())


def hello_frame(name: str, **extra: Any) -> bytes:
    return json_frame({"type": "hello", "name": name, "protocol": 1, **extra})


def decode_all(
    data: bytes | None, max_frame_bytes: int = CLIENT_MAX_FRAME_BYTES
) -> list[ServerPacket]:
    """Every packet in ``data``, which must hold whole frames only."""
    decoder = FrameDecoder(max_frame_bytes)
    decoder.receive_data(data or b"")
    packets = []
    while (payload := decoder.next_frame()) is not None:
        packets.append(parse_server_packet(payload))
    assert decoder.buffered == 0, "a frame was cut short"
    return packets


def decode_one(data: bytes | None, max_frame_bytes: int = CLIENT_MAX_FRAME_BYTES) -> ServerPacket:
    """The one packet in ``data``."""
    assert data is not None
    packets = decode_all(data, max_frame_bytes)
    assert len(packets) == 1, packets
    return packets[0]
