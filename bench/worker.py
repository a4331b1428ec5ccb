"""One load-generator process: a share of the connections, one epoll loop, no threads.

The main process sends commands over a pipe (``setup``, ``go``, ``broadcast``, ``stop``,
``quit``) and reads progress from shared counters this loop keeps current
(:data:`RECEIVED`...), so watching a run costs the workers nothing.

Roles, given per connection by the plan:

* the **observer** (fan-out client 0) never sends; it parses every frame, and what it has
  seen of each sender opens that sender's window. The observer and all senders live in
  the same worker, so a window opens without a round trip between processes;
* **senders** send ``say`` frames, at most ``window`` unseen by the observer, coalesced
  into one ``send`` per refill;
* **checked** receivers parse every frame too (latency, per-sender order, room ``seq``);
* plain receivers only count their deliveries (:func:`bench.frames.count_frames`);
* the **slow** member registers, then is never read again.
"""

from __future__ import annotations

import collections
import json
import os
import select
import signal
import socket
import time
import traceback
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

from bench.frames import (
    HISTORY,
    MARK,
    BadFrame,
    Fields,
    control_packet,
    count_frames,
    find_deliveries,
    frame_spans,
    hello_frame,
    is_delivery,
    parse_delivery,
    pong_frame,
    say_frame,
)
from bench.histogram import Histogram

# Shared counters: each worker owns SLOTS consecutive int64 slots.
RECEIVED, BYTES, LAST_RX_NS, CLOSED, SENT, SEND_NS, SENDERS_DONE_NS = range(7)
SLOTS = 8

READ_EVENTS = select.EPOLLIN | select.EPOLLHUP | select.EPOLLERR | select.EPOLLRDHUP
RECV_BYTES = 65_536
POLL_SECONDS = 0.05
ORPHAN_CHECK_SECONDS = 1.0
MAX_NOTES = 10
MAX_CLOSED = 20


@dataclass(frozen=True, slots=True)
class ClientPlan:
    """One connection: its index (name ``PREFIX<index>``), what it does."""

    index: int
    sender: int = -1
    """Sender number (0..S-1) if it sends, else -1."""
    observer: bool = False
    checked: bool = False
    slow: bool = False


@dataclass(frozen=True, slots=True)
class WorkerPlan:
    host: str
    port: int
    clients: tuple[ClientPlan, ...]
    senders: int
    """Senders in the whole run (sizes the per-sender order checks)."""
    messages: int = 0
    window: int = 0
    text_len: int = 64
    name_prefix: str = "bench"
    connect_timeout: float = 10.0
    registration_window: int = 32


@dataclass(slots=True)
class WorkerReport:
    """What a worker hands back after ``stop``."""

    received: int = 0
    bytes: int = 0
    sent: int = 0
    observer_latency_us: Histogram = field(default_factory=Histogram)
    checked_latency_us: Histogram = field(default_factory=Histogram)
    checked_receivers: int = 0
    checked_deliveries: int = 0
    order_violations: int = 0
    seq_gaps: int = 0
    room_seq_violations: int = 0
    room_seq_gaps: int = 0
    unparsable: int = 0
    pings: int = 0
    closed: list[tuple[int, str, int]] = field(default_factory=list)
    """(client index, reason, time.monotonic_ns()) of the first connections that closed."""
    closed_count: int = 0
    notes: list[str] = field(default_factory=list)


class Conn:
    __slots__ = (
        "checked",
        "closed",
        "fd",
        "mask",
        "next_seq",
        "out",
        "plan",
        "received",
        "registered",
        "rest",
        "room_seq",
        "sock",
    )

    def __init__(self, sock: socket.socket, plan: ClientPlan, senders: int) -> None:
        self.sock = sock
        self.fd = sock.fileno()
        self.plan = plan
        self.checked = plan.checked or plan.observer
        self.registered = False
        self.closed = False
        self.mask = 0
        self.rest = b""
        self.out = bytearray()
        self.received = 0
        self.next_seq = [0] * senders if self.checked else []
        self.room_seq = 0


class Sender:
    __slots__ = ("acked", "conn", "number", "sent")

    def __init__(self, conn: Conn) -> None:
        self.conn = conn
        self.number = conn.plan.sender
        self.sent = 0
        self.acked = 0


class SetupFailed(Exception):
    """Registration cannot complete; the message says why."""


