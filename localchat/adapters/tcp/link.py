"""One TCP connection as the threaded transport holds it.

Two threads touch a link. The I/O thread owns the socket's reading side, the sans-IO
:class:`~localchat.adapters.wire.connection.ServerConnection` and the selector registration.
The dispatcher thread appends encoded events to :attr:`TcpLink.batch` (no lock: only it
does) and, once per dispatcher batch, sends them. Bytes the kernel would not take wait in
:attr:`TcpLink.unsent`, guarded by :attr:`TcpLink.lock`, until the I/O thread sees the
socket writable.
"""

from __future__ import annotations

import enum
import socket
import threading

from localchat.adapters.tls.channel import TlsChannel
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
        "lock",
        "mask",
        "peer",
        "pending",
        "session",
        "sock",
        "state",
        "stream_cut",
        "tls",
        "unsent",
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
        self.dead = False
        """Set when no more output may be queued (closed, failed, overflowed)."""
        self.state = LinkState.OPEN
        self.deadline = 0.0
        """When DRAINING or LINGERING must give up."""
        self.mask = 0
        """Selector events currently registered (I/O thread only)."""
        self.pending = True
        """Not registered yet: counts against the transport's ``max_pending``."""
        self.tls = tls
        """The TLS session (None for plain TCP, and once a plain client was detected)."""
        self.stream_cut = False
        """Unsent bytes were thrown away: the stream may end inside a frame or TLS record."""

    def __repr__(self) -> str:
        return f"<TcpLink {self.session} {self.peer} {self.state.value}>"

    def send_now(self, data: bytes | bytearray) -> bool:
        """Queue ``data`` behind anything unsent and send what the kernel takes.

        Must hold :attr:`lock`. With TLS, ``data`` is encrypted first (and dropped if the
        handshake is not complete: nothing may be said before it). Returns False if the
        connection failed; raises nothing.
        """
        tls = self.tls
        if tls is not None:
            if not tls.established:
                return True
            data = tls.encrypt(data)
        return self.send_wire(data)

    def enqueue(self, data: bytes | bytearray) -> None:
        """Add ``data`` to :attr:`unsent` without trying the socket (under :attr:`lock`)."""
        tls = self.tls
        if tls is not None:
            if not tls.established:
                return
            data = tls.encrypt(data)
        self.unsent += data

    def discard_unsent(self) -> None:
        """Throw away what the kernel has not taken (under :attr:`lock`)."""
        if self.unsent:
            self.stream_cut = True
            self.unsent.clear()

    def send_last_words(self, frame: bytes) -> None:
        """Best effort, before a close: send ``frame`` if the stream can still carry it."""
        if self.stream_cut and self.tls is not None:
            return  # a cut TLS record would make the client drop the whole stream anyway
        self.send_now(frame)

    def send_wire(self, data: bytes | bytearray) -> bool:
        """Send bytes as they go on the wire (ciphertext with TLS); see :meth:`send_now`."""
        try:
            if self.unsent:
                self.unsent += data
                sent = self.sock.send(self.unsent)
                del self.unsent[:sent]
            elif data:
                sent = self.sock.send(data)
                if sent < len(data):
                    self.unsent += memoryview(data)[sent:]
        except BlockingIOError:
            if not self.unsent:
                self.unsent += data
        except OSError:
            self.dead = True
            return False
        return True
