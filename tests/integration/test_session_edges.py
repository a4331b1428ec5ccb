"""Session edges over real sockets: races at registration, leaving in odd ways."""

from __future__ import annotations

import socket
import struct

import pytest

from localchat.adapters.tcp.client import ChatClient, ServerRefused
from localchat.adapters.wire import packets as p
from tests.helpers import wait_until
from tests.integration.support import Inbox, expect_closed, read_raw
from tests.servers import RunningServer
from tests.wire_support import hello_frame, json_frame


@pytest.mark.parametrize("rst", [False, True], ids=["close", "reset"])
def test_hello_then_gone_leaves_no_ghost(chat_server: RunningServer, rst: bool) -> None:
    """A client that vanishes while its hello is being handled is announced as gone (if
    it was announced at all), and its name is free."""
    watcher = Inbox(chat_server.connect("watcher"))
    for _ in range(5):
        sock = socket.create_connection(("127.0.0.1", chat_server.port), timeout=5)
        sock.sendall(hello_frame("ghost"))
        if rst:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()

    def register_ghost() -> ChatClient | None:
        """The name is free once the server has noticed the departures."""
        try:
            return ChatClient.connect("127.0.0.1", chat_server.port, name="ghost")
        except ServerRefused as refused:
            if refused.code != "name_taken":
                raise
            return None

    ghost = wait_until(register_ghost, what="the name ghost to be free")
    chat_server.clients.append(ghost)
    ghost.bye()
    expect_closed(ghost)
    watcher.wait_for(p.Left, lambda x: x.reason == "quit")
    watcher.client.list_users()
    (listed,) = watcher.wait_for(p.UserList)
    assert listed.users == ["watcher"]
    joined = [j.name for j in watcher.of_type(p.Joined)]
    left = [(x.name, x.reason) for x in watcher.of_type(p.Left)]
    assert len(joined) == len(left)  # every announced arrival was followed by its departure
    assert left.count(("ghost", "quit")) == 1


def test_bye_then_close_is_a_quit_announced_once(chat_server: RunningServer) -> None:
    watcher = Inbox(chat_server.connect("watcher"))
    sock = socket.create_connection(("127.0.0.1", chat_server.port), timeout=5)
    sock.sendall(hello_frame("leaver") + json_frame({"type": "join", "room": "#den"}))
    watcher.client.join("#den")
    watcher.wait_for(p.UserList)
    watcher.wait_for(p.Joined, lambda j: j.name == "leaver", count=1)
    sock.sendall(json_frame({"type": "bye"}))
    sock.close()
    watcher.wait_for(p.Left, count=2)
    watcher.client.say("after", room="#den")
    watcher.client.say("after")
    watcher.wait_for(p.ChatMessage, count=2)
    assert sorted((x.room, x.name, x.reason) for x in watcher.of_type(p.Left)) == [
        ("#den", "leaver", "quit"),
        ("#lobby", "leaver", "quit"),
    ]


def test_hello_and_bye_in_one_send(chat_server: RunningServer) -> None:
    watcher = Inbox(chat_server.connect("watcher"))
    sock = socket.create_connection(("127.0.0.1", chat_server.port), timeout=5)
    sock.sendall(hello_frame("brief") + json_frame({"type": "bye"}))
    packets = read_raw(sock)
    sock.close()
    assert [type(x) for x in packets] == [p.Welcome, p.HistoryPage]
    watcher.wait_for(p.Left)
    assert [(x.name, x.reason) for x in watcher.of_type(p.Left)] == [("brief", "quit")]


def test_many_hellos_with_one_name_at_once(chat_server: RunningServer) -> None:
    spellings = ["ada", "Ada", "ADA", "ada", "AdA", "aDa", "adA", "ADa", "Ada", "aDA"]
    address = ("127.0.0.1", chat_server.port)
    socks = [socket.create_connection(address, timeout=5) for _ in spellings]
    for sock, spelling in zip(socks, spellings, strict=True):
        sock.sendall(hello_frame(spelling))
    outcomes = []
    for sock in socks:
        client = ChatClient(sock)
        chat_server.clients.append(client)
        first = client.receive(timeout=5)
        outcomes.append(first.type if isinstance(first, p.Welcome) else first.code)  # type: ignore[union-attr]
    assert sorted(outcomes) == ["name_taken"] * 9 + ["welcome"]
    assert chat_server.server.service.user_count == 1
