"""Who may register (PROTOCOL.md §7): ``max_clients`` and ``password``."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from localchat.adapters.tcp.client import ChatClient, ServerRefused
from localchat.adapters.wire import packets as p
from tests.integration.support import Inbox, expect_closed, expect_fatal
from tests.servers import RunningServer
from tests.wire_support import hello_frame, json_frame


def test_max_clients_refuses_the_next_with_server_full(
    start_server: Callable[..., RunningServer],
) -> None:
    server = start_server(max_clients=2)
    ada = Inbox(server.connect("ada"))
    bob = server.connect("bob")
    third = server.open()
    third.send_raw(hello_frame("carol"))
    expect_fatal(third, "server_full")
    # Nobody heard of carol.
    ada.wait_for(p.Joined)
    # A place frees up: the next one gets in.
    bob.bye()
    expect_closed(bob)
    ada.wait_for(p.Left)
    carol = server.connect("carol")
    assert carol.welcome is not None
    assert carol.welcome.users == ["ada", "carol"]
    assert [j.name for j in ada.wait_for(p.Joined, count=2)] == ["bob", "carol"]


def test_connections_waiting_for_hello_do_not_take_places(
    start_server: Callable[..., RunningServer],
) -> None:
    server = start_server(max_clients=2)
    waiting = server.open()  # connected, no hello yet
    server.connect("ada")
    server.connect("bob")
    waiting.send_raw(hello_frame("late"))
    expect_fatal(waiting, "server_full")


@pytest.mark.parametrize(
    ("extra", "code"),
    [
        ({}, "auth_failed"),
        ({"password": "wrong"}, "auth_failed"),
        ({"password": ""}, "auth_failed"),
    ],
    ids=["none", "wrong", "empty"],
)
def test_a_password_is_required(
    start_server: Callable[..., RunningServer], extra: dict[str, str], code: str
) -> None:
    server = start_server(password="s3cret ✓")
    client = server.open()
    client.send_raw(hello_frame("ada", **extra))
    expect_fatal(client, code)
    assert server.server.service.user_count == 0


def test_the_right_password_gets_in(start_server: Callable[..., RunningServer]) -> None:
    server = start_server(password="s3cret ✓")
    ada = server.connect("ada", password="s3cret ✓")
    assert ada.welcome is not None
    with pytest.raises(ServerRefused) as refused:
        ChatClient.connect("127.0.0.1", server.port, name="bob", password="S3CRET ✓")
    assert refused.value.code == "auth_failed"


def test_a_password_is_ignored_when_none_is_set(chat_server: RunningServer) -> None:
    client = chat_server.open()
    client.send_raw(json_frame({"type": "hello", "name": "ada", "protocol": 1, "password": "x"}))
    assert isinstance(client.receive(timeout=5), p.Welcome)
