"""SqliteMessageStore on real files: durability, schema versions, refusals, failing commits."""

from __future__ import annotations

import contextlib
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from localchat.adapters.sqlite.schema import (
    APPLICATION_ID,
    LATEST_VERSION,
    MIGRATIONS,
    Migration,
    migrate,
    stored_version,
)
from localchat.adapters.sqlite.store import SqliteMessageStore
from localchat.domain.names import LOBBY
from localchat.ports.store import StoreError
from tests.integration.store_support import OTHER, post, seqs, unwritable

NOW = datetime(2026, 11, 22, 10, 4, 5, tzinfo=UTC)


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "history.db"


def filled(path: Path, count: int = 3) -> None:
    """A closed history file with ``count`` messages in #lobby."""
    store = SqliteMessageStore.open(path)
    post(store, LOBBY, 1, count)
    store.seal()()
    store.close()


def test_messages_survive_closing_and_seq_continues(path: Path) -> None:
    filled(path, 3)
    store = SqliteMessageStore.open(path)
    assert store.last_seq(LOBBY) == 3
    post(store, LOBBY, 4, 5)
    store.close()  # commits what is staged
    store = SqliteMessageStore.open(path)
    assert seqs(store.page(LOBBY, before=None, limit=50)) == [1, 2, 3, 4, 5]
    assert store.last_seq(OTHER) == 0
    store.close()


def test_a_new_file_is_marked_and_versioned(path: Path) -> None:
    filled(path, 1)
    with contextlib.closing(sqlite3.connect(path)) as raw:
        assert raw.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        rows = raw.execute("SELECT version FROM schema_version").fetchall()
    assert rows == [(LATEST_VERSION,)]
    SqliteMessageStore.open(path).close()  # reopening migrates nothing
    with contextlib.closing(sqlite3.connect(path)) as raw:
        assert raw.execute("SELECT count(*) FROM schema_version").fetchone()[0] == 1


def test_synchronous_full_is_set_on_the_writer(path: Path) -> None:
    store = SqliteMessageStore.open(path)
    try:
        writer = store._writer
        assert writer is not None
        assert writer.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    finally:
        store.close()


def test_a_second_server_on_the_same_file_is_refused(path: Path) -> None:
    first = SqliteMessageStore.open(path)
    try:
        with pytest.raises(StoreError, match="in use by another LocalChat server") as refused:
            SqliteMessageStore.open(path)
        assert str(path) in str(refused.value)
    finally:
        first.close()
    SqliteMessageStore.open(path).close()  # free again once the first is closed


def test_a_file_from_a_newer_version_is_refused_and_left_alone(path: Path) -> None:
    filled(path, 2)
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as raw:
        raw.execute("INSERT INTO schema_version VALUES (99, 'from the future', 'x')")
    before = path.read_bytes()
    with pytest.raises(StoreError, match="newer LocalChat") as refused:
        SqliteMessageStore.open(path)
    message = str(refused.value)
    assert str(path) in message
    assert "schema 99" in message
    assert "\n" not in message
    assert path.read_bytes() == before


def test_a_sqlite_file_of_another_program_is_refused_and_left_alone(path: Path) -> None:
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as raw:
        raw.execute("CREATE TABLE recipes (name TEXT)")
    before = path.read_bytes()
    with pytest.raises(StoreError, match="not a LocalChat history file"):
        SqliteMessageStore.open(path)
    assert path.read_bytes() == before


def test_a_file_that_is_not_sqlite_is_refused(path: Path) -> None:
    path.write_bytes(b"certainly not a database\n" * 200)
    with pytest.raises(StoreError, match="not a SQLite database, or it is damaged") as refused:
        SqliteMessageStore.open(path)
    assert str(path) in str(refused.value)


def test_a_missing_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="No such file or directory"):
        SqliteMessageStore.open(tmp_path / "missing" / "history.db")


def test_an_unwritable_file_is_refused_at_open(path: Path) -> None:
    filled(path, 1)
    with unwritable(path), pytest.raises(StoreError) as refused:
        SqliteMessageStore.open(path)
    assert str(path) in str(refused.value)


def test_an_unwritable_directory_is_refused_at_open(path: Path) -> None:
    filled(path, 1)
    with unwritable(path.parent), pytest.raises(StoreError, match="must be writable"):
        SqliteMessageStore.open(path)


def test_a_failed_commit_drops_what_was_staged_and_the_next_one_works(path: Path) -> None:
    store = SqliteMessageStore.open(path, busy_timeout=0.05)
    post(store, LOBBY, 1, 2)
    store.seal()()
    # Another writer holds the lock: a real commit failure, root or not.
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        post(store, LOBBY, 3, 4)
        with pytest.raises(StoreError, match="locked") as failed:
            store.seal()()
        store.discard()  # what the dispatcher does after a failed commit
        assert str(path) in str(failed.value)
        assert store.last_seq(LOBBY) == 2
        assert seqs(store.page(LOBBY, before=None, limit=50)) == [1, 2]
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    post(store, LOBBY, 3, 3)
    store.seal()()
    store.close()
    store = SqliteMessageStore.open(path)
    assert seqs(store.page(LOBBY, before=None, limit=50)) == [1, 2, 3]
    store.close()


def test_migrations_apply_once_in_order_and_keep_the_data(path: Path) -> None:
    filled(path, 3)
    second = Migration(
        version=2,
        summary="find messages by sender",
        statements=("CREATE INDEX messages_by_sender ON messages (sender)",),
    )
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as raw:
        current = stored_version(raw, latest=2)
        assert current == LATEST_VERSION == 1
        assert migrate(raw, current, NOW, (*MIGRATIONS, second)) == 2
        assert migrate(raw, 2, NOW, (*MIGRATIONS, second)) == 2
        versions = [row[0] for row in raw.execute("SELECT version FROM schema_version")]
        assert versions == [1, 2]
        assert raw.execute("SELECT count(*) FROM messages").fetchone()[0] == 3
    with pytest.raises(StoreError, match="schema 2"):
        SqliteMessageStore.open(path)


def test_a_failing_migration_leaves_the_file_at_its_version(path: Path) -> None:
    filled(path, 1)
    broken = Migration(
        version=2,
        summary="half a change",
        statements=("CREATE TABLE extra (x INTEGER)", "THIS IS NOT SQL"),
    )
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as raw:
        with pytest.raises(sqlite3.OperationalError):
            migrate(raw, 1, NOW, (*MIGRATIONS, broken))
        assert stored_version(raw, latest=2) == 1
        tables = {row[0] for row in raw.execute("SELECT name FROM sqlite_master")}
    assert "extra" not in tables
