"""The MessageStore contract: one suite, every implementation (the SQLite file is real).

``memory`` is what ``--no-store`` runs, ``sqlite`` what a server runs by default (and
``sqlite-split`` the same writing big groups with several statements), and
``breakable`` the fake that application tests use to break commits: the fake must keep
the contract too, or tests built on it prove nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from localchat.domain.model import Message
from localchat.domain.names import LOBBY, RoomName
from localchat.ports.store import MessageStore
from tests.integration.store_support import OTHER, START, message, open_store, post, seqs


@pytest.fixture(params=["memory", "sqlite", "sqlite-split", "breakable"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[MessageStore]:
    opened = open_store(request.param, tmp_path)
    yield opened
    opened.close()


def test_a_new_store_is_empty(store: MessageStore) -> None:
    assert store.last_seq(LOBBY) == 0
    assert store.page(LOBBY, before=None, limit=50) == ()
    assert store.page(LOBBY, before=10, limit=50) == ()


def test_committed_messages_come_back_equal_oldest_first(store: MessageStore) -> None:
    texts = ["héllo wörld", "two\nlines\tand a tab", "😀 emoji", "  spaces kept  "]
    originals = [message(LOBBY, seq, text) for seq, text in enumerate(texts, start=1)]
    originals[1] = Message(
        room=LOBBY, seq=2, sender="Straße.ß-1", text=texts[1], sent_at=START.replace(microsecond=1)
    )
    for each in originals:
        store.append(each)
    store.seal()()
    assert store.page(LOBBY, before=None, limit=50) == tuple(originals)
    assert store.last_seq(LOBBY) == 4


def test_staged_messages_count_before_the_commit(store: MessageStore) -> None:
    post(store, LOBBY, 1, 3)
    assert store.last_seq(LOBBY) == 3
    assert seqs(store.page(LOBBY, before=None, limit=50)) == [1, 2, 3]
    store.seal()()
    assert seqs(store.page(LOBBY, before=None, limit=50)) == [1, 2, 3]


@pytest.mark.parametrize(
    ("before", "limit", "expected"),
    [
        (None, 3, [8, 9, 10]),
        (None, 50, list(range(1, 11))),
        (5, 3, [2, 3, 4]),
        (2, 5, [1]),
        (1, 5, []),
        (11, 2, [9, 10]),
        (100, 2, [9, 10]),
        (None, 0, []),
    ],
)
def test_pages_are_the_newest_before_a_seq(
    store: MessageStore, before: int | None, limit: int, expected: list[int]
) -> None:
    post(store, LOBBY, 1, 10)
    store.seal()()
    assert seqs(store.page(LOBBY, before=before, limit=limit)) == expected


@pytest.mark.parametrize(
    ("before", "limit", "expected"),
    [
        (None, 6, [3, 4, 5, 6, 7, 8]),
        (None, 2, [7, 8]),
        (7, 3, [4, 5, 6]),
        (6, 2, [4, 5]),
        (9, 8, [1, 2, 3, 4, 5, 6, 7, 8]),
    ],
)
def test_pages_span_committed_and_staged_messages(
    store: MessageStore, before: int | None, limit: int, expected: list[int]
) -> None:
    post(store, LOBBY, 1, 5)
    store.seal()()
    post(store, LOBBY, 6, 8)
    assert seqs(store.page(LOBBY, before=before, limit=limit)) == expected


def test_rooms_are_independent(store: MessageStore) -> None:
    post(store, LOBBY, 1, 3)
    post(store, OTHER, 1, 2)
    store.seal()()
    post(store, OTHER, 3, 3)
    assert store.last_seq(LOBBY) == 3
    assert store.last_seq(OTHER) == 3
    assert store.last_seq(RoomName.parse("#third")) == 0
    assert {m.room for m in store.page(LOBBY, before=None, limit=50)} == {LOBBY}
    assert seqs(store.page(OTHER, before=None, limit=50)) == [1, 2, 3]


def test_times_keep_their_instant_whatever_the_zone(store: MessageStore) -> None:
    local = datetime(2026, 11, 22, 11, 4, 5, 999999, tzinfo=timezone(timedelta(hours=1)))
    sent = Message(room=LOBBY, seq=1, sender="ada", text="hi", sent_at=local)
    store.append(sent)
    store.seal()()
    (back,) = store.page(LOBBY, before=None, limit=1)
    assert back.sent_at == local
    assert back.sent_at.utcoffset() is not None


def test_a_commit_with_nothing_staged_is_harmless(store: MessageStore) -> None:
    store.seal()()
    post(store, LOBBY, 1, 1)
    store.seal()()
    store.seal()()
    assert seqs(store.page(LOBBY, before=None, limit=5)) == [1]


@pytest.mark.parametrize("sizes", [(1, 16, 17), (40, 3)])
def test_groups_of_any_size_are_durable_whole(store: MessageStore, sizes: tuple[int, ...]) -> None:
    """Group sizes around the SQLite store's statement sizes (16 rows, padded in steps of 16)."""
    last = {LOBBY: 0, OTHER: 0}
    for size in sizes:
        for index in range(size):
            room = OTHER if index % 3 == 2 else LOBBY
            last[room] += 1
            store.append(message(room, last[room]))
        store.seal()()
    store.discard()  # only what is durable is left
    for room, count in last.items():
        kept = store.page(room, before=None, limit=200)
        assert kept == tuple(message(room, seq) for seq in range(1, count + 1))


def test_a_seal_covers_exactly_what_was_staged_before_it(store: MessageStore) -> None:
    post(store, LOBBY, 1, 3)
    commit = store.seal()
    post(store, LOBBY, 4, 5)  # the next group, staged while the commit is pending
    assert seqs(store.page(LOBBY, before=None, limit=50)) == [1, 2, 3, 4, 5]
    commit()
    store.discard()  # drops 4 and 5 only: 1 to 3 are durable
    assert store.last_seq(LOBBY) == 3
    assert seqs(store.page(LOBBY, before=None, limit=50)) == [1, 2, 3]
    post(store, LOBBY, 4, 4)
    store.seal()()
    assert seqs(store.page(LOBBY, before=None, limit=50)) == [1, 2, 3, 4]


def test_commits_run_on_another_thread_while_messages_are_staged(store: MessageStore) -> None:
    post(store, LOBBY, 1, 2)
    commit = store.seal()
    worker = threading.Thread(target=commit)
    worker.start()
    post(store, LOBBY, 3, 4)
    post(store, OTHER, 1, 1)
    assert seqs(store.page(LOBBY, before=None, limit=3)) == [2, 3, 4]
    worker.join(5)
    assert store.last_seq(LOBBY) == 4
    store.seal()()
    assert seqs(store.page(LOBBY, before=None, limit=50)) == [1, 2, 3, 4]
    assert seqs(store.page(OTHER, before=None, limit=50)) == [1]


def test_discard_forgets_every_message_not_yet_durable(store: MessageStore) -> None:
    post(store, LOBBY, 1, 2)
    store.seal()()
    post(store, LOBBY, 3, 4)
    post(store, OTHER, 1, 2)
    store.discard()
    assert store.last_seq(LOBBY) == 2
    assert store.last_seq(OTHER) == 0
    assert seqs(store.page(LOBBY, before=None, limit=50)) == [1, 2]
    assert store.page(OTHER, before=None, limit=50) == ()