class Worker:
    """See the module docstring."""

    def __init__(self, number: int, plan: WorkerPlan, control: Connection, counters: Any) -> None:
        self.plan = plan
        self.control = control
        self.counters = counters
        self.base = number * SLOTS
        self.epoll = select.epoll()
        self.conns: dict[int, Conn] = {}
        self.every: list[Conn] = []
        self.slow: list[Conn] = []
        self.senders: dict[int, Sender] = {}
        self.dirty: set[Sender] = set()
        self.sending = False
        self.live = False
        """Set by the first ``go`` or ``broadcast``: before, no frame can carry one of this
        run's messages, so the plain path sorts every frame (a ``history`` page quotes
        earlier texts when the server keeps a store)."""
        self.senders_left = 0
        self.report = WorkerReport()
        self.received = 0
        self.bytes = 0
        self.last_rx_ns = 0
        self.queue: collections.deque[ClientPlan] = collections.deque()
        self.pending: dict[int, Conn] = {}
        self.setting_up = False
        self.last_progress = 0.0
        self.done = False

    # -- the loop -------------------------------------------------------------------------------

    def run(self) -> None:
        control_fd = self.control.fileno()
        self.epoll.register(control_fd, select.EPOLLIN)
        conns = self.conns
        parent = os.getppid()
        next_check = time.monotonic() + ORPHAN_CHECK_SECONDS
        while not self.done:
            for fd, events in self.epoll.poll(POLL_SECONDS):
                if fd == control_fd:
                    self.on_command()
                    continue
                conn = conns.get(fd)
                if conn is None:
                    continue
                if events & select.EPOLLOUT:
                    self.flush(conn)
                if events & READ_EVENTS and not conn.closed:
                    self.on_readable(conn)
            if self.dirty:
                self.refill()
            if self.setting_up:
                self.advance_setup()
            self.publish()
            if time.monotonic() > next_check:  # the main process died without a word
                next_check += ORPHAN_CHECK_SECONDS
                self.done = self.done or os.getppid() != parent
        for conn in self.every:
            conn.sock.close()

    def publish(self) -> None:
        counters, base = self.counters, self.base
        counters[base + RECEIVED] = self.received
        counters[base + BYTES] = self.bytes
        counters[base + LAST_RX_NS] = self.last_rx_ns
        counters[base + SENT] = self.report.sent
        counters[base + CLOSED] = self.report.closed_count

    def on_command(self) -> None:
        try:
            command, *args = self.control.recv()
        except EOFError:  # the main process is gone
            self.done = True
            return
        if command == "setup":
            self.queue.extend(self.plan.clients)
            self.setting_up = True
            self.last_progress = time.monotonic()
        elif command == "go":
            self.sending = self.live = True
            self.dirty.update(self.senders.values())
        elif command == "broadcast":
            self.control.send(("sent", self.broadcast(int(args[0]))))
        elif command == "slow_ports":
            self.control.send(("slow_ports", [c.sock.getsockname()[1] for c in self.slow]))
        elif command == "quit":
            self.done = True
        elif command == "stop":
            self.publish()
            self.report.received, self.report.bytes = self.received, self.bytes
            self.control.send(("report", self.report))
            self.done = True

    # -- setup ----------------------------------------------------------------------------------

    def advance_setup(self) -> None:
        plan = self.plan
        try:
            while self.queue and len(self.pending) < plan.registration_window:
                self.open(self.queue.popleft())
            if not self.queue and not self.pending:
                self.setting_up = False
                self.control.send(("ready", len(self.every)))
            elif time.monotonic() - self.last_progress > plan.connect_timeout:
                done = len(self.every) - len(self.pending)
                raise SetupFailed(
                    f"registration stalled: {done} of {len(plan.clients)} registered, "
                    f"nothing for {plan.connect_timeout:g} s"
                )
        except SetupFailed as failure:
            self.fail_setup(str(failure))

    def fail_setup(self, why: str) -> None:
        if self.setting_up:
            self.setting_up = False
            self.queue.clear()
            self.control.send(("failed", why))

    def open(self, plan: ClientPlan) -> None:
        try:
            sock = socket.create_connection(
                (self.plan.host, self.plan.port), timeout=self.plan.connect_timeout
            )
        except OSError as error:
            raise SetupFailed(f"client {plan.index}: connect: {error}") from None
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setblocking(False)
        conn = Conn(sock, plan, self.plan.senders)
        self.conns[conn.fd] = conn
        self.pending[conn.fd] = conn
        self.every.append(conn)
        conn.mask = select.EPOLLIN
        self.epoll.register(conn.fd, conn.mask)
        conn.out += hello_frame(f"{self.plan.name_prefix}{plan.index}")
        self.flush(conn)

    def handshake(self, conn: Conn, buf: bytes) -> int:
        """Bytes used up to and including ``welcome`` (all complete frames if it is not there)."""
        _, used = count_frames(buf)
        for start, end in frame_spans(buf, used):
            packet = json.loads(buf[start:end])
            kind = packet.get("type") if isinstance(packet, dict) else None
            if kind == "welcome":
                self.registered(conn)
                return end
            if kind == "ping":
                self.answer_ping(conn, packet)
            elif kind == "error":
                self.fail_setup(
                    f"client {conn.plan.index}: {packet.get('code')}: {packet.get('message')}"
                )
        return used

    def registered(self, conn: Conn) -> None:
        conn.registered = True
        del self.pending[conn.fd]
        self.last_progress = time.monotonic()
        if conn.checked and not conn.plan.observer:
            self.report.checked_receivers += 1
        if conn.plan.slow:
            self.epoll.unregister(conn.fd)
            del self.conns[conn.fd]
            self.slow.append(conn)
        elif conn.plan.sender >= 0:
            sender = Sender(conn)
            self.senders[sender.number] = sender
            self.senders_left += 1

    # -- receiving ------------------------------------------------------------------------------

    def on_readable(self, conn: Conn) -> None:
        try:
            data = conn.sock.recv(RECV_BYTES)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as error:
            self.close(conn, f"recv: {error.strerror or error}")
            return
        if not data:
            self.close(conn, "closed by the server")
            return
        self.bytes += len(data)
        buf = conn.rest + data if conn.rest else data
        try:
            if not conn.registered:
                buf = buf[self.handshake(conn, buf) :]
                if not conn.registered or conn.plan.slow:
                    conn.rest = buf
                    return
            used = self.check(conn, buf) if conn.checked else self.count(conn, buf)
        except (BadFrame, ValueError) as error:
            self.close(conn, f"unreadable stream: {error}")
            return
        conn.rest = buf[used:] if used < len(buf) else b""

    def count(self, conn: Conn, buf: bytes) -> int:
        """The plain receiver's path: frames by their headers, deliveries by our marker."""
        frames, used = count_frames(buf)
        if not frames:
            return 0
        marks = buf.count(MARK, 0, used)
        if marks != frames or not self.live:
            marks = self.sort_frames(conn, buf, used)
        if marks:
            conn.received += marks
            self.received += marks
            self.last_rx_ns = time.monotonic_ns()
        return used

    def sort_frames(self, conn: Conn, buf: bytes, used: int) -> int:
        """Deliveries among frames of other kinds, answering what needs an answer."""
        deliveries = 0
        for start, end in frame_spans(buf, used):
            if is_delivery(buf, start, end):
                deliveries += 1
            else:
                self.on_other(conn, buf, start, end)
        return deliveries

    def check(self, conn: Conn, buf: bytes) -> int:
        """The checked receiver's path: every delivery parsed, timed and checked."""
        frames, used = count_frames(buf)
        if not frames:
            return 0
        found = find_deliveries(buf, used)
        if len(found) != frames or buf.find(HISTORY, 0, used) >= 0:
            found = self.sort_checked(conn, buf, used)
        if found:
            now_ns = time.monotonic_ns()
            self.record(conn, found, now_ns // 1000)
            conn.received += len(found)
            self.received += len(found)
            self.report.checked_deliveries += len(found)
            self.last_rx_ns = now_ns
        return used

    def sort_checked(self, conn: Conn, buf: bytes, used: int) -> list[Fields]:
        found = []
        for start, end in frame_spans(buf, used):
            fields = parse_delivery(buf, start, end)
            if fields is None:
                self.on_other(conn, buf, start, end)
            else:
                found.append(fields)
        return found

    def record(self, conn: Conn, found: list[Fields], now_us: int) -> None:
        """Latency, per-sender order and room ``seq`` of a batch of deliveries."""
        report = self.report
        observer = conn.plan.observer
        latencies = report.observer_latency_us if observer else report.checked_latency_us
        next_seq = conn.next_seq
        senders = len(next_seq)
        last_room = conn.room_seq
        for room_digits, sender_digits, seq_digits, sent_digits in found:
            latencies.record(now_us - int(sent_digits))
            sender, seq = int(sender_digits), int(seq_digits)
            if sender < senders:
                expected = next_seq[sender]
                if seq >= expected:
                    report.seq_gaps += seq - expected
                    next_seq[sender] = seq + 1
                else:
                    report.order_violations += 1
            else:
                report.unparsable += 1
            if room_digits:
                room_seq = int(room_digits)
                if last_room and room_seq <= last_room:
                    report.room_seq_violations += 1
                elif last_room and room_seq > last_room + 1:
                    report.room_seq_gaps += room_seq - last_room - 1
                last_room = max(last_room, room_seq)
        conn.room_seq = last_room
        if observer:
            self.acknowledge(next_seq)

    def acknowledge(self, next_seq: list[int]) -> None:
        """The observer saw up to ``next_seq[s] - 1`` of sender ``s``: open the windows."""
        for number, sender in self.senders.items():
            if next_seq[number] > sender.acked:
                sender.acked = next_seq[number]
                self.dirty.add(sender)

    def on_other(self, conn: Conn, buf: bytes, start: int, end: int) -> None:
        packet = control_packet(buf, start, end)
        if packet is None:
            return
        if packet["type"] == "ping":
            self.answer_ping(conn, packet)
            return
        note = f"{packet.get('code')}: {packet.get('message')}"
        if note not in self.report.notes and len(self.report.notes) < MAX_NOTES:
            self.report.notes.append(note)

    def answer_ping(self, conn: Conn, packet: dict[str, Any]) -> None:
        self.report.pings += 1
        conn.out += pong_frame(packet.get("id"))
        self.flush(conn)

    # -- sending --------------------------------------------------------------------------------

    def refill(self) -> None:
        """Top up every sender whose window opened, one coalesced write each."""
        if not self.sending:
            self.dirty.clear()
            return
        plan = self.plan
        for sender in self.dirty:
            if sender.conn.closed:
                continue
            room = plan.window - (sender.sent - sender.acked) if plan.window else plan.messages
            first = sender.sent
            last = min(first + room, plan.messages)
            if last <= first:
                continue
            sent_us = time.monotonic_ns() // 1000
            number, length = sender.number, plan.text_len
            sender.conn.out += b"".join(
                [say_frame(number, seq, sent_us, length) for seq in range(first, last)]
            )
            sender.sent = last
            self.report.sent += last - first
            if last == plan.messages:
                self.senders_left -= 1
                if not self.senders_left:
                    self.counters[self.base + SENDERS_DONE_NS] = time.monotonic_ns()
            self.flush(sender.conn)
        self.dirty.clear()

    def broadcast(self, seq: int) -> int:
        """One message from sender 0 (the idle scenario's rounds); returns its send time."""
        sender = self.senders[0]
        self.live = True
        sent_ns = time.monotonic_ns()
        sender.conn.out += say_frame(0, seq, sent_ns // 1000, self.plan.text_len)
        self.flush(sender.conn)
        self.report.sent += 1
        self.counters[self.base + SEND_NS] = sent_ns
        return sent_ns

    def flush(self, conn: Conn) -> None:
        if conn.closed:
            return
        if conn.out:
            try:
                sent = conn.sock.send(conn.out)
            except (BlockingIOError, InterruptedError):
                sent = 0
            except OSError as error:
                self.close(conn, f"send: {error.strerror or error}")
                return
            del conn.out[:sent]
        mask = select.EPOLLIN | (select.EPOLLOUT if conn.out else 0)
        if mask != conn.mask and conn.fd in self.conns:
            self.epoll.modify(conn.fd, mask)
            conn.mask = mask

    def close(self, conn: Conn, reason: str) -> None:
        if conn.closed:
            return
        conn.closed = True
        if self.conns.pop(conn.fd, None) is not None:
            self.epoll.unregister(conn.fd)
        conn.sock.close()
        report = self.report
        report.closed_count += 1
        if len(report.closed) < MAX_CLOSED:
            report.closed.append((conn.plan.index, reason, time.monotonic_ns()))
        if self.pending.pop(conn.fd, None) is conn:
            self.fail_setup(f"client {conn.plan.index}: {reason}")


def worker_main(number: int, plan: WorkerPlan, control: Connection, counters: Any) -> None:
    """Process entry point. Ctrl+C is the main process's business: it stops the workers."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        Worker(number, plan, control, counters).run()
    except Exception:
        control.send(("crashed", traceback.format_exc()))
        raise
