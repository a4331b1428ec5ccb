"""A :class:`~localchat.ports.session.ChatSession` over TCP that keeps itself connected.

One network thread per session owns the reading side of a
:class:`~localchat.adapters.tcp.client.ChatClient`: it connects, registers, rejoins the rooms
the person was in, turns packets into domain events for the listener, and when the
connection ends it reconnects with capped, jittered exponential backoff. Any thread may
:meth:`TcpChatSession.send` (the client's sends are locked); nothing here touches a GUI.

When to give up is decided here because only here are the failures told apart:

- the very first attempt failing (wrong address, name taken, wrong password) is reported
  with ``retry_in=None``: a person fixes that in the connect dialog, a loop would not;
- after a session has been up, every network failure and fatal server error (restart,
  ``shutting_down``, ``timeout``, ``slow_consumer``) is retried for ever;
- ``name_taken`` on a reconnect is retried a while (the server may still hold our old
  connection until its idle timeout), then given up; ``auth_failed``, ``invalid_name`` and
  ``unsupported_protocol`` are given up at once.

Lines typed while disconnected are the presenter's business (its outbox): :meth:`send`
returns False and the presenter keeps them until the next ``Welcomed``.

TLS (with ``known_servers``): every attempt, reconnects included, starts with TLS and checks
the certificate against the pins (trust on first use). A server the session cannot trust by
itself ends the session with one event, never a retry: an unknown certificate, a changed one
(refused, also on a reconnect), or a server without TLS that the person has not agreed to
use unencrypted (one that had a pinned certificate never is: that is a downgrade). The
person's answers are recorded in ``known_servers`` by the presenter (through
:class:`~localchat.ports.session.ServerTrust`); the next session applies them. Without
``known_servers`` the session speaks plain TCP (servers run with ``--no-tls``).
"""

from __future__ import annotations

import dataclasses
import logging
import random
import socket
import threading
import time

from localchat.adapters.tcp.client import (
    ChatClient,
    ClientError,
    ConnectionClosed,
    NotTlsServer,
    ServerIdentityChanged,
    ServerRefused,
    TlsFailed,
    TlsTrust,
    UnknownServer,
)
from localchat.adapters.tls.fingerprint import Fingerprint, InvalidFingerprint
from localchat.adapters.tls.known_servers import KnownServers
from localchat.adapters.wire import packets as p
from localchat.adapters.wire.client_events import UnreadablePacket, to_event, to_packet
from localchat.adapters.wire.errors import ProtocolError, TlsRequired
from localchat.domain.errors import AuthFailed, InvalidName, NameTaken, UnsupportedProtocol
from localchat.domain.events import UserJoined, UserLeft, Welcomed
from localchat.domain.names import LOBBY, name_key
from localchat.ports.session import (
    CertificateChanged,
    ClientCommand,
    ConnectionDropped,
    ConnectionOpened,
    ConnectTarget,
    SessionEvent,
    SessionListener,
    TrustEvent,
    UnencryptedServerReached,
    UnknownCertificatePresented,
)

log = logging.getLogger(__name__)

GIVE_UP_CODES = frozenset(
    {AuthFailed.code, InvalidName.code, UnsupportedProtocol.code, TlsRequired.code}
)
"""Refusals that no amount of waiting fixes."""
NAME_TAKEN_RETRIES = 12
"""Reconnects refused with ``name_taken`` before giving up: with the default backoff this
outlasts the server's 90 s idle timeout, after which our old connection is gone."""
KEEPALIVE_SECONDS = 10.0
"""Silence after which we ping the server; 2.5 times that without a frame means it is gone.

Ten seconds: a server whose machine vanished (unplugged, out of Wi-Fi range; no FIN ever
comes) is noticed within about half a minute, where 30 s made a person wait 75 s or more
for the "reconnecting" banner. The cost is one small ping per 10 s of silence."""


class Backoff:
    """Delays between reconnect attempts: exponential, capped, jittered.

    The jitter (half to all of the nominal delay) spreads out the clients one server restart
    dropped together, so they do not all come back in the same instant.
    """

    def __init__(
        self,
        *,
        initial: float = 0.5,
        factor: float = 2.0,
        maximum: float = 10.0,
        rng: random.Random | None = None,
    ) -> None:
        self.initial = initial
        self.factor = factor
        self.maximum = maximum
        self._rng = rng if rng is not None else random.Random()

    def delay(self, attempt: int) -> float:
        """Seconds to wait before attempt ``attempt + 1`` (``attempt`` counts from 0)."""
        nominal = min(self.maximum, self.initial * self.factor ** min(attempt, 64))
        return nominal * (0.5 + 0.5 * self._rng.random())


