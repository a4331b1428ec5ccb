"""The server side of one connection, sans-IO: frames in, commands and reply frames out.

Every native transport (threaded TCP today, asyncio or TLS later) drives a
:class:`ServerConnection` with bytes, EOF and the time, and does what it asks: submit the
commands it produced, send the frames it produced, stop reading while it is paused, close
when it is closing. It implements the per-connection rules of PROTOCOL.md:

* ``hello`` first; any other type before it is fatal ``not_registered``; before ``welcome``
  every error is fatal; no ``hello`` within ``handshake_timeout`` is fatal.
* After ``hello`` the connection *pauses* until the chat core answers, so a pipelined frame
  behind ``hello`` is judged as the registered session it will belong to (deterministic for
  the client, whatever the timing).
* Payload errors are non-fatal after registration, but the 10th ``bad_message`` /
  ``unknown_type`` in a row is fatal ``too_many_errors``.
* Keep-alive: ``ping`` after ``ping_interval`` of silence; fatal ``timeout`` after
  ``idle_timeout``. ``ping`` from the client is answered with ``pong`` here.
* Answers in request order: the connection's own answers (``pong``, ``bad_message``,
  ``unknown_type``, ``invalid_room``, and fatal errors) go out as :class:`Reply` items in
  line with the commands, so they reach the client after the core's answers to the frames
  sent before them (errors name no request: order is how a client matches them).
* Flood control: a token bucket per connection. A frame without a token waits in the
  decoder, and the transport stops reading until :attr:`resume_at`: delayed, never dropped.

Times are ``time.monotonic()`` seconds, passed in by the transport.
"""

from __future__ import annotations

import enum
import itertools
from dataclasses import dataclass
from typing import cast

from localchat.adapters.wire import packets as p
from localchat.adapters.wire.errors import (
    FramingError,
    HandshakeTimeout,
    IdleTimeout,
    PacketError,
    ProtocolError,
    TooManyErrors,
)
from localchat.adapters.wire.framing import DEFAULT_MAX_FRAME_BYTES, FrameDecoder
from localchat.adapters.wire.schema import (
    error_frame_of,
    parse_client_packet,
    ping_frame,
    pong_frame,
    to_command,
)
from localchat.domain.commands import Disconnect, Quit, Register
from localchat.domain.errors import DomainError, NotRegistered
from localchat.domain.model import LeaveReason
from localchat.ports.transport import Inbound, Reply

MAX_ERRORS_IN_A_ROW = 10


@dataclass(frozen=True, slots=True, kw_only=True)
class ConnectionLimits:
    """Per-connection settings (PROTOCOL.md §2 and §7). A rate of 0 turns flood control off."""

    max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES
    handshake_timeout: float = 10.0
    ping_interval: float = 30.0
    idle_timeout: float = 90.0
    rate_limit: float = 10.0
    rate_burst: int = 20


class Phase(enum.Enum):
    AWAITING_HELLO = "awaiting_hello"
    REGISTERING = "registering"
    REGISTERED = "registered"
    CLOSING = "closing"


