"""A small synchronous client for LocalChat protocol 1 over TCP.

Used by the Tk client, the tests and the benchmark; usable by any script::

    with ChatClient.connect("127.0.0.1", 5050, name="ada") as chat:
        chat.say("hello")
        for packet in chat.packets(timeout=1.0):
            print(packet)

:meth:`ChatClient.receive` answers the server's ``ping`` by itself. Sending is thread-safe,
so one thread may block in :meth:`receive` while another sends.

TLS with trust on first use (servers are self-signed; the person compares fingerprints)::

    trust = TlsTrust(known_servers=user_known_servers(), advertised=fingerprint_from_mdns)
    try:
        chat = ChatClient.connect(host, port, name="ada", tls=trust)
    except UnknownServer as unknown:      # first contact: show unknown.fingerprint (and
        ...                               # unknown.advertised), and if the person accepts:
        trust.known_servers.pin(unknown.address, unknown.fingerprint)   # then connect again
    except ServerIdentityChanged as changed:   # refuse; say it loudly (str(changed))

OpenSSL runs over memory buffers (:class:`~localchat.adapters.tls.channel.TlsChannel`), used
under one lock by the sending threads and the reading thread, so they never meet inside
OpenSSL.
"""

from __future__ import annotations

import ipaddress
import selectors
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from localchat.adapters.tls.channel import TlsChannel, client_context, looks_like_tls
from localchat.adapters.tls.fingerprint import Fingerprint
from localchat.adapters.tls.known_servers import KnownServers, ServerAddress, forget_command
from localchat.adapters.wire import packets as p
from localchat.adapters.wire.errors import ProtocolError, ShuttingDown
from localchat.adapters.wire.framing import FrameDecoder
from localchat.adapters.wire.schema import ServerPacket, encode_packet, parse_server_packet
from localchat.domain.errors import ServerFull
from localchat.domain.protocol import PROTOCOL_VERSION

CLIENT_MAX_FRAME_BYTES = 16 * 1024 * 1024
"""Server frames up to this size are accepted (user lists of big rooms exceed 64 KiB)."""
PLAIN_ANSWER_SECONDS = 1.0
"""How long to wait for the rest of a plain-text answer to our TLS ClientHello."""
REFUSALS_WITHOUT_TLS = frozenset({ServerFull.code, ShuttingDown.code})
"""Codes a TLS server may send in plain text before any handshake (no room for one)."""

_Selector = getattr(selectors, "PollSelector", selectors.SelectSelector)
"""poll(2) where there is one: no descriptor of its own, no FD_SETSIZE limit."""


class ClientError(Exception):
    """Base of what the client library raises."""


class ConnectionClosed(ClientError):
    """The server closed the connection (or it broke)."""


class ServerRefused(ClientError):
    """The server answered ``hello`` (or anything) with a fatal error."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class TlsFailed(ClientError):
    """The TLS handshake failed (or TLS broke later)."""


class NotTlsServer(ClientError):
    """We asked for TLS; the server answered in plain LocalChat (it runs with --no-tls)."""

    def __init__(self, address: ServerAddress, said: str) -> None:
        super().__init__(
            f"the server at {address} does not speak TLS (it answered in plain text: {said}). "
            "It runs without encryption (--no-tls); connect without TLS only on a network "
            "you trust."
        )
        self.address = address


class UntrustedServer(ClientError):
    """The server's certificate is not (or no longer) the one trusted for its address."""

    def __init__(self, message: str, address: ServerAddress, fingerprint: Fingerprint) -> None:
        super().__init__(message)
        self.address = address
        self.fingerprint = fingerprint
        """What the server presented this time."""


