"""LocalChatServer.stop with clients connected (in-process; the real process is in
test_cli_shutdown.py): everyone is told ``shutting_down`` and the transport stops in time."""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Callable

import pytest

from localchat.adapters.wire import packets as p
from tests.integration.support import Inbox, read_raw
from tests.servers import RunningServer
from tests.wire_support import hello_frame


def test_stop_tells_everyone_and_finishes_within_its_timeout(
    start_server: Callable[..., RunningServer], caplog: pytest.LogCaptureFixture
) -> None:
    server = start_server()
    inbox = Inbox(server.connect("ada"))
    # A client that neither reads nor closes: the server must not wait for it past the timeout.
    stubborn = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    stubborn.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stubborn.sendall(hello_frame("stubborn"))
    inbox.wait_for(p.Joined)
    half_open = socket.create_connection(("127.0.0.1", server.port), timeout=5)  # no hello

    caplog.set_level(logging.WARNING)
    started = time.monotonic()
    server.server.stop(timeout=1.5)
    assert time.monotonic() - started < 1.5
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], caplog.text

    inbox.wait_closed()
    errors = inbox.of_type(p.Error)
    assert [(e.code, e.fatal) for e in errors] == [("shutting_down", True)]
    assert not inbox.of_type(p.Left)
    for sock in (stubborn, half_open):
        packets = read_raw(sock, timeout=2)
        sock.close()
        assert isinstance(packets[-1], p.Error)
        assert (packets[-1].code, packets[-1].fatal) == ("shutting_down", True)


def test_a_restarted_server_gets_its_port_back(start_server: Callable[..., RunningServer]) -> None:
    """SO_REUSEADDR: connections the old server closed (now in TIME_WAIT) do not keep a new
    server from listening on the same port."""
    first = start_server()
    port = first.port
    clients = [first.connect(f"user{i}") for i in range(3)]
    clients[0].say("before the restart")
    first.server.stop(timeout=2)  # the server closes first: TIME_WAIT is on its side
    for client in clients:
        client.close()
    second = start_server(port=port)
    assert second.port == port
    again = second.connect("user0")
    again.say("after the restart")
    message = again.receive(timeout=5)
    assert isinstance(message, p.ChatMessage)
    assert (message.seq, message.text) == (1, "after the restart")
