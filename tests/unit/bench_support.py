"""Server frames, encoded as our server encodes them, for the benchmark generator's tests."""

from __future__ import annotations

from bench.frames import marked_text
from localchat.adapters.wire import packets as p
from localchat.adapters.wire.schema import encode_packet

AT = "2026-11-22T10:04:05.123Z"
JOINED = encode_packet(p.Joined(room="#lobby", name="bench7", at=AT))


def message(seq: int, sender: int, sender_seq: int, sent_us: int = 1, length: int = 64) -> bytes:
    """A ``message`` frame in ``#lobby`` with room ``seq`` and the generator's marked text."""
    text = marked_text(sender, sender_seq, sent_us, length).decode()
    chat = p.ChatMessage(room="#lobby", seq=seq, sender=f"bench{sender + 1}", text=text, sent_at=AT)
    return encode_packet(chat)
