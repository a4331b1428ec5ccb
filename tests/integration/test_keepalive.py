"""Timers (PROTOCOL.md §2) with small settings: handshake timeout, ping, idle timeout."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable

import pytest

from localchat.adapters.tcp.client import ChatClient
from localchat.adapters.wire import packets as p
from tests.integration.support import Inbox, expect_fatal, read_raw
from tests.servers import RunningServer
from tests.wire_support import hello_frame

TIMERS = {"handshake_timeout": 0.3, "ping_interval": 0.2, "idle_timeout": 0.6}


class PongCountingClient(ChatClient):
    """The client library, counting the pongs it sends for the server's pings."""

    pongs = 0

    def send(self, packet: p.Packet) -> None:
        if isinstance(packet, p.Pong):
            self.pongs += 1
        super().send(packet)


@pytest.fixture
def server(start_server: Callable[..., RunningServer]) -> RunningServer:
    return start_server(**TIMERS)


@pytest.mark.parametrize("sent", [b"", hello_frame("ada")[:7]], ids=["nothing", "half_a_hello"])
def test_no_hello_in_time_is_fatal(server: RunningServer, sent: bytes) -> None:
    client = server.open()
    started = time.monotonic()
    client.send_raw(sent)
    expect_fatal(client, "handshake_timeout")
    assert time.monotonic() - started >= 0.9 * TIMERS["handshake_timeout"]


def test_answering_pings_keeps_a_silent_client_connected(server: RunningServer) -> None:
    client = PongCountingClient.connect("127.0.0.1", server.port, name="ada")
    server.clients.append(client)
    inbox = Inbox(client)  # the library reads and answers each ping
    started = time.monotonic()
    # Five pings: the client sent nothing but pongs for more than idle_timeout.
    deadline = 5.0
    while client.pongs < 5:
        assert time.monotonic() - started < deadline, "the server sent too few pings"
        inbox.closed.wait(0.05)
        assert not inbox.closed.is_set(), f"dropped: {inbox.packets}"
    assert time.monotonic() - started > TIMERS["idle_timeout"]
    client.say("still here")
    (message,) = inbox.wait_for(p.ChatMessage)
    assert message.text == "still here"
    assert not inbox.of_type(p.Error)


def test_a_silent_client_gets_a_ping_then_timeout(server: RunningServer) -> None:
    watcher = PongCountingClient.connect("127.0.0.1", server.port, name="watcher")
    server.clients.append(watcher)
    inbox = Inbox(watcher)
    silent = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    silent.sendall(hello_frame("sleepy"))
    started = time.monotonic()
    packets = read_raw(silent, timeout=5)  # reads, but never answers
    elapsed = time.monotonic() - started
    silent.close()
    kinds = [type(packet) for packet in packets]
    assert kinds == [p.Welcome, p.HistoryPage, p.Ping, p.Error], packets
    error = packets[-1]
    assert isinstance(error, p.Error)
    assert (error.code, error.fatal) == ("timeout", True)
    assert elapsed >= 0.9 * TIMERS["idle_timeout"]
    (left,) = inbox.wait_for(p.Left)
    assert (left.room, left.name, left.reason) == ("#lobby", "sleepy", "timeout")
    assert not inbox.closed.is_set()


def test_a_client_ping_is_answered_with_its_id(server: RunningServer) -> None:
    client = server.connect("ada")
    for ping_id in [None, 0, "x", [1, {"a": None}], 9007199254740991]:
        client.ping(ping_id)
        answer = client.receive(timeout=5)
        assert answer == p.Pong(id=ping_id)
