"""End to end over real sockets: two clients chat in #lobby."""

from __future__ import annotations

from localchat.adapters.wire import packets as p
from tests.servers import RunningServer


def test_two_clients_chat_in_the_lobby(chat_server: RunningServer) -> None:
    ada = chat_server.connect("ada")
    bob = chat_server.connect("Bob")
    joined = ada.receive(timeout=5)
    assert joined == p.Joined(room="#lobby", name="Bob", at=joined.at)  # type: ignore[union-attr]

    bob.say("hello, ada")

    for client in (ada, bob):
        message = client.receive(timeout=5)
        assert isinstance(message, p.ChatMessage)
        assert (message.room, message.seq, message.sender, message.text) == (
            "#lobby",
            1,
            "Bob",
            "hello, ada",
        )
