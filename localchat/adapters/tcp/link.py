"""One TCP connection as the threaded transport holds it.

Two threads touch a link. The I/O thread owns the socket's reading side, the sans-IO
:class:`~localchat.adapters.wire.connection.ServerConnection` and the selector registration.
The dispatcher thread appends encoded events to :attr:`TcpLink.batch` (no lock: only it
does) and, once per dispatcher batch, sends them. Bytes the kernel would not take wait in
:attr:`TcpLink.unsent`, guarded by :attr:`TcpLink.lock`, until the I/O thread sees the
socket writable.

:attr:`TcpLink.head` remembers where the first whole unit of ``unsent`` starts (a frame on
plain TCP, a TLS record with TLS): when a slow client is dropped, everything queued is
discarded except the end of the unit it has started to receive, so the ``slow_consumer``
error that follows starts on a boundary (otherwise the client would read it as part of a cut
frame or record: garbage, or a TLS failure).
"""

from __future__ import annotations

import enum
import socket
import struct
import threading
from collections.abc import Callable

from localchat.adapters.tls.channel import TlsChannel
from localchat.adapters.wire.connection import ServerConnection
from localchat.adapters.wire.framing import HEADER_BYTES, declared_length
from localchat.domain.model import SessionId


class LinkState(enum.Enum):
    OPEN = "open"
    FINISHING = "finishing"  # closing: the last answers come back through the dispatcher
    DRAINING = "draining"  # closing: sending what is queued, then shutdown(SHUT_WR)
    LINGERING = "lingering"  # FIN sent: reading and discarding until the peer's FIN
    CLOSED = "closed"


class TcpLink:
    __slots__ = (
        "batch",
        "conn",
        "cut",
        "dead",
        "deadline",
        "head",
        "held",
        "lock",
        "mask",
        "peer",
        "session",
        "sock",
        "state",
        "tls",
        "unsent",
        "welcomed",
    )

    def __init__(
        self,
        session: SessionId,
        sock: socket.socket,
        peer: str,
        conn: ServerConnection,
        tls: TlsChannel | None = None,
    ) -> None:
        self.session = session
        self.sock = sock
        self.peer = peer
        self.conn = conn
        self.lock = threading.Lock()
        self.batch: list[bytes] = []
        """Frames queued by the dispatcher since its last flush (dispatcher thread only)."""
        self.unsent = bytearray()
        """Bytes the kernel has not taken yet (under :attr:`lock`)."""
        self.head = 0
        """How many bytes at the front of :attr:`unsent` end a unit already partly sent."""
        self.cut = False
        """Queued output was thrown away (see :meth:`keep_partial_unit`)."""
        self.dead = False
        """Set when no more output may be queued (closed, failed, overflowed)."""
        self.state = LinkState.OPEN
        self.deadline = 0.0
        """When FINISHING, DRAINING or LINGERING must give up."""
        self.mask = 0
        """Selector events currently registered (I/O thread only)."""
        self.held = False
        """Not read while the dispatcher is overloaded (I/O thread only)."""
        self.welcomed = False
        """Set by the dispatcher thread when it queues ``welcome`` (I/O thread reads it)."""
        self.tls = tls
        """The TLS session (None for plain TCP, and once a plain client was detected)."""

    def __repr__(self) -> str:
        return f"<TcpLink {self.session} {self.peer} {self.state.value}>"

    def send_now(self, data: bytes | bytearray) -> bool:
        """Queue ``data`` behind anything unsent and send what the kernel takes.

        Must hold :attr:`lock`. With TLS, ``data`` is encrypted first (and dropped if the
        handshake is not complete: nothing may be said before it). Returns False if the
        connection failed; raises nothing.
        """
        wire = self._on_the_wire(data)
        return True if wire is None else self.send_wire(wire)

    def enqueue(self, data: bytes | bytearray) -> None:
        """Add ``data`` to :attr:`unsent` without trying the socket (under :attr:`lock`)."""
        wire = self._on_the_wire(data)
        if wire is not None:
            self.unsent += wire

    def _on_the_wire(self, data: bytes | bytearray) -> bytes | bytearray | None:
        """``data`` as it goes on the wire: as it is, or encrypted with TLS; None while the
        TLS handshake is not complete (nothing may be said before it: dropped)."""
        tls = self.tls
        if tls is None:
            return data
        if not tls.established:
            return None
        return tls.encrypt(data)

    def keep_partial_unit(self) -> None:
        """Discard what is unsent, except the end of the frame (or TLS record) the peer has
        started to get. Must hold :attr:`lock`. What is queued next starts on a boundary."""
        if len(self.unsent) > self.head:
            self.cut = True
            del self.unsent[self.head :]

    @property
    def can_say_more(self) -> bool:
        """Whether a frame queued now can still reach the peer intact.

        On plain TCP it can (it starts on a frame boundary). Over TLS, once records were
        thrown away it cannot: TLS numbers records implicitly, so the peer would reject the
        next one as forged.
        """
        return self.tls is None or not self.cut

    def send_wire(self, data: bytes | bytearray) -> bool:
        """Send bytes as they go on the wire (ciphertext with TLS); see :meth:`send_now`."""
        try:
            if self.unsent:
                self.unsent += data
                sent = self.sock.send(self.unsent)
                self.head = self._partial_left(self.unsent, self.head, sent)
                del self.unsent[:sent]
            elif data:
                sent = self.sock.send(data)
                if sent < len(data):
                    self.head = self._partial_left(data, 0, sent)
                    self.unsent += memoryview(data)[sent:]
        except BlockingIOError:
            if not self.unsent:
                self.unsent += data
        except OSError:
            self.dead = True
            return False
        return True

    def _partial_left(self, buffer: bytes | bytearray, head: int, sent: int) -> int:
        if self.tls is None:
            return partial_unit_left(buffer, head, sent, _frame_size)
        return partial_unit_left(buffer, head, sent, _record_size)


_unpack_record_length = struct.Struct(">H").unpack_from


def _frame_size(buffer: bytes | bytearray, position: int) -> int:
    """A LocalChat frame: its header, then the payload it declares."""
    return HEADER_BYTES + declared_length(buffer, position)


def _record_size(buffer: bytes | bytearray, position: int) -> int:
    """A TLS record: type (1), version (2), a 2-byte big-endian length, then the fragment."""
    (length,) = _unpack_record_length(buffer, position + 3)
    return 5 + int(length)


UnitSize = Callable[[bytes | bytearray, int], int]


def partial_unit_left(buffer: bytes | bytearray, head: int, sent: int, unit_size: UnitSize) -> int:
    """``buffer`` holds ``head`` bytes ending a unit, then whole units; after its first
    ``sent`` bytes went out, how many bytes of a partly sent unit remain at the front?

    Walks only the headers of units that were sent: this runs on partial sends alone.
    """
    if sent <= head:
        return head - sent
    position = head
    while position < sent:
        position += unit_size(buffer, position)
    return position - sent
