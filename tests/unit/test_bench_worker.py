"""A worker's receive paths on crafted streams: counting, checking, answering pings."""

from __future__ import annotations

import select
import socket
from collections.abc import Iterator
from multiprocessing import Pipe

import pytest

from bench.worker import RECEIVED, SLOTS, ClientPlan, Conn, Worker, WorkerPlan
from localchat.adapters.wire import packets as p
from localchat.adapters.wire.framing import FrameDecoder
from localchat.adapters.wire.schema import encode_packet, parse_client_packet
from tests.unit.bench_support import AT, JOINED, message


@pytest.fixture
def worker() -> Iterator[Worker]:
    ours, theirs = Pipe()
    plan = WorkerPlan(host="127.0.0.1", port=1, clients=(), senders=2)
    made = Worker(0, plan, ours, [0] * SLOTS)
    made.live = True
    yield made
    ours.close()
    theirs.close()


@pytest.fixture
def peer() -> Iterator[tuple[socket.socket, socket.socket]]:
    ends = socket.socketpair()
    yield ends
    for end in ends:
        end.close()


def connected(worker: Worker, sock: socket.socket, plan: ClientPlan) -> Conn:
    sock.setblocking(False)
    conn = Conn(sock, plan, worker.plan.senders)
    conn.registered = True
    conn.mask = select.EPOLLIN
    worker.epoll.register(conn.fd, conn.mask)
    worker.conns[conn.fd] = conn
    return conn


def feed(worker: Worker, conn: Conn, chunks: list[bytes], other: socket.socket) -> None:
    for chunk in chunks:
        other.sendall(chunk)
        worker.on_readable(conn)


def test_a_plain_receiver_counts_deliveries_across_split_reads(
    worker: Worker, peer: tuple[socket.socket, socket.socket]
) -> None:
    conn = connected(worker, peer[0], ClientPlan(3))
    stream = message(1, 0, 0) + JOINED + message(2, 1, 0) + message(3, 0, 1)
    feed(worker, conn, [stream[:7], stream[7:100], stream[100:]], peer[1])
    worker.publish()
    assert (conn.received, worker.received, worker.counters[RECEIVED]) == (3, 3, 3)
    assert conn.rest == b""


def test_before_the_run_a_history_page_is_not_counted(
    worker: Worker, peer: tuple[socket.socket, socket.socket]
) -> None:
    worker.live = False
    conn = connected(worker, peer[0], ClientPlan(3))
    old = p.ChatMessage(room="#lobby", seq=1, sender="s", text="~cl~0~0~1~", sent_at=AT)
    feed(worker, conn, [encode_packet(p.HistoryPage(room="#lobby", messages=[old]))], peer[1])
    assert conn.received == 0


def test_a_checked_receiver_finds_order_and_room_seq_violations(
    worker: Worker, peer: tuple[socket.socket, socket.socket]
) -> None:
    conn = connected(worker, peer[0], ClientPlan(3, checked=True))
    stream = (
        message(1, 0, 0)
        + message(2, 0, 2)  # sender 0 skipped its message 1: a gap
        + message(3, 0, 1)  # ... which then comes late: an order violation
        + message(3, 1, 0)  # room seq 3 twice: a room seq violation
        + message(6, 1, 1)  # room seq 4 and 5 missing: two room seq gaps
        + JOINED
    )
    feed(worker, conn, [stream], peer[1])
    report = worker.report
    assert conn.received == 5
    assert (report.seq_gaps, report.order_violations) == (1, 1)
    assert (report.room_seq_violations, report.room_seq_gaps) == (1, 2)
    assert report.checked_latency_us.count == 5


def test_the_observer_opens_the_senders_windows(
    worker: Worker, peer: tuple[socket.socket, socket.socket]
) -> None:
    observer = connected(worker, peer[0], ClientPlan(0, observer=True))
    sender_ends = socket.socketpair()
    try:
        sender = connected(worker, sender_ends[0], ClientPlan(1, sender=0))
        worker.pending[sender.fd] = sender
        worker.registered(sender)
        worker.plan = WorkerPlan(
            host="127.0.0.1", port=1, clients=(), senders=2, messages=10, window=2
        )
        worker.sending = True
        worker.dirty.update(worker.senders.values())
        worker.refill()
        assert worker.senders[0].sent == 2
        feed(worker, observer, [message(1, 0, 0) + message(2, 0, 1)], peer[1])
        worker.refill()
        assert (worker.senders[0].acked, worker.senders[0].sent) == (2, 4)
        decoder = FrameDecoder()
        decoder.receive_data(sender_ends[1].recv(65536))
        says = []
        while (frame := decoder.next_frame()) is not None:
            says.append(parse_client_packet(frame))
        assert [say.text.split("~")[3] for say in says if isinstance(say, p.Say)] == [
            "0",
            "1",
            "2",
            "3",
        ]
        assert worker.report.observer_latency_us.count == 2
    finally:
        for end in sender_ends:
            end.close()


def test_a_ping_is_answered_with_its_id(
    worker: Worker, peer: tuple[socket.socket, socket.socket]
) -> None:
    conn = connected(worker, peer[0], ClientPlan(3))
    feed(worker, conn, [JOINED + encode_packet(p.Ping(id=[7, "x"]))], peer[1])
    decoder = FrameDecoder()
    decoder.receive_data(peer[1].recv(65536))
    assert parse_client_packet(decoder.next_frame() or b"") == p.Pong(id=[7, "x"])
    assert worker.report.pings == 1


def test_an_error_frame_becomes_a_note_and_a_close_is_recorded(
    worker: Worker, peer: tuple[socket.socket, socket.socket]
) -> None:
    conn = connected(worker, peer[0], ClientPlan(3))
    error = encode_packet(p.Error(code="slow_consumer", message="too slow", fatal=True))
    feed(worker, conn, [error], peer[1])
    peer[1].close()
    worker.on_readable(conn)
    assert worker.report.notes == ["slow_consumer: too slow"]
    assert [(index, why) for index, why, _ in worker.report.closed] == [(3, "closed by the server")]