class UnknownServer(UntrustedServer):
    """First contact: nothing is pinned for this address. Show :attr:`fingerprint` to the
    person (with :attr:`advertised`, the one announced on the network, when known); if they
    accept, pin it (``KnownServers.pin``) and connect again."""

    def __init__(
        self, address: ServerAddress, fingerprint: Fingerprint, advertised: Fingerprint | None
    ) -> None:
        if advertised is None:
            note = "Compare it with the fingerprint the server printed when it started."
        elif advertised == fingerprint:
            note = "It matches the fingerprint the server announced on the network."
        else:
            note = (
                f"WARNING: it does NOT match the fingerprint announced on the network "
                f"({advertised}): someone may be impersonating the server."
            )
        super().__init__(
            f"first connection to {address}: its certificate fingerprint is {fingerprint}. {note}",
            address,
            fingerprint,
        )
        self.advertised = advertised

    @property
    def matches_advertisement(self) -> bool | None:
        """True/False when the server was also announced with a fingerprint, else None."""
        return None if self.advertised is None else self.advertised == self.fingerprint


class ServerIdentityChanged(UntrustedServer):
    """The fingerprint differs from the one pinned for this address: refuse to talk."""

    def __init__(
        self, address: ServerAddress, pinned: Fingerprint, fingerprint: Fingerprint
    ) -> None:
        super().__init__(
            f"WARNING: this is NOT the certificate pinned for {address}: its certificate HAS "
            "CHANGED. Someone may be intercepting this connection, or the server got a new "
            f"certificate. Trusted: {pinned}; presented now: {fingerprint}. Refused. If the "
            f"operator confirms the new certificate, run: {forget_command(address)}",
            address,
            fingerprint,
        )
        self.pinned = pinned


@dataclass(frozen=True, slots=True, kw_only=True)
class TlsTrust:
    """Which certificates a TLS connection accepts: the ones pinned in ``known_servers``.

    ``advertised`` is the fingerprint the server announced by mDNS, shown beside the
    presented one on first contact. ``accept_new`` pins an unknown server without asking
    (for scripts), but never one whose fingerprint contradicts the advertised one.
    """

    known_servers: KnownServers
    advertised: Fingerprint | None = None
    accept_new: bool = False

    def check(self, address: ServerAddress, presented: Fingerprint) -> bool:
        """Raise :class:`UntrustedServer` unless ``presented`` is trusted; True if newly pinned."""
        pinned = self.known_servers.get(address)
        if pinned is not None:
            if pinned != presented:
                raise ServerIdentityChanged(address, pinned, presented)
            return False
        if self.accept_new and self.advertised in (None, presented):
            self.known_servers.pin(address, presented)
            return True
        raise UnknownServer(address, presented, self.advertised)


