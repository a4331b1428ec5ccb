"""A small synchronous client for LocalChat protocol 1 over TCP.

Used by the Tk client, the tests and the benchmark; usable by any script::

    with ChatClient.connect("127.0.0.1", 5050, name="ada") as chat:
        chat.say("hello")
        for packet in chat.packets(timeout=1.0):
            print(packet)

:meth:`ChatClient.receive` answers the server's ``ping`` by itself. Sending is thread-safe,
so one thread may block in :meth:`receive` while another sends.
"""

from __future__ import annotations

import selectors
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

from localchat.adapters.wire import packets as p
from localchat.adapters.wire.framing import FrameDecoder
from localchat.adapters.wire.schema import ServerPacket, encode_packet, parse_server_packet

PROTOCOL_VERSION = 1
CLIENT_MAX_FRAME_BYTES = 16 * 1024 * 1024
"""Server frames up to this size are accepted (user lists of big rooms exceed 64 KiB)."""

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
        self._closed = False
        self._eof = False
        self.welcome: p.Welcome | None = None

    # -- opening --------------------------------------------------------------------------------

    @classmethod
    def open(cls, host: str, port: int, *, timeout: float = 5.0) -> ChatClient:
        """A TCP connection with no ``hello`` sent yet (for tests and custom handshakes)."""
        sock = socket.create_connection((host, port), timeout=timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return cls(sock)

    @classmethod
    def connect(
        cls,
        host: str,
        port: int,
        *,
        name: str,
        password: str | None = None,
        timeout: float = 5.0,
    ) -> ChatClient:
        """Connect and register; raises :class:`ServerRefused` (e.g. ``name_taken``),
        :class:`ConnectionClosed`, ``TimeoutError`` or ``OSError``."""
        client = cls.open(host, port, timeout=timeout)
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
        """Send bytes as they are (tests use this to send broken frames)."""
        with self._send_lock:
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
        self._decoder.receive_data(data)

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
