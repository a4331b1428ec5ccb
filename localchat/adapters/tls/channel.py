"""TLS over memory buffers: ciphertext in, plaintext out, and back (no sockets, no threads).

Why not ``ssl.SSLSocket``: an OpenSSL connection is not safe to read and write from two
threads at once, and the threaded transport reads on its I/O thread while the dispatcher
thread writes. With :class:`ssl.MemoryBIO` the socket stays an ordinary non-blocking socket
that each side already knows how to drive, and the caller guards a :class:`TlsChannel` with
the lock it already holds around its output buffer. The handshake never blocks: it moves on
as bytes arrive.

Every call that can produce TLS records (:meth:`receive`, :meth:`encrypt`,
:meth:`close_notify`) leaves them in one FIFO buffer, so ciphertext leaves in exactly the
order OpenSSL made it, as long as the caller sends what :meth:`encrypt` and
:meth:`take_output` return in the order it got it.
"""

from __future__ import annotations

import ssl

from localchat.adapters.tls.fingerprint import Fingerprint

TLS_HANDSHAKE_RECORD = 0x16
TLS_ALERT_RECORD = 0x15
READ_BYTES = 65_536


def server_context(cert_file: str, key_file: str) -> ssl.SSLContext:
    """TLS 1.2 or later, no session tickets (nobody resumes; they only cost bytes)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.options |= ssl.OP_NO_TICKET | ssl.OP_NO_RENEGOTIATION
    context.num_tickets = 0
    context.load_cert_chain(cert_file, key_file)
    return context


def client_context() -> ssl.SSLContext:
    """TLS 1.2 or later. The certificate chain is not checked against authorities: LAN
    servers are self-signed, and the caller pins the fingerprint instead (trust on first
    use), which it must check after the handshake."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def looks_like_tls(first_byte: int) -> bool:
    """Whether a stream's first byte can start a TLS record a peer sends first.

    A LocalChat frame starts with a big-endian length, so its first byte is 0 for any frame
    under 16 MiB: the two never meet.
    """
    return first_byte in (TLS_HANDSHAKE_RECORD, TLS_ALERT_RECORD)


class TlsChannel:
    """One TLS connection, sans-IO. Not thread-safe: the caller serialises every call."""

    __slots__ = ("_incoming", "_outgoing", "_tls", "established", "peer_closed", "received_any")

    def __init__(
        self, context: ssl.SSLContext, *, server_side: bool, server_hostname: str | None = None
    ) -> None:
        self._incoming = ssl.MemoryBIO()
        self._outgoing = ssl.MemoryBIO()
        self._tls = context.wrap_bio(
            self._incoming,
            self._outgoing,
            server_side=server_side,
            server_hostname=None if server_side else server_hostname,
        )
        self.established = False
        """The handshake is complete: application data may flow."""
        self.peer_closed = False
        """The peer sent close_notify: no more data will come."""
        self.received_any = False
        """Some bytes arrived (the first byte tells TLS from a plain LocalChat frame)."""

    def start(self) -> bytes:
        """Client side: the ClientHello to send first."""
        self._advance_handshake()
        return self._outgoing.read()

    def receive(self, data: bytes | bytearray | memoryview) -> bytes:
        """Feed ciphertext; return the plaintext it completes (maybe nothing).

        Records to send back (handshake, alerts) wait in :meth:`take_output`. Raises
        :class:`ssl.SSLError` if the peer breaks TLS (the connection is then unusable).
        """
        self.received_any = True
        self._incoming.write(data)
        if not self.established and not self._advance_handshake():
            return b""
        chunks: list[bytes] = []
        incoming = self._incoming
        tls = self._tls
        # One read per record; stop when everything fed is consumed, so the usual case
        # (whole records) costs no SSLWantReadError, which is slow to raise.
        while incoming.pending or tls.pending():
            try:
                chunk = tls.read(READ_BYTES)
            except ssl.SSLWantReadError:
                break
            except ssl.SSLZeroReturnError:
                self.peer_closed = True
                break
            if not chunk:  # what SSLObject.read returns after the peer's close_notify
                self.peer_closed = True
                break
            chunks.append(chunk)
        if not chunks:
            return b""
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    def encrypt(self, data: bytes | bytearray | memoryview) -> bytes:
        """Application data as TLS records, behind any record still waiting to be sent.

        Only once :attr:`established`. A memory buffer always takes the whole write.
        """
        if data:
            self._tls.write(data)
        return self._outgoing.read()

    def take_output(self) -> bytes:
        """Records waiting to be sent (handshake messages, alerts, close_notify)."""
        return self._outgoing.read()

    @property
    def has_output(self) -> bool:
        return self._outgoing.pending > 0

    def close_notify(self) -> bytes:
        """Our close_notify alert, to send before closing (best effort)."""
        if self.established:
            try:
                self._tls.unwrap()
            except (ssl.SSLWantReadError, ssl.SSLError):
                pass
        return self._outgoing.read()

    def peer_fingerprint(self) -> Fingerprint | None:
        """The fingerprint of the certificate the peer presented, once established."""
        der = self._tls.getpeercert(binary_form=True) if self.established else None
        return None if der is None else Fingerprint.of_certificate(der)

    @property
    def version(self) -> str | None:
        return self._tls.version()

    def _advance_handshake(self) -> bool:
        try:
            self._tls.do_handshake()
        except ssl.SSLWantReadError:
            return False
        self.established = True
        return True
