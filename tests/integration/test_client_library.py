"""The client library (ChatClient) over real sockets: threads, timeouts, closing."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from localchat.adapters.tcp.client import ChatClient, ConnectionClosed
from localchat.adapters.wire import packets as p
from tests.integration.support import Inbox
from tests.servers import RunningServer
from tests.wire_support import json_frame


def test_a_blocked_send_is_not_cut_short_by_a_receive_timeout(
    start_server: Callable[..., RunningServer],
) -> None:
    """One thread receives with short timeouts while another sends more than the kernel
    buffers hold to a server that reads slowly (flood control): the send waits; it does not
    fail with the reader's timeout (which would leave half a frame on the wire)."""
    server = start_server(rate_limit=1, rate_burst=1)
    client = server.connect("flooder")
    inbox = Inbox(client)  # receive(timeout=0.2) in a loop
    big = json_frame({"type": "say", "text": "x", "pad": "p" * 60_000})
    failures: list[BaseException] = []

    def send_a_lot() -> None:
        try:
            for _ in range(400):  # 24 MB: far more than the socket buffers
                client.send_raw(big)
        except ConnectionClosed as error:
            failures.append(error)

    sender = threading.Thread(target=send_a_lot)
    sender.start()
    sender.join(1.5)  # several receive timeouts
    assert sender.is_alive(), f"the send ended early: {failures}"
    assert not failures
    assert not inbox.closed.is_set()
    client.close()  # unblocks the send
    sender.join(5)
    assert not sender.is_alive()


def test_close_from_another_thread_ends_a_blocked_receive(chat_server: RunningServer) -> None:
    client = chat_server.connect("ada")
    outcome: list[BaseException] = []

    def wait_forever() -> None:
        try:
            client.receive()  # no timeout
        except ConnectionClosed as error:
            outcome.append(error)

    reader = threading.Thread(target=wait_forever)
    reader.start()
    client.close()
    reader.join(5)
    assert not reader.is_alive()
    assert len(outcome) == 1
    with pytest.raises(ConnectionClosed):
        client.receive(timeout=1)


def test_receive_times_out_and_the_connection_goes_on(chat_server: RunningServer) -> None:
    client = chat_server.connect("ada")
    with pytest.raises(TimeoutError):
        client.receive(timeout=0.05)
    client.say("still fine")
    message = client.receive(timeout=5)
    assert isinstance(message, p.ChatMessage)
    assert message.text == "still fine"


def test_the_context_manager_says_bye(chat_server: RunningServer) -> None:
    watcher = Inbox(chat_server.connect("watcher"))
    with ChatClient.connect("127.0.0.1", chat_server.port, name="brief") as brief:
        brief.say("hi")
    (left,) = watcher.wait_for(p.Left)
    assert (left.name, left.reason) == ("brief", "quit")
