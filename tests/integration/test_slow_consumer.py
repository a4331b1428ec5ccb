"""A client that never reads (PROTOCOL.md §6, "No one stalls the room").

Three clients chat with large texts, each sending its next message once its previous one
came back; a fourth never reads. The fourth is dropped (``slow_consumer`` as far as it can
be delivered, then its socket closes) and announced once as ``disconnected``; the others get
every message, in order, promptly; the server's memory does not grow with the traffic the
lazy client missed.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from localchat.adapters.memory.store import InMemoryMessageStore
from localchat.adapters.tcp.client import CLIENT_MAX_FRAME_BYTES, ChatClient, ConnectionClosed
from localchat.adapters.wire import packets as p
from localchat.adapters.wire.framing import FrameDecoder
from localchat.adapters.wire.schema import ServerPacket, parse_server_packet
from tests.integration.support import Inbox, read_raw, vm_rss_kib
from tests.servers import RunningServer
from tests.wire_support import hello_frame

SENDERS = 3
TEXT_CHARS = 16_000
MESSAGES = 350  # per sender: 3 x 350 x 16 KB = 16.8 MB that the lazy client should get
MAX_ROUND_TRIP = 2.0  # seconds; generous: a stalled room would take far longer
RSS_GROWTH_LIMIT_KIB = 8 * 1024


@dataclass
class Talker:
    """Sends its messages one at a time (the next once the echo is back) and counts all."""

    client: ChatClient
    name: str
    received: dict[str, int] = field(default_factory=dict)
    departures: list[p.Left] = field(default_factory=list)
    errors: list[ServerPacket] = field(default_factory=list)
    worst_round_trip: float = 0.0
    failure: str | None = None

    def run(self, total: int) -> None:
        try:
            for index in range(MESSAGES):
                sent_at = time.monotonic()
                self.client.say(f"{self.name} {index} " + "x" * TEXT_CHARS)
                while self.received.get(self.name, 0) <= index:
                    self.take(self.client.receive(timeout=10))
                self.worst_round_trip = max(self.worst_round_trip, time.monotonic() - sent_at)
            while sum(self.received.values()) < total:
                self.take(self.client.receive(timeout=10))
        except (TimeoutError, ConnectionClosed) as error:
            self.failure = repr(error)

    def take(self, packet: ServerPacket) -> None:
        if isinstance(packet, p.ChatMessage):
            sender, index, _ = packet.text.split(" ", 2)
            expected = self.received.get(sender, 0)
            if int(index) != expected and self.failure is None:
                self.failure = f"{sender}: got {index}, expected {expected}"
            self.received[sender] = expected + 1
        elif isinstance(packet, p.Left):
            self.departures.append(packet)
        elif isinstance(packet, p.Error):
            self.errors.append(packet)


def test_a_client_that_never_reads_is_dropped_alone(
    start_server: Callable[..., RunningServer],
) -> None:
    server = start_server(
        max_outbound_bytes=64 * 1024,
        max_text_chars=TEXT_CHARS + 100,
        max_frame_bytes=65_536,
        # The history kept in memory is bounded by design (1,000 per room); keep it small
        # so that what the memory check sees is the transport.
        store=InMemoryMessageStore(keep_per_room=10),
    )
    talkers = [Talker(server.connect(f"talker{i}"), f"talker{i}") for i in range(SENDERS)]
    lazy = socket.socket()
    lazy.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    lazy.connect(("127.0.0.1", server.port))
    lazy.sendall(hello_frame("lazy"))
    for talker in talkers:  # every talker has heard that lazy joined
        while True:
            packet = talker.client.receive(timeout=5)
            if isinstance(packet, p.Joined) and packet.name == "lazy":
                break
    rss_before = vm_rss_kib()
    started = time.monotonic()

    total = SENDERS * MESSAGES
    threads = [threading.Thread(target=talker.run, args=(total,)) for talker in talkers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    elapsed = time.monotonic() - started
    rss_growth = vm_rss_kib() - rss_before

    for talker in talkers:
        assert talker.failure is None, f"{talker.name}: {talker.failure}"
        assert talker.received == {t.name: MESSAGES for t in talkers}
        assert [(x.room, x.name, x.reason) for x in talker.departures] == [
            ("#lobby", "lazy", "disconnected")
        ]
        assert talker.errors == []
        assert talker.worst_round_trip < MAX_ROUND_TRIP, talker.worst_round_trip
    assert elapsed < 30, elapsed
    assert rss_growth < RSS_GROWTH_LIMIT_KIB, f"the server grew by {rss_growth} KiB"

    # The lazy client's socket was closed: reading drains what the kernel held, then EOF.
    missed = read_raw(lazy, timeout=10)
    lazy.close()
    errors = [packet for packet in missed if isinstance(packet, p.Error)]
    assert all((e.code, e.fatal) == ("slow_consumer", True) for e in errors), errors
    assert len(errors) <= 1
    assert isinstance(missed[0], p.Welcome)
    assert server.server.service.user_count == SENDERS


def test_a_slow_reader_gets_slow_consumer_on_a_frame_boundary(
    start_server: Callable[..., RunningServer],
) -> None:
    """A client that reads, but too slowly: its stream ends with a whole ``slow_consumer``
    frame right after the last whole frame, never with a cut frame followed by the error."""
    server = start_server(
        max_outbound_bytes=64 * 1024, store=InMemoryMessageStore(keep_per_room=10)
    )
    slow = socket.socket()
    slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    slow.connect(("127.0.0.1", server.port))
    slow.sendall(hello_frame("slow"))
    stream = bytearray()
    stop = threading.Event()

    def read_slowly() -> None:
        while not stop.wait(0.002):  # about 4 MB/s: slower than the room
            try:
                data = slow.recv(8000)
            except OSError:
                return
            if not data:
                return
            stream.extend(data)

    reader = threading.Thread(target=read_slowly)
    reader.start()
    try:
        talkers = [Inbox(server.connect(f"talker{i}")) for i in range(3)]
        for round_number in range(5000):
            if talkers[0].of_type(p.Left):
                break
            for talker in talkers:
                talker.client.say(f"{round_number} " + "y" * 3000)
        talkers[0].wait_for(p.Left)
        reader.join(10)
        assert not reader.is_alive(), "the server did not close the slow client"
    finally:
        stop.set()
        reader.join(2)
        slow.close()

    decoder = FrameDecoder(CLIENT_MAX_FRAME_BYTES)
    decoder.receive_data(bytes(stream))
    decoder.receive_eof()
    packets = []
    while (payload := decoder.next_frame()) is not None:  # raises on a cut frame
        packets.append(parse_server_packet(payload))  # raises on garbage
    assert isinstance(packets[0], p.Welcome)
    assert isinstance(packets[-1], p.Error)
    assert (packets[-1].code, packets[-1].fatal) == ("slow_consumer", True)
    assert len([x for x in packets if isinstance(x, p.Error)]) == 1
    (left,) = talkers[1].wait_for(p.Left)
    assert (left.name, left.reason) == ("slow", "disconnected")
