"""Group commit in the dispatcher: commit before echo, one commit per batch, and what a
failing store does to a batch (the senders hear ``store_unavailable``, seq stays contiguous)."""

from __future__ import annotations

import collections
import threading
from collections.abc import Iterator, Sequence

import pytest

from localchat.app.commit_stats import CommitStats
from localchat.domain.commands import (
    FetchHistory,
    JoinRoom,
    LeaveRoom,
    ListRooms,
    PostMessage,
    Register,
)
from localchat.domain.events import (
    CommandRejected,
    Event,
    HistoryFetched,
    RoomsListed,
    UserJoined,
    Welcomed,
)
from localchat.domain.model import SessionId
from localchat.domain.names import LOBBY, RoomName
from localchat.ports.store import Commit, StoreError
from tests.fakes import BreakableStore
from tests.helpers import wait_until
from tests.recording import Harness, posted, rejections

ROOM_X = RoomName.parse("#x")


def say(text: str, room: RoomName = LOBBY) -> PostMessage:
    return PostMessage(text=text, room=room)


def test_one_commit_per_batch_and_nothing_delivered_before_it_is_durable() -> None:
    store = BreakableStore()
    core = Harness(store)
    ada, bob = core.register("ada"), core.register("bob")
    commits_before = store.commits
    core.run([(who, say(f"{who}-{i}")) for i in range(5) for who in (ada, bob)])
    assert store.commits == commits_before + 1
    assert core.transport.delivered_before_durable == []
    assert [seq for _, seq, _ in posted(core.transport.take(ada))] == list(range(1, 11))
    assert core.dispatcher.commit_stats.sizes == collections.Counter({10: 1})


def test_a_failed_commit_is_told_to_the_senders_alone_and_seq_is_reused() -> None:
    store = BreakableStore()
    core = Harness(store)
    ada, bob = core.register("ada"), core.register("bob")
    core.run([(ada, say("kept"))])
    core.transport.take(ada), core.transport.take(bob)

    store.broken = True
    core.run([(ada, say("lost a")), (bob, say("lost b")), (ada, say("lost c"))])
    ada_events, bob_events = core.transport.take(ada), core.transport.take(bob)
    assert rejections(ada_events) == ["store_unavailable", "store_unavailable"]
    assert rejections(bob_events) == ["store_unavailable"]
    assert posted(ada_events) == posted(bob_events) == []
    assert all(not e.fatal for e in ada_events if isinstance(e, CommandRejected))
    assert core.dispatcher.commit_stats.failed == 1

    store.broken = False
    core.run([(bob, say("after"))])
    assert posted(core.transport.take(ada)) == [("#lobby", 2, "after")]
    assert [m.text for m in store.durable] == ["kept", "after"]


def test_other_events_of_a_failed_batch_go_out_without_the_lost_messages() -> None:
    store = BreakableStore()
    core = Harness(store)
    ada = core.register("ada")
    core.run([(ada, say("kept"))])
    core.transport.take(ada)

    store.broken = True
    cyd = core.dispatcher.open_session(core.transport)
    core.run([(ada, say("lost")), (cyd, Register(name="cyd", protocol=1))])
    cyd_events = core.transport.take(cyd)
    assert isinstance(cyd_events[0], Welcomed)
    (page,) = [e for e in cyd_events if isinstance(e, HistoryFetched)]
    assert [m.text for m in page.messages] == ["kept"]
    ada_events = core.transport.take(ada)
    assert rejections(ada_events) == ["store_unavailable"]
    assert [e.name for e in ada_events if isinstance(e, UserJoined)] == ["cyd"]


def test_each_room_rewinds_to_its_own_last_durable_seq() -> None:
    store = BreakableStore()
    core = Harness(store)
    ada = core.register("ada")
    core.run([(ada, JoinRoom(room=ROOM_X)), (ada, say("x1", ROOM_X)), (ada, say("l1"))])
    store.broken = True
    core.run([(ada, say("x2", ROOM_X)), (ada, say("l2")), (ada, say("x3", ROOM_X))])
    store.broken = False
    core.transport.take(ada)
    core.run([(ada, say("x2 again", ROOM_X)), (ada, say("l2 again"))])
    assert posted(core.transport.take(ada)) == [("#x", 2, "x2 again"), ("#lobby", 2, "l2 again")]


