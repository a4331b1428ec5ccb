"""TcpServerTransport: native LocalChat protocol 1 over TCP, with two threads.

Why not a reader thread per connection: with the GIL, one thread per connection costs a
thread stack and a GIL hand-off per frame, and every idle client costs a thread; a single
I/O thread over ``selectors`` (epoll) reads all sockets, runs the timers and batches what
it decoded into one hand-off to the dispatcher per loop. The guarantees are those of the
reader-thread design (ARCHITECTURE.md §2): the dispatcher never blocks on a socket, each
event is encoded once, output is batched per dispatcher batch, a reader that falls behind
by more than ``max_outbound_bytes`` is dropped alone.

Threads:

* **I/O thread** (``localchat-tcp``): accept, read, decode, keep-alive and handshake
  timers, flood-control pauses, writes the kernel refused earlier, lingering closes.
* **Dispatcher thread** (not ours): calls :meth:`deliver` and :meth:`flush`; sends
  directly with non-blocking ``send``. Requests for the I/O thread (``welcome`` was sent,
  close after flushing, a write is pending) are queued and published after the sends, so
  nothing the I/O thread writes can overtake an event.

TLS (when ``options.tls_cert_file`` is set): each link gets a
:class:`~localchat.adapters.tls.channel.TlsChannel`, OpenSSL over memory buffers, used by
both threads under the link's lock (see :mod:`.link`). The handshake advances on the I/O
thread as bytes arrive, never blocking anyone else, and must finish, like ``hello``, within
``handshake_timeout``. A client whose first byte cannot start a TLS record (a plain
LocalChat frame starts with 0) is answered with a plain fatal ``tls_required`` frame, so it
can tell the person at once instead of waiting.
"""

from __future__ import annotations

import collections
import errno
import heapq
import logging
import selectors
import socket
import ssl
import struct
import threading
import time
from collections.abc import Sequence

from localchat import __version__
from localchat.adapters.tcp.link import LinkState, TcpLink
from localchat.adapters.tls.channel import TlsChannel, looks_like_tls, server_context
from localchat.adapters.wire.connection import ConnectionLimits, ServerConnection
from localchat.adapters.wire.errors import ShuttingDown, SlowConsumer, TlsRequired
from localchat.adapters.wire.schema import EventEncoder, error_frame_of
from localchat.domain.errors import ServerFull
from localchat.domain.events import (
    CommandRejected,
    MessagePosted,
    SessionClosed,
    Welcomed,
)
from localchat.domain.model import LeaveReason, SessionId
from localchat.ports.session import host_port
from localchat.ports.transport import CommandSink, Inbound, Outbound, Reply, TransportOptions

log = logging.getLogger(__name__)

RECV_BYTES = 65_536
FINISH_SECONDS = 5.0
ABORTIVE_LINGER = struct.pack("ii", 1, 0)
"""SO_LINGER on, 0 seconds: close() resets the connection and drops unsent data."""
BACKLOG_HIGH = 4096
"""Commands waiting for the dispatcher above which clients that send are not read."""
BACKLOG_LOW = 1024
"""... until the backlog is down to this."""
BACKLOG_POLL_SECONDS = 0.005
DRAIN_SECONDS = 2.0
LINGER_SECONDS = 1.0
ACCEPT_BACKOFF_SECONDS = 0.1

_LISTENER = object()
_WAKER = object()

# Requests from the dispatcher thread to the I/O thread.
_REGISTERED = "registered"
_CLOSE = "close"
_WRITE = "write"
_OVERFLOW = "overflow"
_LOST = "lost"


def create_transport(options: TransportOptions) -> TcpServerTransport:
    """Entry point ``tcp`` of the ``localchat.transports`` group."""
    return TcpServerTransport(options)


