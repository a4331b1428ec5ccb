"""Length-prefixed frames (PROTOCOL.md §1): a uint32 big-endian length, then the payload.

:class:`FrameDecoder` is incremental and sans-IO: feed it whatever a read returned, pull
complete frames. The declared length is checked the moment the 4 header bytes are present,
so an oversized (or TLS/HTTP-looking) frame is refused before any payload is kept.
"""

from __future__ import annotations

import struct
from typing import NoReturn

from localchat.adapters.wire.errors import EmptyFrame, FrameTooLarge, FramingError

DEFAULT_MAX_FRAME_BYTES = 65_536
HEADER_BYTES = 4
_HEADER = struct.Struct(">I")
_unpack_header = _HEADER.unpack_from
_pack_header = _HEADER.pack


def declared_length(buffer: bytes | bytearray, position: int = 0) -> int:
    """The payload length a frame header at ``position`` declares (its 4 bytes must be
    there); the header itself is :data:`HEADER_BYTES` more."""
    (length,) = _unpack_header(buffer, position)
    return int(length)


def encode_frame(payload: bytes) -> bytes:
    """Prefix ``payload`` with its length."""
    return _pack_header(len(payload)) + payload


class FrameDecoder:
    """Bytes in, frames out. Raises only :class:`FramingError`, and then stays broken."""

    __slots__ = ("_buffer", "_eof", "_error", "_max", "_need", "_start")

    def __init__(self, max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES) -> None:
        if max_frame_bytes < 1:
            raise ValueError("max_frame_bytes must be at least 1")
        self._max = max_frame_bytes
        self._buffer = bytearray()
        self._start = 0  # consumed bytes at the front, dropped lazily
        self._need = -1  # payload length of the frame in progress, -1 before its header
        self._eof = False
        self._error: FramingError | None = None

    @property
    def max_frame_bytes(self) -> int:
        return self._max

    @property
    def buffered(self) -> int:
        """Bytes received and not yet returned as frames (the header of a frame in progress
        included)."""
        header = HEADER_BYTES if self._need >= 0 else 0
        return len(self._buffer) - self._start + header

    def receive_data(self, data: bytes | bytearray | memoryview) -> None:
        """Add bytes from the stream."""
        if self._eof:
            raise RuntimeError("receive_data after receive_eof")
        if self._error is not None:
            return  # broken for good: keep nothing (the payload of an oversized frame)
        if self._start and self._start >= len(self._buffer) // 2:
            del self._buffer[: self._start]
            self._start = 0
        self._buffer += data

    def receive_eof(self) -> None:
        """The peer closed its side; a frame cut short becomes an error on the next pull."""
        self._eof = True

    def next_frame(self) -> bytes | None:
        """The next complete payload, or None if more bytes are needed."""
        if self._error is not None:
            raise self._error
        buffer = self._buffer
        start = self._start
        available = len(buffer) - start
        need = self._need
        if need < 0:
            if available < HEADER_BYTES:
                self._end_of_data(available)
                return None
            (need,) = _unpack_header(buffer, start)
            if need == 0:
                return self._fail(EmptyFrame("frame length 0"))
            if need > self._max:
                return self._fail(FrameTooLarge(f"frame of {need} bytes; the limit is {self._max}"))
            start += HEADER_BYTES
            available -= HEADER_BYTES
            self._start = start
            self._need = need
        if available < need:
            self._end_of_data(available)
            return None
        end = start + need
        payload = bytes(buffer[start:end])
        self._start = end
        self._need = -1
        if end == len(buffer):
            buffer.clear()
            self._start = 0
        return payload

    def _end_of_data(self, available: int) -> None:
        if self._eof and (available or self._need >= 0):
            self._fail(EmptyFrame("the stream ended inside a frame"))

    def _fail(self, error: FramingError) -> NoReturn:
        self._error = error
        self._buffer = bytearray()
        self._start = 0
        raise error
