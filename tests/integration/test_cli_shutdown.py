"""SIGTERM and SIGINT stop the real ``localchat run-server`` process (PROTOCOL.md §2):
every client gets fatal ``shutting_down``, nobody gets ``left``, exit code 0 within 5 s."""

from __future__ import annotations

import signal
import socket
import time
from collections.abc import Callable

import pytest

from localchat.adapters.tcp.client import ChatClient
from localchat.adapters.wire import packets as p
from tests.cli_process import ServerProcess
from tests.integration.support import expect_closed, next_packet
from tests.wire_support import hello_frame


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_shuts_the_server_down(
    server_process: Callable[..., ServerProcess], signum: int
) -> None:
    server = server_process("--host", "127.0.0.1", "--port", "0", memory_store=True)
    host, port = server.address()
    assert host == "127.0.0.1"
    clients = [ChatClient.connect(host, port, name=name) for name in ("ada", "bob", "carol")]
    try:
        for client in clients[:2]:
            client.join("#den")
            next_packet(client, p.UserList)
        clients[0].say("before", room="#den")
        for client in clients[:2]:
            assert next_packet(client, p.ChatMessage).text == "before"

        started = time.monotonic()
        server.process.send_signal(signum)
        for client in clients:
            packets = expect_closed(client, timeout=5)
            client.close()
            assert isinstance(packets[-1], p.Error), packets
            assert (packets[-1].code, packets[-1].fatal) == ("shutting_down", True)
            assert not [x for x in packets if isinstance(x, p.Left)], packets
        assert server.process.wait(5) == 0
        assert time.monotonic() - started < 5
        output = server.output()
        assert "Traceback" not in output, output
    finally:
        for client in clients:
            client.close()


def test_clients_that_do_not_read_cannot_hold_the_server_up(
    server_process: Callable[..., ServerProcess],
) -> None:
    server = server_process(
        "--host", "127.0.0.1", "--port", "0", "--rate-limit", "0", memory_store=True
    )
    host, port = server.address()
    stubborn = []
    for index in range(3):  # registered, then neither reading nor closing
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect((host, port))
        sock.sendall(hello_frame(f"stubborn{index}"))
        stubborn.append(sock)
    stubborn.append(socket.create_connection((host, port)))  # no hello at all
    talker = ChatClient.connect(host, port, name="talker")
    try:
        for _ in range(50):  # fill the stubborn clients' buffers a little
            talker.say("x" * 3000)
        while True:
            packet = talker.receive(timeout=5)
            if isinstance(packet, p.ChatMessage) and packet.seq == 50:
                break
        started = time.monotonic()
        assert server.stop(signal.SIGTERM, timeout=10) == 0
        assert time.monotonic() - started < 5
        assert "Traceback" not in server.output()
    finally:
        talker.close()
        for sock in stubborn:
            sock.close()