class TcpServerTransport:
    """See the module docstring."""

    name = "tcp"

    def __init__(self, options: TransportOptions) -> None:
        self._options = options
        self._limits = ConnectionLimits(
            max_frame_bytes=options.max_frame_bytes,
            handshake_timeout=options.handshake_timeout,
            ping_interval=options.ping_interval,
            idle_timeout=options.idle_timeout,
            rate_limit=options.rate_limit,
            rate_burst=options.rate_burst,
        )
        self._encoder = EventEncoder(
            server=f"{options.server_software}/{__version__}",
            max_frame_bytes=options.max_frame_bytes,
        )
        self._max_outbound = options.max_outbound_bytes
        self._tls_context: ssl.SSLContext | None = None
        if options.tls_cert_file is not None:
            self._tls_context = server_context(
                options.tls_cert_file, options.tls_key_file or options.tls_cert_file
            )
        self._sweep_every = min(
            1.0,
            options.handshake_timeout / 4,
            options.ping_interval / 4,
            options.idle_timeout / 4,
        )
        self._links: dict[SessionId, TcpLink] = {}
        self._sink: CommandSink | None = None
        self._listener: socket.socket | None = None
        self._selector: selectors.BaseSelector | None = None
        self._waker_r: socket.socket | None = None
        self._waker_w: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._requests: collections.deque[tuple[str, TcpLink]] = collections.deque()
        self._wake_pending = False
        self._dirty: list[TcpLink] = []
        self._later: list[tuple[str, TcpLink]] = []
        self._timers: list[tuple[float, int, SessionId]] = []
        self._timer_order = 0
        self._inbound: list[tuple[SessionId, Inbound]] = []
        self._overloaded = False
        self._held: list[TcpLink] = []
        self._next_sweep = 0.0
        self._unwelcomed: set[TcpLink] = set()
        """Links not known to be welcomed (I/O thread): at most ``max_pending`` of them."""
        self._accept_paused_until = 0.0
        self._shutdown_deadline: float | None = None
        self._recv_buffer = bytearray(RECV_BYTES)
        self._recv_view = memoryview(self._recv_buffer)

    # -- ServerTransport ------------------------------------------------------------------------

    def start(self, sink: CommandSink) -> None:
        """Bind, listen and start the I/O thread. Raises OSError if the address is unusable."""
        self._sink = sink
        infos = socket.getaddrinfo(
            self._options.host or None,
            self._options.port,
            type=socket.SOCK_STREAM,
            flags=socket.AI_PASSIVE,
        )
        family, _, _, _, address = infos[0]
        listener = socket.socket(family, socket.SOCK_STREAM)
        try:
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind(address)
            listener.listen(min(socket.SOMAXCONN, 4096))
        except OSError:
            listener.close()
            raise
        listener.setblocking(False)
        self._listener = listener
        self._selector = selectors.DefaultSelector()
        self._waker_r, self._waker_w = socket.socketpair()
        self._waker_r.setblocking(False)
        self._waker_w.setblocking(False)
        self._selector.register(listener, selectors.EVENT_READ, _LISTENER)
        self._selector.register(self._waker_r, selectors.EVENT_READ, _WAKER)
        self._thread = threading.Thread(target=self._run, name="localchat-tcp", daemon=True)
        self._thread.start()

    @property
    def port(self) -> int:
        """The bound port (useful with port 0)."""
        assert self._listener is not None, "start() first"
        port: int = self._listener.getsockname()[1]
        return port

    @property
    def bound_host(self) -> str:
        """The address the listener is bound to (e.g. ``0.0.0.0`` for every interface)."""
        assert self._listener is not None, "start() first"
        host: str = self._listener.getsockname()[0]
        return host

    def addresses(self) -> list[str]:
        assert self._listener is not None, "start() first"
        host, port = self._listener.getsockname()[:2]
        return [host_port(host, port)]

    @property
    def tls(self) -> bool:
        """Whether clients must speak TLS."""
        return self._tls_context is not None

    @property
    def connection_count(self) -> int:
        return len(self._links)

    def deliver(self, event: Outbound, recipients: Sequence[SessionId]) -> None:
        if type(event) is Reply:  # a connection's own answer, back in request order
            self._queue(event.payload, recipients)
            if event.closes:
                self._after_flush(_CLOSE, recipients)
            return
        data = self._encoder.encode(event)  # type: ignore[arg-type]
        if data is not None:
            self._queue(data, recipients)
        kind = type(event)
        if kind is MessagePosted:
            return
        if kind is Welcomed:
            links = self._links
            for session in recipients:
                link = links.get(session)
                if link is not None:
                    link.welcomed = True  # before the send: see _admit
            self._after_flush(_REGISTERED, recipients)
        elif kind is SessionClosed or (kind is CommandRejected and event.fatal):  # type: ignore[union-attr]
            self._after_flush(_CLOSE, recipients)

    def flush(self) -> None:
        dirty, self._dirty = self._dirty, []
        limit = self._max_outbound
        for link in dirty:
            batch = link.batch
            link.batch = []
            if link.dead:
                continue
            data = batch[0] if len(batch) == 1 else b"".join(batch)
            with link.lock:
                if link.unsent:
                    if len(link.unsent) + len(data) > limit:
                        self._overflowed(link)
                    else:
                        link.enqueue(data)
                    continue
                if not link.send_now(data):
                    self._later.append((_LOST, link))
                elif link.unsent:
                    if len(link.unsent) > limit:
                        self._overflowed(link)
                    else:
                        self._later.append((_WRITE, link))
        if self._later:
            self._requests.extend(self._later)
            self._later = []
            self._wake()

    def shutdown(self, timeout: float) -> None:
        """Send ``shutting_down`` to everyone and close; returns within ``timeout``."""
        if self._thread is None:
            return
        self._shutdown_deadline = time.monotonic() + max(0.1, timeout - 0.2)
        self._wake(force=True)
        self._thread.join(timeout)
        if self._thread.is_alive():  # pragma: no cover - the loop always honours the deadline
            log.warning("the TCP I/O thread did not stop in time")

    # -- dispatcher-side helpers ----------------------------------------------------------------

    def _queue(self, data: bytes, recipients: Sequence[SessionId]) -> None:
        """Add ``data`` to each recipient's batch for :meth:`flush` (once per event and
        recipient: the hot loop of a chat server)."""
        links = self._links
        dirty = self._dirty
        for session in recipients:
            link = links.get(session)
            if link is not None:
                batch = link.batch
                if not batch:
                    dirty.append(link)
                batch.append(data)

    def _after_flush(self, request: str, recipients: Sequence[SessionId]) -> None:
        for session in recipients:
            link = self._links.get(session)
            if link is not None:
                self._later.append((request, link))

    def _overflowed(self, link: TcpLink) -> None:
        """Under ``link.lock``: the client reads too slowly; drop it, and only it."""
        link.dead = True
        link.keep_partial_unit()
        self._later.append((_OVERFLOW, link))

    def _wake(self, *, force: bool = False) -> None:
        if self._wake_pending and not force:
            return
        self._wake_pending = True
        try:
            assert self._waker_w is not None
            self._waker_w.send(b"\0")
        except (BlockingIOError, OSError):
            pass  # already awake, or shutting down

    # -- the I/O thread -------------------------------------------------------------------------

    def _run(self) -> None:
        assert self._selector is not None
        assert self._sink is not None
        selector = self._selector
        sink = self._sink
        self._next_sweep = time.monotonic() + self._sweep_every
        try:
            while True:
                now = time.monotonic()
                if self._shutdown_deadline is not None and self._shutting_down(now):
                    break
                self._overloaded = sink.backlog() > BACKLOG_HIGH
                for key, mask in selector.select(self._select_timeout(now)):
                    tag = key.data
                    if tag is _LISTENER:
                        self._accept()
                    elif tag is _WAKER:
                        self._drain_waker()
                    else:
                        self._on_ready(tag, mask)
                self._serve_requests()
                if self._held and sink.backlog() < BACKLOG_LOW:
                    self._release_held()
                self._run_timers(time.monotonic())
                self._submit()
        except Exception:  # pragma: no cover - the safety net: log, close everything
            log.exception("the TCP I/O thread failed; closing every connection")
        finally:
            for link in list(self._links.values()):
                self._close(link)
            selector.close()
            if self._listener is not None:
                self._listener.close()
            if self._waker_r is not None:
                self._waker_r.close()
            if self._waker_w is not None:
                self._waker_w.close()

    def _select_timeout(self, now: float) -> float:
        """How long the loop may sleep: until the next timer, sweep or deadline."""
        wait = self._next_sweep - now
        if self._accept_paused_until:
            wait = min(wait, self._accept_paused_until - now)
        if self._timers:
            wait = min(wait, self._timers[0][0] - now)
        if self._shutdown_deadline is not None:  # never sleep past the deadline
            wait = min(wait, self._shutdown_deadline - now)
        if self._held:
            wait = min(wait, BACKLOG_POLL_SECONDS)
        return max(0.0, wait)

    def _run_timers(self, now: float) -> None:
        """Resume accepting, fire due link timers, and sweep every link now and then."""
        if self._accept_paused_until and now >= self._accept_paused_until:
            self._accept_paused_until = 0.0
            assert self._selector is not None
            assert self._listener is not None
            self._selector.register(self._listener, selectors.EVENT_READ, _LISTENER)
        while self._timers and self._timers[0][0] <= now:
            _, _, session = heapq.heappop(self._timers)
            link = self._links.get(session)
            if link is not None:
                self._guarded(link, self._tick, now)
        if now >= self._next_sweep:
            self._next_sweep = now + self._sweep_every
            for link in list(self._links.values()):
                self._guarded(link, self._tick, now)

    def _submit(self) -> None:
        if self._inbound and self._shutdown_deadline is None:
            assert self._sink is not None
            inbound, self._inbound = self._inbound, []
            self._sink.submit(inbound)

    def _drain_waker(self) -> None:
        assert self._waker_r is not None
        self._wake_pending = False
        try:
            while self._waker_r.recv(4096):
                pass
        except BlockingIOError:
            pass

    def _accept(self) -> None:
        assert self._listener is not None
        assert self._sink is not None
        now = time.monotonic()
        for _ in range(256):
            try:
                sock, address = self._listener.accept()
            except BlockingIOError:
                return
            except OSError as error:
                if error.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                    log.warning("cannot accept more connections: %s", error.strerror)
                    assert self._selector is not None
                    self._selector.unregister(self._listener)
                    self._accept_paused_until = now + ACCEPT_BACKOFF_SECONDS
                return
            sock.setblocking(False)
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass
            if not self._admit():
                try:
                    sock.send(error_frame_of(ServerFull("too many connections are waiting")))
                except OSError:
                    pass
                sock.close()
                continue
            session = self._sink.open_session(self)
            peer = f"{address[0]}:{address[1]}" if isinstance(address, tuple) else str(address)
            tls = None
            if self._tls_context is not None:
                tls = TlsChannel(self._tls_context, server_side=True)
            link = TcpLink(session, sock, peer, ServerConnection(self._limits, now), tls)
            self._links[session] = link
            self._unwelcomed.add(link)
            self._set_interest(link)
            self._schedule(link.conn.next_deadline(), session)
            log.debug("connection %s from %s", session, peer)

    def _admit(self) -> bool:
        """Whether one more connection may wait for its ``welcome`` (``max_pending``).

        At the limit, first forget the links the dispatcher has already welcomed:
        ``_REGISTERED`` reaches this thread only after the sends, so a client may have its
        welcome, and the next client may connect, before we hear of it. Only at the limit
        does this walk the waiting links; otherwise it is one ``len``.
        """
        limit = self._options.max_pending
        if len(self._unwelcomed) >= limit:
            self._unwelcomed = {link for link in self._unwelcomed if not link.welcomed}
        return len(self._unwelcomed) < limit

    def _schedule(self, when: float, session: SessionId) -> None:
        self._timer_order += 1
        heapq.heappush(self._timers, (when, self._timer_order, session))

    def _guarded(self, link: TcpLink, action: object, *args: object) -> None:
        """Run one link's handler; a bug there closes that link only."""
        try:
            action(link, *args)  # type: ignore[operator]
        except Exception:
            log.exception("closing %r after an internal error", link)
            self._close(link)

    def _on_ready(self, link: TcpLink, mask: int) -> None:
        if mask & selectors.EVENT_WRITE:
            self._guarded(link, self._on_writable)
        if mask & selectors.EVENT_READ and link.state is not LinkState.CLOSED:
            if self._overloaded and link.state is LinkState.OPEN:
                self._hold(link)
            else:
                self._guarded(link, self._on_readable)

    def _hold(self, link: TcpLink) -> None:
        """The dispatcher is far behind: stop reading this client until it catches up
        (its frames wait in the kernel; TCP slows the client down). Only clients that
        send while the server is overloaded are held."""
        link.held = True
        self._held.append(link)
        self._set_interest(link)

    def _release_held(self) -> None:
        held, self._held = self._held, []
        for link in held:
            link.held = False
            self._set_interest(link)

    def _on_readable(self, link: TcpLink) -> None:
        try:
            count = link.sock.recv_into(self._recv_buffer)
        except BlockingIOError:
            return
        except OSError:
            count = 0
        if link.state is LinkState.LINGERING:
            if not count:
                self._close(link)
            return
        if not count:
            link.conn.connection_lost()
        elif link.tls is None:
            link.conn.receive_data(self._recv_view[:count], time.monotonic())
        else:
            self._receive_tls(link, link.tls, self._recv_view[:count])
            if link.state is LinkState.CLOSED:
                return
        self._after_conn(link)

    def _receive_tls(self, link: TcpLink, tls: TlsChannel, data: memoryview) -> None:
        """Decrypt what arrived (advancing the handshake) and feed the plaintext on."""
        if not tls.received_any and not looks_like_tls(data[0]):
            log.info("%r spoke plain TCP to the TLS port; answering tls_required", link)
            link.tls = None
            link.conn.end(TlsRequired(), LeaveReason.DISCONNECTED, in_order=False)
            return
        failure: ssl.SSLError | None = None
        with link.lock:
            try:
                plaintext = tls.receive(data)
            except ssl.SSLError as error:
                failure, plaintext = error, b""
            ok = link.send_wire(tls.take_output())
        if failure is not None or not ok:
            if failure is not None:
                log.info("TLS with %r failed: %s", link, failure.reason or failure)
            self._close(link)
            return
        if plaintext:
            link.conn.receive_data(plaintext, time.monotonic())
        if tls.peer_closed:
            link.conn.connection_lost()

    def _on_writable(self, link: TcpLink) -> None:
        with link.lock:
            ok = link.send_wire(b"") if link.unsent else True
            drained = not link.unsent
        if not ok:
            self._close(link)
            return
        if drained and link.state is LinkState.DRAINING:
            self._linger(link)
        else:
            self._set_interest(link)

    def _tick(self, link: TcpLink, now: float) -> None:
        if link.state is LinkState.OPEN:
            link.conn.tick(now)
            self._after_conn(link)
        elif now >= link.deadline:
            if link.state is LinkState.FINISHING:
                self._drain(link)  # the dispatcher did not answer in time: close anyway
            elif link.state is LinkState.DRAINING:
                self._linger(link)
            else:
                self._close(link)

    def _after_conn(self, link: TcpLink) -> None:
        """Carry out what the sans-IO connection asked for after an input."""
        conn = link.conn
        self._collect(link)
        output = conn.take_output()
        if output:
            with link.lock:
                ok = link.send_now(output)
                overflow = len(link.unsent) > self._max_outbound
            if not ok:
                self._close(link)
                return
            if overflow:
                self._drop_slow(link)
                return
        if conn.closing:
            if conn.peer_gone:
                self._close(link)
            elif conn.awaiting_close and link.state is LinkState.OPEN:
                # The error follows the answers to the frames before it, through the
                # dispatcher; its Reply comes back as a _CLOSE request, then we drain.
                link.state = LinkState.FINISHING
                link.deadline = time.monotonic() + FINISH_SECONDS
                self._set_interest(link)
            else:
                self._drain(link)
            return
        if conn.resume_at is not None:
            self._schedule(conn.resume_at, link.session)
        self._set_interest(link)

    def _collect(self, link: TcpLink) -> None:
        commands = link.conn.take_commands()
        if commands:
            session = link.session
            self._inbound.extend((session, command) for command in commands)

    def _serve_requests(self) -> None:
        requests = self._requests
        now = time.monotonic()
        while requests:
            request, link = requests.popleft()
            if link.state is LinkState.CLOSED:
                continue
            if request == _WRITE:
                self._set_interest(link)
            elif request == _REGISTERED:
                self._unwelcomed.discard(link)
                link.conn.registration_accepted(now)
                self._guarded(link, self._after_conn)
            elif request == _CLOSE:
                link.conn.close_quietly()
                self._drain(link)
            elif request == _OVERFLOW:
                self._drop_slow(link)
            elif request == _LOST:
                self._close(link)

    def _drop_slow(self, link: TcpLink) -> None:
        """Drop a client that reads too slowly, at once.

        Everything queued is discarded but the end of the frame in flight, and
        ``slow_consumer`` goes behind it. If the kernel takes all of that now, the
        connection is half-closed (FIN) and lingers briefly, so a client that still reads
        learns why. If not, the client is not reading: the connection is reset, which
        frees the megabytes the kernel still holds for it, instead of waiting on it.
        """
        log.info("dropping %r: slow consumer", link)
        link.conn.end(SlowConsumer(), LeaveReason.DISCONNECTED, in_order=False)
        self._collect(link)
        with link.lock:
            link.dead = True
            link.keep_partial_unit()
            farewell = link.conn.take_output()  # the slow_consumer error frame
            if link.can_say_more:
                link.enqueue(farewell)
            delivered = link.send_wire(b"") and not link.unsent
        if delivered:
            self._linger(link)
        else:
            self._abort(link)

    def _abort(self, link: TcpLink) -> None:
        """Close with a reset (SO_LINGER 0): nothing queued is worth waiting for."""
        try:
            link.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, ABORTIVE_LINGER)
        except OSError:
            pass
        self._close(link)

    def _drain(self, link: TcpLink) -> None:
        """Closing: send what is queued (at most :data:`DRAIN_SECONDS`), then FIN."""
        if link.state is not LinkState.OPEN and link.state is not LinkState.FINISHING:
            return
        link.state = LinkState.DRAINING
        link.deadline = time.monotonic() + DRAIN_SECONDS
        with link.lock:
            drained = not link.unsent
        if drained:
            self._linger(link)
        else:
            self._set_interest(link)

    def _linger(self, link: TcpLink) -> None:
        """FIN sent; read and discard until the peer's FIN so our last frame is not reset."""
        link.dead = True
        link.state = LinkState.LINGERING
        link.deadline = time.monotonic() + LINGER_SECONDS
        if link.tls is not None:
            with link.lock:
                link.send_wire(link.tls.close_notify())
        try:
            link.sock.shutdown(socket.SHUT_WR)
        except OSError:
            self._close(link)
            return
        self._set_interest(link)

    def _close(self, link: TcpLink) -> None:
        if link.state is LinkState.CLOSED:
            return
        link.conn.connection_lost(LeaveReason.DISCONNECTED)  # no-op if it ended already
        self._collect(link)
        link.state = LinkState.CLOSED
        link.dead = True
        self._unwelcomed.discard(link)
        if link.mask and self._selector is not None:
            try:
                self._selector.unregister(link.sock)
            except (KeyError, ValueError):
                pass
            link.mask = 0
        self._links.pop(link.session, None)
        try:
            link.sock.close()
        except OSError:
            pass
        log.debug("closed %r", link)

    def _set_interest(self, link: TcpLink) -> None:
        """Register exactly the events this link needs now (I/O thread only)."""
        assert self._selector is not None
        state = link.state
        if state is LinkState.CLOSED:
            return
        wanted = 0
        if state is LinkState.LINGERING or (
            state is LinkState.OPEN and link.conn.wants_read and not link.held
        ):
            wanted = selectors.EVENT_READ
        if link.unsent and state is not LinkState.LINGERING:
            wanted |= selectors.EVENT_WRITE
        if wanted == link.mask:
            return
        if not link.mask:
            self._selector.register(link.sock, wanted, link)
        elif not wanted:
            self._selector.unregister(link.sock)
        else:
            self._selector.modify(link.sock, wanted, link)
        link.mask = wanted

    def _shutting_down(self, now: float) -> bool:
        """Run one step of shutdown; True when the loop may end."""
        assert self._shutdown_deadline is not None
        if self._listener is not None and self._listener.fileno() >= 0:
            assert self._selector is not None
            if not self._accept_paused_until:
                self._selector.unregister(self._listener)
            self._listener.close()
            for link in list(self._links.values()):
                if link.state is LinkState.OPEN:
                    link.conn.end(ShuttingDown(), LeaveReason.DISCONNECTED, in_order=False)
                    link.conn.take_commands()  # nobody remains to hear of departures
                    output = link.conn.take_output()
                    with link.lock:
                        link.send_now(output)
                    self._drain(link)
        return not self._links or now >= self._shutdown_deadline