def test_a_room_deleted_in_the_failed_batch_starts_again_from_its_durable_seq() -> None:
    store = BreakableStore()
    core = Harness(store)
    ada = core.register("ada")
    core.run([(ada, JoinRoom(room=ROOM_X)), (ada, say("x1", ROOM_X))])
    store.broken = True
    core.run([(ada, say("x2", ROOM_X)), (ada, LeaveRoom(room=ROOM_X))])
    store.broken = False
    core.transport.take(ada)
    core.run([(ada, JoinRoom(room=ROOM_X)), (ada, say("x2 again", ROOM_X))])
    events = core.transport.take(ada)
    (page,) = [e for e in events if isinstance(e, HistoryFetched)]
    assert [m.seq for m in page.messages] == [1]
    assert posted(events) == [("#x", 2, "x2 again")]


def test_a_group_sealed_while_still_open_goes_out_when_it_closes() -> None:
    """The committer seals on its own, so a commit may cover part of the open group."""
    store = BreakableStore()
    core = Harness(store)
    ada = core.register("ada")
    core.execute([(ada, say("one"))])
    assert core.finish_commit()
    assert [m.text for m in store.durable] == ["one"]
    assert posted(core.transport.take(ada)) == []
    core.close_group()
    assert posted(core.transport.take(ada)) == [("#lobby", 1, "one")]
    assert not core.finish_commit()  # nothing left to commit
    assert core.transport.delivered_before_durable == []


def test_a_failed_commit_withdraws_only_what_is_not_durable_of_a_group() -> None:
    store = BreakableStore()
    core = Harness(store)
    ada, bob = core.register("ada"), core.register("bob")
    core.execute([(ada, say("durable"))])
    assert core.finish_commit()  # half of the open group is durable
    core.execute([(bob, ListRooms()), (ada, say("lost"))])
    assert core.finish_commit(fail=True)  # the other half is not
    events = core.transport.take(ada)
    assert posted(events) == [("#lobby", 1, "durable")]
    assert rejections(events) == ["store_unavailable"]
    assert [type(e).__name__ for e in core.transport.take(bob)] == ["MessagePosted", "RoomsListed"]
    store.broken = False
    core.run([(ada, say("again"))])  # the lost seq is handed out again, the durable one not
    assert posted(core.transport.take(ada)) == [("#lobby", 2, "again")]
    assert [m.text for m in store.durable] == ["durable", "again"]


def test_a_store_that_cannot_be_read_refuses_history_but_not_the_join() -> None:
    store = BreakableStore()
    core = Harness(store)
    ada, bob = core.register("ada"), core.register("bob")
    core.run([(bob, JoinRoom(room=ROOM_X))])
    store.reads_broken = True
    core.transport.take(ada)
    core.run(
        [
            (ada, JoinRoom(room=ROOM_X)),
            (ada, FetchHistory(room=ROOM_X)),
            (ada, JoinRoom(room=RoomName.parse("#new"))),
            (ada, ListRooms()),
        ]
    )
    events = core.transport.take(ada)
    assert isinstance(events[0], UserJoined)
    assert rejections(events) == ["store_unavailable"] * 3
    (rooms,) = [e for e in events if isinstance(e, RoomsListed)]
    assert [r.room.canonical for r in rooms.rooms] == ["#lobby", "#x"]


class GatedStore(BreakableStore):
    """Commits of non-empty groups wait at a gate while it is closed, as a slow fsync; with
    ``fail_next``, the next one fails (once)."""

    def __init__(self) -> None:
        super().__init__()
        self.in_commit = threading.Event()
        self.gate = threading.Event()
        self.gate.set()
        self.fail_next = False

    def seal(self) -> Commit:
        commit = super().seal()
        pending = self.pending

        def gated() -> None:
            if pending:
                self.in_commit.set()
                self.gate.wait(5)
                if self.fail_next:
                    self.fail_next = False
                    raise StoreError("the disk is full (once)")
            commit()

        return gated


@pytest.fixture
def gated() -> Iterator[tuple[GatedStore, Harness, SessionId]]:
    """A started dispatcher whose store commits wait at a closed gate; ada is registered."""
    store = GatedStore()
    core = Harness(store)
    ada = core.register("ada")
    store.gate.clear()
    core.dispatcher.start()
    yield store, core, ada
    store.gate.set()
    core.dispatcher.stop()


def test_messages_arriving_during_a_commit_are_committed_together(
    gated: tuple[GatedStore, Harness, SessionId],
) -> None:
    store, core, ada = gated
    core.dispatcher.submit([(ada, say("first"))])
    assert store.in_commit.wait(5)
    for text in ("second", "third", "fourth"):
        core.dispatcher.submit([(ada, say(text))])
    store.gate.set()
    wait_until(lambda: len(posted(core.transport.events[ada])) == 4, what="four echoes")
    assert core.dispatcher.commit_stats.sizes == collections.Counter({1: 1, 3: 1})
    assert core.transport.delivered_before_durable == []


