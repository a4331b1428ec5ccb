"""One TCP connection as the threaded transport holds it.

Two threads touch a link. The I/O thread owns the socket's reading side, the sans-IO
:class:`~localchat.adapters.wire.connection.ServerConnection` and the selector registration.
The dispatcher thread appends encoded events to :attr:`TcpLink.batch` (no lock: only it
does) and, once per dispatcher batch, sends them. Bytes the kernel would not take wait in
:attr:`TcpLink.unsent`, guarded by :attr:`TcpLink.lock`, until the I/O thread sees the
socket writable.

:attr:`TcpLink.head` remembers where the first whole frame in ``unsent`` starts: when a
slow client is dropped, everything queued is discarded except the end of the frame it has
started to receive, so the ``slow_consumer`` error that follows starts on a frame boundary
(otherwise the client would read it as part of a cut frame: garbage).
"""

from __future__ import annotations

import enum
import socket
import struct
import threading

from localchat.adapters.wire.connection import ServerConnection
from localchat.domain.model import SessionId


class LinkState(enum.Enum):
    OPEN = "open"
    DRAINING = "draining"  # closing: sending what is queued, then shutdown(SHUT_WR)
    LINGERING = "lingering"  # FIN sent: reading and discarding until the peer's FIN
    CLOSED = "closed"


class TcpLink:
    __slots__ = (
        "batch",
        "conn",
        "dead",
        "deadline",
        "head",
        "lock",
        "mask",
        "peer",
        "pending",
        "session",
        "sock",
        "state",
        "unsent",
        "welcomed",
    )

    def __init__(
        self, session: SessionId, sock: socket.socket, peer: str, conn: ServerConnection
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
        """How many bytes at the front of :attr:`unsent` end a frame already partly sent."""
        self.dead = False
        """Set when no more output may be queued (closed, failed, overflowed)."""
        self.state = LinkState.OPEN
        self.deadline = 0.0
        """When DRAINING or LINGERING must give up."""
        self.mask = 0
        """Selector events currently registered (I/O thread only)."""
        self.pending = True
        """Not registered yet: counts against the transport's ``max_pending``."""
        self.welcomed = False
        """Set by the dispatcher thread when it queues ``welcome`` (I/O thread reads it)."""

    def __repr__(self) -> str:
        return f"<TcpLink {self.session} {self.peer} {self.state.value}>"

    def send_now(self, data: bytes | bytearray) -> bool:
        """Queue ``data`` behind anything unsent and send what the kernel takes.

        Must hold :attr:`lock`. Returns False if the connection failed; raises nothing.
        """
        try:
            if self.unsent:
                self.unsent += data
                sent = self.sock.send(self.unsent)
                self.head = _partial_frame_left(self.unsent, self.head, sent)
                del self.unsent[:sent]
            else:
                sent = self.sock.send(data)
                if sent < len(data):
                    self.head = _partial_frame_left(data, 0, sent)
                    self.unsent += memoryview(data)[sent:]
        except BlockingIOError:
            if not self.unsent:
                self.unsent += data
        except OSError:
            self.dead = True
            return False
        return True

    def keep_partial_frame(self) -> None:
        """Discard what is unsent, except the end of the frame the peer has started to get.

        Must hold :attr:`lock`. Whatever is queued next starts on a frame boundary.
        """
        del self.unsent[self.head :]


_unpack_length = struct.Struct(">I").unpack_from


def _partial_frame_left(buffer: bytes | bytearray, head: int, sent: int) -> int:
    """``buffer`` holds ``head`` bytes ending a frame, then whole frames; after its first
    ``sent`` bytes went out, how many bytes of a partly sent frame remain at the front?

    Walks only the frame headers that were sent: this runs on partial sends alone.
    """
    if sent <= head:
        return head - sent
    position = head
    while position < sent:
        (length,) = _unpack_length(buffer, position)
        position += 4 + length
    return position - sent
