"""Group commit with its two real threads (dispatcher and committer) and a real SQLite file.

The deterministic tests drive one thread's steps at a time; here the threads race. The
store's commits are delayed a little and every fifth one fails (so a slow disk, with few
commits, still sees failures); three users post, join, leave and page through three rooms.
Whatever the interleaving: nothing is echoed or shown in a page before it is durable, no
event overtakes an earlier one, every post is answered once (its echo or a refusal), the
file holds exactly what the senders saw echoed, every room's seq without a gap, and nothing
is logged as an error.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from pathlib import Path

import pytest

from localchat.adapters.sqlite.store import SqliteMessageStore
from localchat.app.dispatcher import Dispatcher
from localchat.domain.commands import (
    Command,
    FetchHistory,
    JoinRoom,
    LeaveRoom,
    PostMessage,
    Register,
)
from localchat.domain.events import CommandRejected, MessagePosted
from localchat.domain.model import Message
from localchat.domain.names import RoomName
from localchat.ports.store import Commit, StoreError
from tests.recording import OrderedService, RecordingTransport

ROOMS = [RoomName.parse(name) for name in ("#lobby", "#a", "#b")]
STEPS = 600


class FlakyStore:
    """The SQLite store, each commit delayed by up to 4 ms and every ``fail_every``-th
    commit of messages failing (from the second on; 0: none); it knows which messages
    became durable (for the recording transport)."""

    durable_at_once = False

    def __init__(self, store: SqliteMessageStore, rng: random.Random, fail_every: int) -> None:
        self._store = store
        self._rng = rng  # the committer's own: the main thread's draws stay replayable
        self.fail_every = fail_every
        self._commits = 0
        self._lock = threading.Lock()
        self._unsealed: list[Message] = []
        self._durable: set[tuple[str, int, str]] = set()
        self.failures = 0

    def is_durable(self, message: Message) -> bool:
        with self._lock:
            return (message.room.canonical, message.seq, message.text) in self._durable

    def last_seq(self, room: RoomName) -> int:
        return self._store.last_seq(room)

    def append(self, message: Message) -> None:
        with self._lock:
            self._store.append(message)
            self._unsealed.append(message)

    def seal(self) -> Commit:
        with self._lock:
            group, self._unsealed = self._unsealed, []
            commit = self._store.seal()
        delay = self._rng.random() * 0.004

        def flaky() -> None:
            time.sleep(delay)
            if group:
                self._commits += 1
                if self.fail_every and self._commits % self.fail_every == 2:
                    self.failures += 1
                    raise StoreError("a full disk (injected)")
            commit()
            with self._lock:
                self._durable.update((m.room.canonical, m.seq, m.text) for m in group)

        return flaky

    def discard(self) -> None:
        with self._lock:
            self._unsealed = []
            self._store.discard()

    def page(self, room: RoomName, *, before: int | None, limit: int) -> tuple[Message, ...]:
        return self._store.page(room, before=before, limit=limit)

    def close(self) -> None:
        self._store.close()


def random_command(rng: random.Random, step: int, index: int) -> Command:
    room = rng.choice(ROOMS)
    roll = rng.random()
    if roll < 0.7:
        return PostMessage(text=f"{step}-{index}", room=room)
    if roll < 0.8:
        return JoinRoom(room=room)
    if roll < 0.88:
        return LeaveRoom(room=room)
    return FetchHistory(room=room, before=None, limit=rng.randint(1, 6))


@pytest.mark.parametrize("seed", range(6))
def test_racing_threads_keep_every_promise(
    seed: int, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    rng = random.Random(seed)
    path = tmp_path / "history.db"
    store = FlakyStore(SqliteMessageStore.open(path), random.Random(-seed), fail_every=5)
    service = OrderedService(store)  # type: ignore[arg-type]
    dispatcher = Dispatcher(service, store, max_batch=rng.choice([1, 3, 256]))  # type: ignore[arg-type]
    transport = RecordingTransport(store)  # type: ignore[arg-type]
    dispatcher.add_transport(transport)
    dispatcher.start()
    users = [dispatcher.open_session(transport) for _ in range(3)]
    run_order: list[Command] = []  # the dispatcher runs commands in the order submitted
    for number, session in enumerate(users):
        register = Register(name=f"u{number}", protocol=1)
        run_order.append(register)
        dispatcher.submit([(session, register)])
    posts = dict.fromkeys(users, 0)
    for step in range(STEPS):
        batch = [
            (rng.choice(users), random_command(rng, step, index))
            for index in range(rng.randint(1, 4))
        ]
        for session, command in batch:
            run_order.append(command)
            posts[session] += isinstance(command, PostMessage)
        dispatcher.submit(batch)
        if rng.random() < 0.3:
            time.sleep(rng.random() * 0.002)  # let the threads interleave differently
    dispatcher.stop(timeout=10)
    store.fail_every = 0
    store.close()

    assert store.failures > 0, "every fifth commit fails"
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert transport.delivered_before_durable == []
    echoed: dict[str, list[tuple[int, str]]] = {room.canonical: [] for room in ROOMS}
    for number, session in enumerate(users):
        events = transport.events[session]
        causes = [service.cause(event) for event in events]
        known = [cause for cause in causes if cause is not None]
        assert known == sorted(known), "an event overtook an earlier one"
        answers = 0
        for event in events:
            if isinstance(event, MessagePosted) and event.message.sender == f"u{number}":
                message = event.message
                echoed[message.room.canonical].append((message.seq, message.text))
                answers += 1
            elif isinstance(event, CommandRejected):
                cause = service.cause(event)  # None: withdrawn by the dispatcher (a post)
                answers += cause is None or isinstance(run_order[cause - 1], PostMessage)
        assert answers == posts[session], "a post was answered twice or never"
    reader = SqliteMessageStore.open(path)
    try:
        for room in ROOMS:
            stored = [(m.seq, m.text) for m in reader.page(room, before=None, limit=10_000)]
            assert stored == sorted(echoed[room.canonical])
            assert [seq for seq, _ in stored] == list(range(1, len(stored) + 1))
    finally:
        reader.close()