def describe_network_error(error: BaseException, address: str) -> str:
    """One line for a person about why a connection could not be made or was lost."""
    if isinstance(error, ConnectionRefusedError):
        return f"Cannot connect to {address}: nobody is listening there. Is the server running?"
    if isinstance(error, socket.gaierror):
        return f"Cannot find the server {address}: unknown host name."
    if isinstance(error, TimeoutError):
        return f"The server {address} did not answer in time."
    if isinstance(error, TlsFailed):
        return f"Cannot set up encryption with {address}: {error}."
    if isinstance(error, ProtocolError | UnreadablePacket):
        return f"{address} does not speak the LocalChat protocol ({error})."
    if isinstance(error, ConnectionClosed):
        return f"The server {address} closed the connection."
    if isinstance(error, OSError):
        return f"Cannot connect to {address}: {error.strerror or error}."
    return f"The connection to {address} failed: {error}."


class TcpChatSession:
    """See the module docstring. Create, :meth:`start`, then :meth:`send` and :meth:`close`."""

    def __init__(
        self,
        target: ConnectTarget,
        listener: SessionListener,
        *,
        backoff: Backoff | None = None,
        connect_timeout: float = 5.0,
        keepalive: float = KEEPALIVE_SECONDS,
        known_servers: KnownServers | None = None,
    ) -> None:
        self._target = target
        self._known_servers = known_servers
        self._listener = listener
        self._backoff = backoff if backoff is not None else Backoff()
        self._connect_timeout = connect_timeout
        self._keepalive = keepalive
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._client: ChatClient | None = None
        self._ever_connected = False
        self._rooms: dict[str, None] = dict.fromkeys(target.rooms)
        """Canonical rooms to be in after a (re)connect, in the order they were joined."""
        self._thread = threading.Thread(
            target=self._run, name=f"localchat-session-{target.address}", daemon=True
        )

    # -- the port -------------------------------------------------------------------------------

    def start(self) -> None:
        self._thread.start()

    def send(self, command: ClientCommand) -> bool:
        with self._lock:
            client = self._client
        if client is None:
            return False
        try:
            client.send(to_packet(command))
        except ClientError:
            return False  # the network thread sees the break and reports it
        return True

    def close(self) -> None:
        self._stopping.set()
        with self._lock:
            client = self._client
        if client is not None:
            try:
                client.bye()  # the server answers by closing, which ends the network thread
            except ClientError:
                pass
        if threading.current_thread() is not self._thread and self._thread.is_alive():
            self._thread.join(timeout=1.0)
        if client is not None:
            client.close()

    # -- the network thread ---------------------------------------------------------------------

    def _emit(self, event: SessionEvent) -> None:
        if not self._stopping.is_set():
            self._listener(event)

    def _run(self) -> None:
        try:
            self._loop()
        except Exception:  # the safety net: log, tell the person, never crash silently
            log.exception("the session to %s failed", self._target.address)
            self._emit(
                ConnectionDropped(reason="The connection failed unexpectedly (see the log).")
            )

    def _loop(self) -> None:
        target = self._target
        attempt = 0
        name_taken = 0
        while not self._stopping.is_set():
            give_up = not self._ever_connected
            try:
                client = self._open()
            except (UnknownServer, ServerIdentityChanged, NotTlsServer) as untrusted:
                self._emit(self._trust_event(untrusted))
                return  # the person decides; a new session applies the answer
            except ServerRefused as refusal:
                drop = ConnectionDropped(reason=refusal.message, code=refusal.code)
                name_taken = name_taken + 1 if refusal.code == NameTaken.code else 0
                give_up = (
                    give_up or refusal.code in GIVE_UP_CODES or name_taken > NAME_TAKEN_RETRIES
                )
            except (OSError, ClientError, ProtocolError, UnreadablePacket) as error:
                drop = ConnectionDropped(reason=describe_network_error(error, target.address))
            else:
                attempt = name_taken = 0
                give_up = False
                drop = self._serve(client)
            if self._stopping.is_set():
                return
            if give_up:
                self._emit(drop)
                return
            delay = self._backoff.delay(attempt)
            attempt += 1
            self._emit(dataclasses.replace(drop, retry_in=delay))
            if self._stopping.wait(delay):
                return

    def _open(self) -> ChatClient:
        """One registered connection: TLS checked against the pins, or plain TCP where that
        is the choice (no ``known_servers``, or the person agreed for this server)."""
        target, known = self._target, self._known_servers

        def connect(tls: TlsTrust | None) -> ChatClient:
            return ChatClient.connect(
                target.host,
                target.port,
                name=target.name,
                password=target.password,
                timeout=self._connect_timeout,
                tls=tls,
            )

        if known is None:
            return connect(None)
        advertised = _fingerprint(target.advertised_fingerprint)
        trust = TlsTrust(known_servers=known, advertised=advertised)
        try:
            return connect(trust)
        except NotTlsServer as plain:
            if not known.allows_unencrypted(plain.address):
                raise
        return connect(None)

    def _trust_event(
        self, untrusted: UnknownServer | ServerIdentityChanged | NotTlsServer
    ) -> TrustEvent:
        address = str(untrusted.address)
        if isinstance(untrusted, UnknownServer):
            return UnknownCertificatePresented(
                address=address,
                fingerprint=str(untrusted.fingerprint),
                advertised=None if untrusted.advertised is None else str(untrusted.advertised),
            )
        if isinstance(untrusted, ServerIdentityChanged):
            return CertificateChanged(
                address=address, pinned=str(untrusted.pinned), presented=str(untrusted.fingerprint)
            )
        assert self._known_servers is not None  # only TLS attempts meet a plain server
        pinned = self._known_servers.get(untrusted.address)
        return UnencryptedServerReached(
            address=address, pinned=None if pinned is None else str(pinned)
        )

    def _serve(self, client: ChatClient) -> ConnectionDropped:
        """Run one registered connection until it ends; say why it ended."""
        address = self._target.address
        fatal: p.Error | None = None
        try:
            assert client.welcome is not None
            welcome = to_event(client.welcome)
            assert isinstance(welcome, Welcomed)
            me = name_key(welcome.name)
            for room in self._rooms:
                if room != LOBBY.canonical:
                    client.join(room)
            with self._lock:
                self._client = client
            self._ever_connected = True
            fingerprint = None if client.fingerprint is None else str(client.fingerprint)
            self._emit(ConnectionOpened(address=address, fingerprint=fingerprint))
            self._emit(welcome)
            last_heard = time.monotonic()
            while not self._stopping.is_set():
                try:
                    packet = client.receive(timeout=self._keepalive)
                except TimeoutError:
                    if time.monotonic() - last_heard > 2.5 * self._keepalive:
                        return ConnectionDropped(reason=f"The server {address} stopped answering.")
                    client.ping("keepalive")
                    continue
                last_heard = time.monotonic()
                if isinstance(packet, p.Error) and packet.fatal:
                    fatal = packet  # the server closes next; report it then
                    continue
                event = to_event(packet)
                if event is None:
                    continue
                self._track_rooms(event, me)
                self._emit(event)
            client.bye()  # closed between two reads: still leave cleanly
            return ConnectionDropped(reason="The session was closed.")
        except ConnectionClosed as error:
            if fatal is not None:
                return ConnectionDropped(reason=fatal.message, code=fatal.code)
            return ConnectionDropped(reason=describe_network_error(error, address))
        except (OSError, ClientError, ProtocolError, UnreadablePacket) as error:
            return ConnectionDropped(reason=describe_network_error(error, address))
        finally:
            with self._lock:
                self._client = None
            client.close()

    def _track_rooms(self, event: SessionEvent, me: str) -> None:
        if isinstance(event, UserJoined) and name_key(event.name) == me:
            self._rooms[event.room.canonical] = None
        elif isinstance(event, UserLeft) and name_key(event.name) == me:
            self._rooms.pop(event.room.canonical, None)


def _fingerprint(text: str | None) -> Fingerprint | None:
    """A fingerprint announced on the network; one that cannot be read is no evidence."""
    if text is None:
        return None
    try:
        return Fingerprint.parse(text)
    except InvalidFingerprint:
        log.warning("ignoring an unreadable announced fingerprint %r", text)
        return None


def open_tcp_session(
    target: ConnectTarget,
    listener: SessionListener,
    *,
    backoff: Backoff | None = None,
    known_servers: KnownServers | None = None,
) -> TcpChatSession:
    """A started session (the :data:`~localchat.ports.session.SessionOpener` for TCP); with
    ``known_servers``, over TLS with trust on first use."""
    session = TcpChatSession(target, listener, backoff=backoff, known_servers=known_servers)
    session.start()
    return session