class ServerConnection:
    """See the module docstring. Not thread-safe: one transport thread drives it."""

    def __init__(self, limits: ConnectionLimits, now: float) -> None:
        self._limits = limits
        self._decoder = FrameDecoder(limits.max_frame_bytes)
        self.phase = Phase.AWAITING_HELLO
        self._commands: list[Inbound] = []
        self._output: list[bytes] = []
        self._errors_in_a_row = 0
        self._opened_at = now
        self._last_heard = now
        self._ping_sent_at: float | None = None
        self._ping_ids = itertools.count(1)
        self._tokens = float(limits.rate_burst)
        self._tokens_at = now
        self.resume_at: float | None = None
        self._held: bytes | None = None
        self._terminated = False
        self.leave_reason: LeaveReason | None = None
        self.peer_gone = False
        """The peer closed or reset the connection: nothing more can be sent."""
        self.error: ProtocolError | DomainError | None = None
        """The fatal error that ended the connection, if any."""
        self.awaiting_close = False
        """The fatal error went to the core as a closing :class:`Reply`: the transport
        closes when that reply comes back, after the answers to every earlier frame."""

    # -- what the transport asks ----------------------------------------------------------------

    @property
    def wants_read(self) -> bool:
        """False while paused (registering, flood control) or closing."""
        return (
            self.phase is not Phase.REGISTERING
            and self.phase is not Phase.CLOSING
            and (self.resume_at is None)
        )

    @property
    def closing(self) -> bool:
        return self.phase is Phase.CLOSING

    def take_commands(self) -> list[Inbound]:
        """Commands for the chat core and in-order replies, in order (and forget them)."""
        commands, self._commands = self._commands, []
        return commands

    def take_output(self) -> bytes:
        """Frames to send now, out of line with the answers (keep-alive pings, and errors
        ended with ``in_order=False``), concatenated (and forget them)."""
        if not self._output:
            return b""
        output = b"".join(self._output)
        self._output = []
        return output

    def next_deadline(self) -> float:
        """When :meth:`tick` must run next at the latest."""
        if self.phase is Phase.AWAITING_HELLO:
            return self._opened_at + self._limits.handshake_timeout
        if self.phase is Phase.CLOSING:
            return float("inf")
        if self._held is not None and self.resume_at is not None:
            return self.resume_at  # nobody is idle while a frame waits for a token
        deadline = self._last_heard + self._limits.idle_timeout
        if self._ping_sent_at is None:
            deadline = min(deadline, self._last_heard + self._limits.ping_interval)
        if self.resume_at is not None:
            deadline = min(deadline, self.resume_at)
        return deadline

    # -- inputs ---------------------------------------------------------------------------------

    def receive_data(self, data: bytes | bytearray | memoryview, now: float) -> None:
        if self.phase is Phase.CLOSING:
            return
        self._last_heard = now
        self._ping_sent_at = None
        self._decoder.receive_data(data)
        self._process(now)

    def connection_lost(self, reason: LeaveReason = LeaveReason.DISCONNECTED) -> None:
        """The transport lost the connection (EOF, reset, write failure, overflow)."""
        self.peer_gone = True
        if self.phase is not Phase.CLOSING:
            self.phase = Phase.CLOSING
            self.leave_reason = reason
        self._terminate(reason)

    def registration_accepted(self, now: float) -> None:
        """The chat core sent ``welcome``: process what waited behind ``hello``."""
        if self.phase is Phase.REGISTERING:
            self.phase = Phase.REGISTERED
            self._last_heard = now
            self._tokens_at = now
            self._process(now)

    def end(
        self,
        error: ProtocolError | DomainError | None,
        reason: LeaveReason,
        *,
        in_order: bool = True,
    ) -> None:
        """End the session from the server side: send ``error`` (if any), then close.

        ``in_order``: the error follows the answers to every frame before it (it goes as a
        closing :class:`Reply`); otherwise it is sent now (a slow consumer, a shutdown).
        """
        if self.phase is Phase.CLOSING:
            return
        self.phase = Phase.CLOSING
        self.leave_reason = reason
        self.error = error
        if error is not None:
            frame = error_frame_of(error, fatal=True)
            if in_order:
                self._commands.append(Reply(frame, closes=True))
                self.awaiting_close = True
            else:
                self._output.append(frame)
        self._terminate(reason)

    def close_quietly(self) -> None:
        """The chat core ended the session (``bye`` answered, fatal error sent): stop reading."""
        self.phase = Phase.CLOSING

    def tick(self, now: float) -> None:
        """Run timers: handshake timeout, keep-alive, idle timeout, end of a flood pause."""
        if self.phase is Phase.AWAITING_HELLO:
            if now - self._opened_at >= self._limits.handshake_timeout:
                self.end(HandshakeTimeout(), LeaveReason.DISCONNECTED)
            return
        if self.phase is not Phase.REGISTERED:
            return
        # A client whose frame waits for a token is not silent; what it sent is unread.
        silent = 0.0 if self._held is not None else now - self._last_heard
        if silent >= self._limits.idle_timeout:
            self.end(IdleTimeout(), LeaveReason.TIMEOUT)
            return
        if silent >= self._limits.ping_interval and self._ping_sent_at is None:
            self._ping_sent_at = now
            self._output.append(ping_frame(next(self._ping_ids)))
        if self.resume_at is not None and now >= self.resume_at:
            self.resume_at = None
            self._process(now)

    # -- internals ------------------------------------------------------------------------------

    def _terminate(self, reason: LeaveReason) -> None:
        """Tell the core the session ended, exactly once (``bye`` counts as the end)."""
        if not self._terminated:
            self._terminated = True
            self._commands.append(Disconnect(reason=reason))

    def _take_token(self, now: float) -> bool:
        rate = self._limits.rate_limit
        if rate <= 0:
            return True
        tokens = min(float(self._limits.rate_burst), self._tokens + (now - self._tokens_at) * rate)
        self._tokens_at = now
        if tokens >= 1.0:
            self._tokens = tokens - 1.0
            return True
        self._tokens = tokens
        self.resume_at = now + (1.0 - tokens) / rate
        return False

    def _process(self, now: float) -> None:
        decoder = self._decoder
        while self.phase is Phase.AWAITING_HELLO or self.phase is Phase.REGISTERED:
            if self.resume_at is not None:
                return
            payload = self._held
            if payload is None:
                try:
                    payload = decoder.next_frame()
                except FramingError as error:
                    self.end(error, LeaveReason.DISCONNECTED)
                    return
                if payload is None:
                    return
            if self.phase is Phase.REGISTERED:
                if not self._take_token(now):
                    self._held = payload  # delayed, never dropped
                    return
                self._held = None
                # A frame flood control held back counts as heard when it is processed:
                # a client metered out for longer than idle_timeout is not silent.
                self._last_heard = now
                self._ping_sent_at = None
                self._registered_frame(payload)
            else:
                self._first_frame(payload)

    def _first_frame(self, payload: bytes) -> None:
        try:
            packet = parse_client_packet(payload)
        except PacketError as error:
            self.end(error, LeaveReason.DISCONNECTED)  # sent with fatal: true
            return
        if not isinstance(packet, p.Hello):
            self.end(NotRegistered(), LeaveReason.DISCONNECTED)
            return
        self.phase = Phase.REGISTERING
        self._commands.append(cast(Register, to_command(packet)))  # hello is always Register

    def _registered_frame(self, payload: bytes) -> None:
        try:
            packet = parse_client_packet(payload)
        except PacketError as error:
            self._errors_in_a_row += 1
            if self._errors_in_a_row >= MAX_ERRORS_IN_A_ROW:
                self.end(TooManyErrors(), LeaveReason.DISCONNECTED)
            else:
                self._commands.append(Reply(error_frame_of(error)))
            return
        self._errors_in_a_row = 0
        try:
            command = to_command(packet)
        except DomainError as error:
            self._commands.append(Reply(error_frame_of(error)))
            return
        if isinstance(command, p.Ping):
            self._commands.append(Reply(pong_frame(command.id)))
        elif isinstance(command, p.Pong):
            pass
        else:
            self._commands.append(command)
            if isinstance(command, Quit):
                self._terminated = True
                self.phase = Phase.CLOSING