def test_events_behind_a_running_commit_wait_for_it(
    gated: tuple[GatedStore, Harness, SessionId],
) -> None:
    store, core, ada = gated
    core.dispatcher.submit([(ada, say("first"))])
    assert store.in_commit.wait(5)
    ran = core.dispatcher.commands
    core.dispatcher.submit([(ada, ListRooms())])
    wait_until(lambda: core.dispatcher.commands == ran + 1, what="list_rooms run")
    core.dispatcher.submit([(ada, say("second"))])
    store.gate.set()
    wait_until(lambda: len(core.transport.events[ada]) == 3, what="three events")
    kinds = [type(e).__name__ for e in core.transport.events[ada]]
    assert kinds == ["MessagePosted", "RoomsListed", "MessagePosted"]


def test_a_failed_commit_withdraws_the_group_waiting_behind_it(
    gated: tuple[GatedStore, Harness, SessionId],
) -> None:
    store, core, ada = gated
    store.broken = True
    core.dispatcher.submit([(ada, say("first"))])
    assert store.in_commit.wait(5)
    core.dispatcher.submit([(ada, say("second")), (ada, ListRooms()), (ada, say("third"))])
    store.gate.set()
    wait_until(lambda: len(core.transport.events[ada]) == 4, what="four events")
    kinds = [type(e).__name__ for e in core.transport.events[ada]]
    assert kinds == ["CommandRejected", "CommandRejected", "RoomsListed", "CommandRejected"]
    assert rejections(core.transport.events[ada]) == ["store_unavailable"] * 3
    store.broken = False
    core.dispatcher.submit([(ada, say("again"))])
    wait_until(lambda: posted(core.transport.events[ada]), what="an echo")
    assert posted(core.transport.events[ada]) == [("#lobby", 1, "again")]
    assert core.dispatcher.commit_stats.failed == 1


def test_the_commit_summary_reports_sizes_and_times() -> None:
    stats = CommitStats()
    assert stats.describe() == "group commit: no commit, 0 failed"
    for size, seconds in [(1, 0.0001), (1, 0.0021), (10, 0.004), (320, 0.0305)]:
        stats.record(size, seconds)
    stats.failed = 1
    assert stats.describe() == (
        "group commit: 4 commits, 332 messages, 1 failed; messages per commit: "
        "mean 83.0, p50 1, p90 320, max 320; ms per commit: p50 3, p90 31, p99 31, max 31"
    )


def test_after_a_restart_a_failed_commit_still_waits_for_the_withdrawal() -> None:
    """stop() wakes the committer for good; start() must not leave that behind, or after a
    failed commit it would commit what the dispatcher is about to withdraw (a seq reused)."""
    store = GatedStore()
    core = Harness(store)
    ada = core.register("ada")
    core.dispatcher.start()
    core.dispatcher.stop()
    store.gate.clear()
    store.fail_next = True
    core.dispatcher.start()
    try:
        core.dispatcher.submit([(ada, say("lost"))])
        assert store.in_commit.wait(5)
        core.dispatcher.submit([(ada, say("staged during the failing commit"))])
        wait_until(lambda: core.dispatcher.commands == 2, what="both run")
        store.gate.set()
        wait_until(lambda: len(rejections(core.transport.events[ada])) == 2, what="two refusals")
        core.dispatcher.submit([(ada, say("again"))])
        wait_until(lambda: posted(core.transport.events[ada]), what="an echo")
    finally:
        store.gate.set()
        core.dispatcher.stop()
    assert posted(core.transport.events[ada]) == [("#lobby", 1, "again")]
    assert [(m.seq, m.text) for m in store.durable] == [(1, "again")]


def test_a_failure_while_withdrawing_does_not_stall_later_commits(
    gated: tuple[GatedStore, Harness, SessionId],
) -> None:
    store, core, ada = gated
    deliver = core.transport.deliver
    broke: list[Event] = []

    def deliver_failing_once(event: Event, recipients: Sequence[SessionId]) -> None:
        if isinstance(event, CommandRejected) and not broke:
            broke.append(event)
            raise RuntimeError("a transport bug")
        deliver(event, recipients)

    core.transport.deliver = deliver_failing_once  # type: ignore[method-assign]
    store.fail_next = True
    core.dispatcher.submit([(ada, say("lost"))])
    assert store.in_commit.wait(5)
    store.gate.set()
    wait_until(lambda: broke, what="the refusal's delivery to fail")
    core.dispatcher.submit([(ada, say("kept"))])
    wait_until(lambda: posted(core.transport.events[ada]), what="the next echo")
    assert posted(core.transport.events[ada]) == [("#lobby", 1, "kept")]
