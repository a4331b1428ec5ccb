"""Clients that vanish without ``bye`` (PROTOCOL.md §6, "Departures are announced").

A plain close (FIN), a reset (SO_LINGER 0, then close: RST), a close in the middle of a
frame and a reset with unread input: every remaining member of each of the client's rooms
gets ``left`` with reason ``disconnected`` exactly once, and the server keeps serving.
"""

from __future__ import annotations

import socket
import struct

import pytest

from localchat.adapters.tcp.client import ChatClient
from localchat.adapters.wire import packets as p
from localchat.adapters.wire.framing import encode_frame
from tests.integration.support import Inbox
from tests.servers import RunningServer
from tests.wire_support import json_frame


def registered_socket(server: RunningServer, name: str) -> tuple[socket.socket, ChatClient]:
    """A registered client whose socket the test holds, to close it as rudely as it likes."""
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    client = ChatClient(sock)
    server.clients.append(client)
    client.hello(name)
    return sock, client


def reset(sock: socket.socket) -> None:
    """Close with SO_LINGER 0: the kernel sends RST instead of FIN."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def plain_close(sock: socket.socket) -> None:
    sock.close()


def close_mid_frame(sock: socket.socket) -> None:
    data = json_frame({"type": "say", "text": "never finished"})
    sock.sendall(data[:9])
    sock.close()


def reset_with_unread_input(sock: socket.socket) -> None:
    # A frame the server cannot judge yet (the payload is cut short), then RST.
    sock.sendall(struct.pack(">I", 1000) + b'{"type":')
    reset(sock)


@pytest.mark.parametrize(
    "vanish",
    [plain_close, reset, close_mid_frame, reset_with_unread_input],
    ids=lambda f: f.__name__,
)
def test_a_vanished_client_is_announced_once(chat_server: RunningServer, vanish: object) -> None:
    lobby_only = Inbox(chat_server.connect("lobby_only"))
    roommate = chat_server.connect("roommate")
    roommate.join("#den")
    roommate_inbox = Inbox(roommate)
    roommate_inbox.wait_for(p.UserList)

    sock, ghost = registered_socket(chat_server, "ghost")
    ghost.join("#den")
    roommate_inbox.wait_for(p.Joined, lambda j: j.room == "#den" and j.name == "ghost")
    lobby_only.wait_for(p.Joined, lambda j: j.name == "ghost")

    vanish(sock)  # type: ignore[operator]

    roommate_inbox.wait_for(p.Left, lambda x: x.room == "#den")
    lobby_only.wait_for(p.Left)
    # Later traffic in both rooms: one order per room, so a duplicate `left` would be here.
    roommate.say("still here", room="#den")
    roommate.say("still here")
    roommate_inbox.wait_for(p.ChatMessage, count=2)
    lobby_only.wait_for(p.ChatMessage)
    assert sorted((x.room, x.name, x.reason) for x in roommate_inbox.of_type(p.Left)) == [
        ("#den", "ghost", "disconnected"),
        ("#lobby", "ghost", "disconnected"),
    ]
    assert [(x.room, x.name, x.reason) for x in lobby_only.of_type(p.Left)] == [
        ("#lobby", "ghost", "disconnected")
    ]

    # The server keeps serving, and the name is free again.
    again = chat_server.connect("ghost")
    again.say("back")
    lobby_only.wait_for(p.ChatMessage, lambda m: m.sender == "ghost" and m.text == "back")
    assert chat_server.server.service.user_count == 3


@pytest.mark.parametrize("vanish", [plain_close, reset], ids=lambda f: f.__name__)
def test_a_client_that_vanishes_before_hello_is_not_announced(
    chat_server: RunningServer, vanish: object
) -> None:
    watcher = Inbox(chat_server.connect("watcher"))
    sock = socket.create_connection(("127.0.0.1", chat_server.port), timeout=5)
    sock.sendall(encode_frame(b'{"type":"hel'))
    vanish(sock)  # type: ignore[operator]
    latecomer = chat_server.connect("latecomer")
    latecomer.say("hi")
    watcher.wait_for(p.ChatMessage)
    assert [type(x).__name__ for x in watcher.packets] == ["Joined", "ChatMessage"]
