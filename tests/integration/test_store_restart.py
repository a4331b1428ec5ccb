"""A real ``localchat run-server`` process with a history file: ``kill -9`` in the middle of a
burst loses nothing anyone saw, a SIGTERM restart keeps everything, and ``seq`` continues."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from localchat.adapters.tcp.client import ChatClient, ClientError
from localchat.adapters.wire import packets as p
from tests.cli_process import ServerProcess
from tests.helpers import wait_until
from tests.integration.support import next_packet

Seen = tuple[str, int, str, str]  # room, seq, sender, text


@pytest.fixture
def launch(server_process: Callable[..., ServerProcess]) -> Callable[..., ServerProcess]:
    """Factory: ``launch(*args, **env)`` starts ``localchat run-server`` on a free port, no
    flood control, and returns it once it listens (killed at teardown if still running)."""

    def start(*args: str, **env: str) -> ServerProcess:
        server = server_process(
            "--port", "0", "--log-level", "warning", *args, LOCALCHAT_RATE_LIMIT="0", **env
        )
        server.address()
        return server

    return start


def history_of(client: ChatClient, room: str) -> list[Seen]:
    """The whole history of ``room``, paged backwards with ``history`` (limit 200)."""
    found: list[Seen] = []
    before: int | None = None
    while True:
        client.history(room, before=before, limit=200)
        page = next_packet(client, p.HistoryPage)
        if not page.messages:
            return found
        found[:0] = [(m.room, m.seq, m.sender, m.text) for m in page.messages]
        before = page.messages[0].seq


def messages_until(client: ChatClient, text: str) -> list[p.ChatMessage]:
    """Every message ``client`` receives up to the one with ``text``."""
    messages: list[p.ChatMessage] = []
    while not messages or messages[-1].text != text:
        packet = client.receive(timeout=5)
        if isinstance(packet, p.ChatMessage):
            messages.append(packet)
    return messages


def burst(server: ServerProcess, name: str, seen: list[Seen], window: int = 8) -> None:
    """Send until the connection breaks, ``window`` messages in flight; record every
    message this client sees (its echoes and the others')."""
    try:
        client = server.connect(name)
    except (ClientError, OSError):
        return
    sent = echoed = 0
    try:
        while True:
            while sent - echoed < window:
                sent += 1
                client.say(f"{name} {sent}")
            packet = client.receive(timeout=10)
            if isinstance(packet, p.ChatMessage):
                seen.append((packet.room, packet.seq, packet.sender, packet.text))
                echoed += packet.sender == name
    except (ClientError, OSError):
        return
    finally:
        client.close()


def test_kill_9_in_a_burst_loses_nothing_anyone_saw(
    tmp_path: Path, launch: Callable[..., ServerProcess]
) -> None:
    store = tmp_path / "x.db"
    server = launch("--store", str(store))
    assert f"message history: {store}" in server.lines
    seen: list[Seen] = []  # list.append is atomic: the senders share it
    senders = [
        threading.Thread(target=burst, args=(server, f"user{i}", seen), daemon=True)
        for i in range(4)
    ]
    for sender in senders:
        sender.start()
    wait_until(lambda: len(seen) >= 400, timeout=30, what="a burst under way")
    server.kill()
    for sender in senders:
        sender.join(timeout=15)
    assert not any(sender.is_alive() for sender in senders)

    restarted = launch("--store", str(store))
    with restarted.connect("reader") as reader:
        stored = history_of(reader, "#lobby")
        assert [seq for _, seq, _, _ in stored] == list(range(1, len(stored) + 1))
        assert set(seen) <= set(stored)
        reader.say("after the crash")
        assert next_packet(reader, p.ChatMessage).seq == len(stored) + 1


def test_sigterm_restart_keeps_everything_and_rooms_come_back(
    tmp_path: Path, launch: Callable[..., ServerProcess]
) -> None:
    store = tmp_path / "x.db"
    server = launch("--store", str(store))
    with server.connect("ada") as ada:
        for i in range(1, 11):
            ada.say(f"lobby {i}")
        ada.join("#Side")
        for i in range(1, 4):
            ada.say(f"side {i}", room="#side")
        ada.leave("#side")  # the room is deleted, its history stays
        ada.join("#side")
        ada.say("side 4", room="#side")
        side = [m for m in messages_until(ada, "side 4") if m.room == "#side"]
        assert [(m.seq, m.text) for m in side] == [(i, f"side {i}") for i in range(1, 5)]
    assert server.stop() == 0

    restarted = launch("--store", str(store))
    with restarted.connect("bob") as bob:
        lobby = history_of(bob, "#lobby")
        assert [(seq, text) for _, seq, _, text in lobby] == [
            (i, f"lobby {i}") for i in range(1, 11)
        ]
        bob.join("#side")
        page = next_packet(bob, p.HistoryPage)
        assert [(m.seq, m.text) for m in page.messages] == [
            (1, "side 1"),
            (2, "side 2"),
            (3, "side 3"),
            (4, "side 4"),
        ]
        bob.say("side 5", room="#side")
        assert next_packet(bob, p.ChatMessage).seq == 5
        bob.say("lobby 11")
        assert next_packet(bob, p.ChatMessage).seq == 11


def test_the_default_store_is_in_the_user_data_directory(
    tmp_path: Path, launch: Callable[..., ServerProcess]
) -> None:
    data_home = tmp_path / "data"
    server = launch(XDG_DATA_HOME=str(data_home))
    expected = data_home / "localchat" / "history.db"
    assert f"message history: {expected}" in server.lines
    with server.connect("ada") as ada:
        ada.say("kept by default")
        next_packet(ada, p.ChatMessage)
    assert server.stop() == 0
    assert expected.is_file()