class ChatClient:
    """One connection to a LocalChat server."""

    def __init__(self, sock: socket.socket) -> None:
        # The socket stays blocking: receive() keeps its deadline with poll, because a
        # socket timeout, shared by both directions, would also cut short a send blocked
        # in another thread (leaving half a frame on the wire).
        sock.settimeout(None)
        self._sock = sock
        self._readable = _Selector()
        self._readable.register(sock, selectors.EVENT_READ)
        self._decoder = FrameDecoder(CLIENT_MAX_FRAME_BYTES)
        self._send_lock = threading.Lock()
        self._tls: TlsChannel | None = None
        self._tls_lock = threading.Lock()
        self._closed = False
        self._eof = False
        self.welcome: p.Welcome | None = None
        self.fingerprint: Fingerprint | None = None
        """The server's certificate fingerprint (TLS only)."""
        self.newly_pinned = False
        """This connection pinned the server's fingerprint (first use, ``accept_new``)."""

    # -- opening --------------------------------------------------------------------------------

    @classmethod
    def open(
        cls, host: str, port: int, *, timeout: float = 5.0, tls: TlsTrust | None = None
    ) -> ChatClient:
        """A connection with no ``hello`` sent yet (for tests and custom handshakes).

        With ``tls``, the TLS handshake is done and the certificate checked against it:
        raises :class:`UntrustedServer` (:class:`UnknownServer`,
        :class:`ServerIdentityChanged`), :class:`NotTlsServer`, :class:`TlsFailed`.
        """
        sock = socket.create_connection((host, port), timeout=timeout)
        client = cls(sock)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if tls is not None:
                address = ServerAddress.of(host, port)
                client.fingerprint = client._start_tls(address, timeout)
                client.newly_pinned = tls.check(address, client.fingerprint)
        except BaseException:
            client.close()
            raise
        return client

    @classmethod
    def server_fingerprint(cls, host: str, port: int, *, timeout: float = 5.0) -> Fingerprint:
        """Handshake with a TLS server and return its fingerprint, trusting nothing."""
        client = cls(socket.create_connection((host, port), timeout=timeout))
        try:
            return client._start_tls(ServerAddress.of(host, port), timeout)
        finally:
            client.close()

    @classmethod
    def connect(
        cls,
        host: str,
        port: int,
        *,
        name: str,
        password: str | None = None,
        timeout: float = 5.0,
        tls: TlsTrust | None = None,
    ) -> ChatClient:
        """Connect (over TLS with ``tls``; see :meth:`open`) and register; raises
        :class:`ServerRefused` (e.g. ``name_taken``), :class:`ConnectionClosed`,
        ``TimeoutError`` or ``OSError``."""
        client = cls.open(host, port, timeout=timeout, tls=tls)
        try:
            client.hello(name, password=password, timeout=timeout)
        except BaseException:
            client.close()
            raise
        return client

    def hello(self, name: str, *, password: str | None = None, timeout: float = 5.0) -> p.Welcome:
        """Send ``hello`` and wait for ``welcome``."""
        self.send(p.Hello(name=name, protocol=PROTOCOL_VERSION, password=password))
        deadline = time.monotonic() + timeout
        while True:
            packet = self.receive(timeout=max(0.0, deadline - time.monotonic()))
            if isinstance(packet, p.Welcome):
                self.welcome = packet
                return packet
            if isinstance(packet, p.Error) and packet.fatal:
                raise ServerRefused(packet.code, packet.message)

    # -- sending --------------------------------------------------------------------------------

    def send(self, packet: p.Packet) -> None:
        self.send_raw(encode_packet(packet))

    def send_raw(self, data: bytes) -> None:
        """Send frame bytes as they are, encrypted with TLS (tests send broken frames)."""
        with self._send_lock:
            if self._tls is not None:
                with self._tls_lock:
                    data = self._tls.encrypt(data)
            try:
                self._sock.sendall(data)
            except OSError as error:
                raise ConnectionClosed(f"cannot send: {error}") from error

    def say(self, text: str, room: str = "#lobby") -> None:
        self.send(p.Say(text=text, room=room))

    def join(self, room: str) -> None:
        self.send(p.Join(room=room))

    def leave(self, room: str) -> None:
        self.send(p.Leave(room=room))

    def list_users(self, room: str = "#lobby") -> None:
        self.send(p.ListUsers(room=room))

    def list_rooms(self) -> None:
        self.send(p.ListRooms())

    def direct(self, to: str, text: str) -> None:
        self.send(p.Direct(to=to, text=text))

    def history(self, room: str, *, before: int | None = None, limit: int = 50) -> None:
        self.send(p.History(room=room, before=before, limit=limit))

    def ping(self, ping_id: Any = None) -> None:
        self.send(p.Ping(id=ping_id))

    def bye(self) -> None:
        self.send(p.Bye())

    # -- receiving ------------------------------------------------------------------------------

    def receive(self, timeout: float | None = None) -> ServerPacket:
        """The next packet (server pings are answered here, not returned).

        Raises ``TimeoutError``, :class:`ConnectionClosed`, or a
        :class:`~localchat.adapters.wire.errors.ProtocolError` if the server breaks the protocol.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            payload = self._decoder.next_frame()
            if payload is not None:
                packet = parse_server_packet(payload)
                if isinstance(packet, p.Ping):
                    self.send(p.Pong(id=packet.id))
                    continue
                return packet
            self._read(deadline)

    def packets(self, timeout: float) -> Iterator[ServerPacket]:
        """Packets until none arrives for ``timeout`` seconds or the connection closes."""
        while True:
            try:
                yield self.receive(timeout=timeout)
            except (TimeoutError, ConnectionClosed):
                return

    def _read(self, deadline: float | None) -> None:
        if self._eof:
            raise ConnectionClosed("the server closed the connection")
        if self._closed:
            raise ConnectionClosed("the client closed the connection")
        if deadline is not None:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not self._readable.select(remaining):
                raise TimeoutError("no packet in time")
        try:
            data = self._sock.recv(65_536)
        except OSError as error:
            raise ConnectionClosed(f"connection lost: {error}") from error
        if not data:
            self._eof = True
            raise ConnectionClosed("the server closed the connection")
        if self._tls is not None:
            data = self._decrypt(self._tls, data)
        self._decoder.receive_data(data)

    def _decrypt(self, tls: TlsChannel, data: bytes) -> bytes:
        with self._tls_lock:
            try:
                plaintext = tls.receive(data)
            except ssl.SSLError as error:
                self._eof = True
                raise ConnectionClosed(f"TLS failed: {error.reason or error}") from error
            answer = tls.has_output
        if answer:  # e.g. a TLS 1.3 key update: send it in order with our own records
            self.send_raw(b"")
        if tls.peer_closed:
            self._eof = True
        return plaintext

    # -- TLS ------------------------------------------------------------------------------------

    def _start_tls(self, address: ServerAddress, timeout: float) -> Fingerprint:
        """Do the TLS handshake (before any other thread uses this client)."""
        sock = self._sock
        server_hostname: str | None = address.host  # SNI, for names only
        try:
            ipaddress.ip_address(address.host)
            server_hostname = None
        except ValueError:
            pass
        channel = TlsChannel(client_context(), server_side=False, server_hostname=server_hostname)
        deadline = time.monotonic() + timeout
        first = True
        try:
            sock.sendall(channel.start())
            while not channel.established:
                sock.settimeout(max(0.001, deadline - time.monotonic()))
                data = sock.recv(65_536)
                if not data:
                    raise TlsFailed(f"{address} closed the connection during the TLS handshake")
                if first and not looks_like_tls(data[0]):
                    raise self._plain_answer(address, data)
                first = False
                self._decoder.receive_data(channel.receive(data))
                output = channel.take_output()
                if output:
                    sock.sendall(output)
        except TimeoutError:
            raise TimeoutError(f"no TLS handshake from {address} in {timeout:g} s") from None
        except ssl.SSLError as error:
            raise TlsFailed(
                f"TLS handshake with {address} failed: {error.reason or error}"
            ) from None
        except OSError as error:
            raise ConnectionClosed(f"connection to {address} lost: {error}") from error
        finally:
            sock.settimeout(None)  # blocking again: receive() keeps deadlines with poll
        fingerprint = channel.peer_fingerprint()
        if fingerprint is None:  # pragma: no cover - a TLS server always sends a certificate
            raise TlsFailed(f"{address} presented no certificate")
        self._tls = channel
        return fingerprint

    def _plain_answer(self, address: ServerAddress, data: bytes) -> ClientError:
        """The server answered our ClientHello with plain LocalChat frames: say what it said."""
        decoder = FrameDecoder(CLIENT_MAX_FRAME_BYTES)
        decoder.receive_data(data)
        deadline = time.monotonic() + PLAIN_ANSWER_SECONDS
        said = "nothing readable"
        try:
            while True:
                payload = decoder.next_frame()
                if payload is not None:
                    packet = parse_server_packet(payload)
                    if isinstance(packet, p.Error):
                        if packet.code in REFUSALS_WITHOUT_TLS:
                            return ServerRefused(packet.code, packet.message)
                        said = f"{packet.code}: {packet.message}"
                    break
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._sock.settimeout(remaining)
                more = self._sock.recv(65_536)
                if not more:
                    break
                decoder.receive_data(more)
        except (OSError, ProtocolError):
            pass
        return NotTlsServer(address, said)

    # -- closing --------------------------------------------------------------------------------

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._sock.close()

    def __enter__(self) -> ChatClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if not self._closed:
            try:
                self.bye()
            except ClientError:
                pass
        self.close()
