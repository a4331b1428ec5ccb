"""Properties of history, whatever the interleaving: through the real dispatcher and service,
with each store (the SQLite one on a real file).

For any interleaving of posts, joins and leaves across rooms, cut into batches at any
points, committed one batch at a time or pipelined (commits finishing at any point while
later batches run), and with the breakable store with any commits failing:

* no message reaches anyone before it is durable;
* every client receives events in the order of the commands that caused them;
* each room's stored history is exactly the messages their senders saw echoed, with
  ``seq`` 1, 2, 3... (no gap, no repeat);
* paging backwards with ``history`` (``before`` = the oldest ``seq`` received, any
  ``limit``) tiles that history exactly.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from localchat.adapters.sqlite.store import SqliteMessageStore
from localchat.domain.commands import Command, FetchHistory, JoinRoom, LeaveRoom, PostMessage
from localchat.domain.events import HistoryFetched, MessagePosted
from localchat.domain.model import Message, SessionId
from localchat.domain.names import LOBBY, RoomName
from localchat.ports.store import MessageStore
from tests.fakes import BreakableStore
from tests.integration.store_support import open_store
from tests.recording import Harness

USERS = ("ada", "bob", "cyd")
ROOMS = tuple(RoomName.parse(name) for name in ("#lobby", "#a", "#b"))

actions = st.tuples(
    st.sampled_from(("say", "say", "say", "join", "leave")),
    st.integers(0, len(USERS) - 1),
    st.integers(0, len(ROOMS) - 1),
)
commits = st.lists(st.tuples(st.integers(0, 8), st.booleans()), max_size=3)
"""Commits (pipelined) while a group is open: ``(after how many of its commands, fails)``;
the committer seals on its own, so a commit may cover part of a group."""
batches = st.lists(
    # (commands, commits while their group is open, a commit after it closed, whether
    # that one (and a batch's commit, not pipelined) fails (breakable))
    st.tuples(st.lists(actions, min_size=1, max_size=8), commits, st.booleans(), st.booleans()),
    min_size=1,
    max_size=12,
)


@contextmanager
def opened(kind: str) -> Iterator[MessageStore]:
    with tempfile.TemporaryDirectory() as folder:
        store = open_store(kind, Path(folder))
        try:
            yield store
        finally:
            if isinstance(store, SqliteMessageStore):
                store.close()  # the others have nothing to release (and may be broken)


def command(kind: str, room: RoomName, text: str) -> Command:
    if kind == "join":
        return JoinRoom(room=room)
    if kind == "leave":
        return LeaveRoom(room=room)
    return PostMessage(text=text, room=room)


def page_backwards(core: Harness, reader: SessionId, room: RoomName, limit: int) -> list[int]:
    """Every seq of ``room`` as ``history`` pages deliver them, newest page first."""
    pages: list[list[int]] = []
    before: int | None = None
    while True:
        core.run([(reader, FetchHistory(room=room, before=before, limit=limit))])
        (page,) = [e for e in core.transport.take(reader) if isinstance(e, HistoryFetched)]
        if not page.messages:
            break
        seqs = [m.seq for m in page.messages]
        assert seqs == sorted(seqs)
        assert len(seqs) <= limit
        pages.append(seqs)
        before = seqs[0]
    return [seq for page in reversed(pages) for seq in page]


Plan = list[tuple[list[tuple[str, int, int]], list[tuple[int, bool]], bool, bool]]


def check_interleaving(kind: str, plan: Plan, limit: int, *, pipelined: bool) -> None:
    with opened(kind) as store:
        core = Harness(store)
        sessions = [core.register(name) for name in USERS]
        count = 0
        for actions_, inside, after, fail in plan:
            work: list[tuple[SessionId, Command]] = []
            for action, user, where in actions_:
                count += 1
                work.append((sessions[user], command(action, ROOMS[where], str(count))))
            if not pipelined:
                if isinstance(store, BreakableStore):
                    store.broken = fail
                core.run(work)
                continue
            done = 0
            for position, fails in sorted(inside):
                core.execute(work[done:position])
                done = max(done, position)
                core.finish_commit(fail=fails)
            core.feed(work[done:])
            if after:
                core.finish_commit(fail=fail)
        while core.finish_commit():
            pass
        if isinstance(store, BreakableStore):
            store.broken = False
        assert core.transport.delivered_before_durable == []
        echoed: dict[str, list[tuple[int, str]]] = {room.canonical: [] for room in ROOMS}
        for user, session in enumerate(sessions):
            core.assert_in_order(session)
            own = [
                e.message
                for e in core.transport.take(session)
                if isinstance(e, MessagePosted) and e.message.sender == USERS[user]
            ]
            assert [int(m.text) for m in own] == sorted(int(m.text) for m in own)
            for message in own:
                echoed[message.room.canonical].append((message.seq, message.text))
        reader = sessions[0]
        core.run([(reader, JoinRoom(room=room)) for room in ROOMS])
        core.transport.take(reader)
        for room in ROOMS:
            acknowledged = sorted(echoed[room.canonical])
            assert [seq for seq, _ in acknowledged] == list(range(1, len(acknowledged) + 1))
            stored = store.page(room, before=None, limit=10_000)
            assert [(m.seq, m.text) for m in stored] == acknowledged
            assert page_backwards(core, reader, room, limit) == [seq for seq, _ in acknowledged]


@pytest.mark.parametrize("pipelined", [False, True], ids=["batch", "pipelined"])
@pytest.mark.parametrize("kind", ["memory", "breakable"])
@given(plan=batches, limit=st.integers(1, 7))
@settings(max_examples=60, deadline=None)
def test_history_is_what_was_echoed_in_memory(
    kind: str, pipelined: bool, plan: Plan, limit: int
) -> None:
    check_interleaving(kind, plan, limit, pipelined=pipelined)


@pytest.mark.parametrize("pipelined", [False, True], ids=["batch", "pipelined"])
@given(plan=batches, limit=st.integers(1, 7))
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_history_is_what_was_echoed_in_sqlite(pipelined: bool, plan: Plan, limit: int) -> None:
    check_interleaving("sqlite", plan, limit, pipelined=pipelined)


class FailsAfterStaging:
    """A store whose next ``append`` stages the message and then raises (a bug after
    staging: the command fails and the dispatcher never counted that message)."""

    def __init__(self, store: MessageStore) -> None:
        self.store = store
        self.fail_next = False

    def append(self, message: Message) -> None:
        self.store.append(message)
        if self.fail_next:
            self.fail_next = False
            raise RuntimeError("a bug after staging")

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)


@pytest.mark.parametrize("kind", ["sqlite", "breakable"])
def test_a_message_staged_by_a_failing_command_is_committed_with_the_next(
    kind: str, tmp_path: Path
) -> None:
    """Never sealed and dropped unwritten: it would stay in history pages, never durable."""
    store = FailsAfterStaging(open_store(kind, tmp_path))
    core = Harness(store)  # type: ignore[arg-type]
    ada = core.register("ada")
    store.fail_next = True
    core.feed([(ada, PostMessage(text="half", room=LOBBY))])
    assert not core.finish_commit()  # nothing counted, so nothing sealed
    core.feed([(ada, PostMessage(text="whole", room=LOBBY))])
    assert core.finish_commit()
    assert [e.message.text for e in core.transport.take(ada) if isinstance(e, MessagePosted)] == [
        "whole"
    ]
    store.discard()  # what is not durable goes
    assert [m.text for m in store.page(LOBBY, before=None, limit=10)] == ["half", "whole"]
    store.close()
