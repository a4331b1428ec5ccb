"""Protocol errors: what can go wrong on the wire, each with its stable code.

::

    ProtocolError
    ├── FramingError              fatal: the byte stream can no longer be trusted
    │   ├── EmptyFrame            bad_frame        (length 0, or EOF inside a frame)
    │   └── FrameTooLarge         frame_too_large  (length > max_frame, seen on the header)
    ├── PacketError               non-fatal: the frame boundary is intact
    │   ├── MalformedPacket       bad_message
    │   └── UnknownPacketType     unknown_type
    └── ConnectionEnded           fatal: the server ends the connection
        ├── TooManyErrors         too_many_errors
        ├── HandshakeTimeout      handshake_timeout
        ├── IdleTimeout           timeout
        ├── SlowConsumer          slow_consumer
        ├── ShuttingDown          shutting_down
        └── TlsRequired           tls_required (a plain frame on a TLS port)

Decoding raises nothing but these. ``message`` is for people; programs match on ``code``.
"""

from __future__ import annotations

from typing import ClassVar


class ProtocolError(Exception):
    code: ClassVar[str] = "protocol_error"
    fatal: ClassVar[bool] = True
    default_message: ClassVar[str] = "protocol error"

    def __init__(self, message: str | None = None) -> None:
        self.message = message or self.default_message
        super().__init__(self.message)


class FramingError(ProtocolError):
    """The framing is broken; the connection must close."""


class EmptyFrame(FramingError):
    code = "bad_frame"
    default_message = "a frame must hold 1 byte or more"


class FrameTooLarge(FramingError):
    code = "frame_too_large"
    default_message = "the frame is larger than the server accepts"


class PacketError(ProtocolError):
    """One frame's payload is unusable; the next frame may be fine."""

    fatal = False


class MalformedPacket(PacketError):
    code = "bad_message"
    default_message = "the payload is not a valid message"


class UnknownPacketType(PacketError):
    code = "unknown_type"
    default_message = "this server does not know that message type"


class ConnectionEnded(ProtocolError):
    """The server ends the connection for a reason of its own."""


class TooManyErrors(ConnectionEnded):
    code = "too_many_errors"
    default_message = "too many bad messages in a row"


class HandshakeTimeout(ConnectionEnded):
    code = "handshake_timeout"
    default_message = "no hello in time"


class IdleTimeout(ConnectionEnded):
    code = "timeout"
    default_message = "nothing heard from the client in time"


class SlowConsumer(ConnectionEnded):
    code = "slow_consumer"
    default_message = "the client reads too slowly; its outbound buffer overflowed"


class ShuttingDown(ConnectionEnded):
    code = "shutting_down"
    default_message = "the server is shutting down"


class TlsRequired(ConnectionEnded):
    """Sent in plain text to a client that spoke plain TCP to a TLS port, so that it can
    say why instead of hanging in a handshake that never starts."""

    code = "tls_required"
    default_message = (
        "this server requires TLS: connect with TLS, "
        "or ask the operator to run the server with --no-tls"
    )
