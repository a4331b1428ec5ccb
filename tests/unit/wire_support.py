"""Reading what a server wrote, as a client library does: frames, then server packets."""

from __future__ import annotations

from localchat.adapters.wire.framing import FrameDecoder
from localchat.adapters.wire.schema import ServerPacket, parse_server_packet

READ_ANY_SIZE = 1 << 24


def decode_all(data: bytes | None, max_frame_bytes: int = READ_ANY_SIZE) -> list[ServerPacket]:
    """Every packet in ``data``, which must hold whole frames only."""
    decoder = FrameDecoder(max_frame_bytes)
    decoder.receive_data(data or b"")
    packets = []
    while (payload := decoder.next_frame()) is not None:
        packets.append(parse_server_packet(payload))
    assert decoder.buffered == 0, "a frame was cut short"
    return packets


def decode_one(data: bytes | None, max_frame_bytes: int = READ_ANY_SIZE) -> ServerPacket:
    """The one packet in ``data``."""
    assert data is not None
    packets = decode_all(data, max_frame_bytes)
    assert len(packets) == 1, packets
    return packets[0]
