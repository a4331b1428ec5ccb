"""A real ``localchat run-server`` process with a history file: ``kill -9`` in the middle of a
burst loses nothing anyone saw, a SIGTERM restart keeps everything, and ``seq`` continues."""

from __future__ import annotations

import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from localchat.adapters.tcp.client import ChatClient, ClientError
from localchat.adapters.wire import packets as p
from tests.cli_process import safe_cli_env
from tests.helpers import wait_until

Seen = tuple[str, int, str, str]  # room, seq, sender, text


class ServerProcess:
    """``localchat run-server`` on 127.0.0.1 and a port the kernel picks."""

    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        command = [sys.executable, "-m", "localchat", "run-server", "--host", "127.0.0.1"]
        self.process = subprocess.Popen(
            [*command, "--port", "0", "--log-level", "warning", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=safe_cli_env(LOCALCHAT_RATE_LIMIT="0", **(env or {})),
        )
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()
        self.stdout: list[str] = []
        while True:
            try:
                line = self.lines.get(timeout=20)
            except queue.Empty:
                self.process.kill()
                raise AssertionError(f"no 'listening on' line; got {self.stdout}") from None
            self.stdout.append(line)
            if line.startswith("listening on "):
                self.port = int(line.rsplit(":", 1)[1])
                return
            if not line:
                raise AssertionError(f"the server exited: {self.process.communicate()[1]}")

    def _pump(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put("")

    def connect(self, name: str) -> ChatClient:
        client = ChatClient.connect("127.0.0.1", self.port, name=name)
        client.receive(timeout=5)  # the #lobby backlog after welcome
        return client

    def terminate(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=10)

    def kill(self) -> None:
        self.process.kill()  # SIGKILL: no shutdown code runs
        self.process.wait(timeout=10)


@pytest.fixture
def launch() -> Iterator[Callable[..., ServerProcess]]:
    """Factory: ``launch(*args, env=...)`` starts a server process; all are killed at teardown."""
    started: list[ServerProcess] = []

    def start(*args: str, env: dict[str, str] | None = None) -> ServerProcess:
        started.append(ServerProcess(*args, env=env))
        return started[-1]

    yield start
    for server in started:
        if server.process.poll() is None:
            server.kill()
        server.process.communicate()


def history_of(client: ChatClient, room: str) -> list[Seen]:
    """The whole history of ``room``, paged backwards with ``history`` (limit 200)."""
    found: list[Seen] = []
    before: int | None = None
    while True:
        client.history(room, before=before, limit=200)
        page = next(pk for pk in client.packets(timeout=5) if isinstance(pk, p.HistoryPage))
        if not page.messages:
            return found
        found[:0] = [(m.room, m.seq, m.sender, m.text) for m in page.messages]
        before = page.messages[0].seq


def next_message(client: ChatClient) -> p.ChatMessage:
    return next(pk for pk in client.packets(timeout=5) if isinstance(pk, p.ChatMessage))


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
    assert f"message history: {store}" in server.stdout
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
        assert next_message(reader).seq == len(stored) + 1


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
    assert server.terminate() == 0

    restarted = launch("--store", str(store))
    with restarted.connect("bob") as bob:
        lobby = history_of(bob, "#lobby")
        assert [(seq, text) for _, seq, _, text in lobby] == [
            (i, f"lobby {i}") for i in range(1, 11)
        ]
        bob.join("#side")
        page = next(pk for pk in bob.packets(timeout=5) if isinstance(pk, p.HistoryPage))
        assert [(m.seq, m.text) for m in page.messages] == [
            (1, "side 1"),
            (2, "side 2"),
            (3, "side 3"),
            (4, "side 4"),
        ]
        bob.say("side 5", room="#side")
        assert next_message(bob).seq == 5
        bob.say("lobby 11")
        assert next_message(bob).seq == 11


def test_the_default_store_is_in_the_user_data_directory(
    tmp_path: Path, launch: Callable[..., ServerProcess]
) -> None:
    data_home = tmp_path / "data"
    server = launch(env={"XDG_DATA_HOME": str(data_home)})
    expected = data_home / "localchat" / "history.db"
    assert f"message history: {expected}" in server.stdout
    with server.connect("ada") as ada:
        ada.say("kept by default")
        next_message(ada)
    assert server.terminate() == 0
    assert expected.is_file()
