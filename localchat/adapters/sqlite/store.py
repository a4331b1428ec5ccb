"""SqliteMessageStore: a server's message history in one SQLite file, durable at every commit.

Durability. The file is in WAL mode with ``synchronous=FULL``: every ``COMMIT`` appends the
transaction to the write-ahead log and fsyncs it before returning, so a committed message
survives ``kill -9`` *and* a power cut. (``synchronous=NORMAL`` would fsync only at
checkpoints: safe against a crashed process, but a power cut could lose the last commits,
which breaks "nothing acknowledged is lost".) One fsync per commit is affordable because
the dispatcher commits a whole batch at once (group commit).

Staging. :meth:`append` only remembers a message; :meth:`commit` writes every staged
message in one transaction. Staged messages are already part of the history for
:meth:`page` and :meth:`last_seq`: the dispatcher delivers a history page in the same batch
as the messages it shows, after the same commit.

One writer. A server owns its file: an exclusive ``flock`` on it refuses a second server
(two writers would hand out the same ``seq``), while readers such as ``localchat history``
may open it at any time (WAL lets them read while the server writes). The connection is
used by one thread at a time (the dispatcher; the main thread only to open and close); a
lock makes misuse safe rather than corrupting.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path

from localchat.adapters.sqlite.schema import message_row, migrate, row_message, stored_version
from localchat.domain.model import Message
from localchat.domain.names import RoomName
from localchat.ports.store import StoreError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no advisory lock, the rest works
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

DEFAULT_BUSY_TIMEOUT = 5.0
WAL_SIZE_LIMIT = 64 * 1024 * 1024
"""Bytes the write-ahead log is truncated to after a checkpoint."""

_INSERT = "INSERT INTO messages (room, seq, sender, text, sent_at) VALUES (?, ?, ?, ?, ?)"
_NEWEST = "SELECT seq, sender, text, sent_at FROM messages WHERE room = ? ORDER BY seq DESC LIMIT ?"
_NEWEST_BEFORE = (
    "SELECT seq, sender, text, sent_at FROM messages WHERE room = ? AND seq < ? "
    "ORDER BY seq DESC LIMIT ?"
)
_LAST_SEQ = "SELECT max(seq) FROM messages WHERE room = ?"


def _describe(error: BaseException) -> str:
    if isinstance(error, OSError):
        return error.strerror or str(error)
    return str(error)


class SqliteMessageStore:
    """See the module docstring. Build it with :meth:`open`."""

    def __init__(self, path: Path, connection: sqlite3.Connection, lock_fd: int | None) -> None:
        self.path = path
        self._connection: sqlite3.Connection | None = connection
        self._lock_fd = lock_fd
        self._mutex = threading.Lock()
        self._staged: list[Message] = []
        self._staged_by_room: dict[str, list[Message]] = {}
        self._failing = False

    @classmethod
    def open(
        cls, path: Path, *, busy_timeout: float = DEFAULT_BUSY_TIMEOUT, now: datetime | None = None
    ) -> SqliteMessageStore:
        """Open (or create) the history file at ``path`` for writing.

        Raises :class:`StoreError` with one line naming the path and the cause: not
        writable, in use by another server, not a LocalChat file, written by a newer
        version, damaged. A refused file is never altered.
        """
        lock_fd = _lock(path)
        try:
            connection = _connect(path, busy_timeout, now or datetime.now(UTC))
        except BaseException:
            if lock_fd is not None:
                os.close(lock_fd)
            raise
        return cls(path, connection, lock_fd)

    # -- MessageStore ---------------------------------------------------------------------------

    def last_seq(self, room: RoomName) -> int:
        with self._mutex:
            staged = self._staged_by_room.get(room.canonical)
            if staged:
                return staged[-1].seq
            try:
                row = self._live().execute(_LAST_SEQ, (room.canonical,)).fetchone()
            except sqlite3.Error as error:
                raise StoreError(f"cannot read the history in {self.path}: {error}") from None
            return int(row[0] or 0)

    def append(self, message: Message) -> None:
        with self._mutex:
            self._staged.append(message)
            self._staged_by_room.setdefault(message.room.canonical, []).append(message)

    def commit(self) -> None:
        with self._mutex:
            self._commit()

    def page(self, room: RoomName, *, before: int | None, limit: int) -> tuple[Message, ...]:
        if limit <= 0:
            return ()
        with self._mutex:
            staged = self._staged_by_room.get(room.canonical, [])
            if staged and before is not None:
                # Staged seqs of a room are contiguous: slice by arithmetic.
                staged = staged[: max(0, before - staged[0].seq)]
            newest = staged[-limit:]
            wanted = limit - len(newest)
            if not wanted:
                return tuple(newest)
            below = newest[0].seq if newest else before
            try:
                if below is None:
                    rows = self._live().execute(_NEWEST, (room.canonical, wanted)).fetchall()
                else:
                    rows = (
                        self._live()
                        .execute(_NEWEST_BEFORE, (room.canonical, below, wanted))
                        .fetchall()
                    )
            except sqlite3.Error as error:
                raise StoreError(f"cannot read the history in {self.path}: {error}") from None
            older = [row_message(room, *row) for row in reversed(rows)]
            return (*older, *newest)

    def close(self) -> None:
        """Commit what is staged (a failure is logged), close the file, release the lock."""
        with self._mutex:
            if self._connection is None:
                return
            try:
                self._commit()
            except StoreError as error:
                log.error("%s", error)
            finally:
                with contextlib.suppress(sqlite3.Error):
                    self._connection.close()
                self._connection = None
                if self._lock_fd is not None:
                    os.close(self._lock_fd)
                    self._lock_fd = None

    # -- internals ------------------------------------------------------------------------------

    def _live(self) -> sqlite3.Connection:
        if self._connection is None:
            raise StoreError(f"the history in {self.path} is closed")
        return self._connection

    def _commit(self) -> None:
        """Under the mutex: write every staged message in one transaction, or drop them all."""
        staged = self._staged
        if not staged:
            return
        self._staged = []
        self._staged_by_room = {}
        connection = self._live()
        try:
            connection.execute("BEGIN IMMEDIATE")
            connection.executemany(_INSERT, [message_row(m) for m in staged])
            connection.execute("COMMIT")
        except sqlite3.Error as error:
            if connection.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    connection.execute("ROLLBACK")
            if not self._failing:
                self._failing = True
                log.error("cannot store messages in %s: %s", self.path, error)
            raise StoreError(f"cannot store messages in {self.path}: {error}") from None
        if self._failing:
            self._failing = False
            log.warning("storing messages in %s works again", self.path)


def _lock(path: Path) -> int | None:
    """Open ``path`` (creating it) and take an exclusive advisory lock for this server.

    The descriptor stays open until :meth:`SqliteMessageStore.close`, after SQLite's own
    descriptors are closed: closing a descriptor earlier would drop SQLite's POSIX locks.
    """
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o600)
    except OSError as error:
        raise StoreError(f"cannot open the history file {path}: {_describe(error)}") from None
    if fcntl is None:  # pragma: no cover - Windows
        return fd
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        raise StoreError(
            f"the history file {path} is in use by another LocalChat server; "
            "stop it, or choose another file with --store"
        ) from None
    return fd


def _connect(path: Path, busy_timeout: float, now: datetime) -> sqlite3.Connection:
    """Connect, check the file is ours (read-only checks first), then set it up for writing."""
    try:
        connection = sqlite3.connect(
            path, timeout=busy_timeout, isolation_level=None, check_same_thread=False
        )
    except sqlite3.Error as error:
        raise StoreError(f"cannot open the history file {path}: {error}") from None
    try:
        version = stored_version(connection)
        mode = connection.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if mode != "wal":  # pragma: no cover - file systems without shared memory
            log.warning("%s: WAL is not available; using journal mode %s", path, mode)
        # FULL: fsync the log at every commit (see the module docstring); fullfsync matters
        # on macOS only, where fsync alone does not reach the disk.
        connection.execute("PRAGMA synchronous = FULL")
        connection.execute("PRAGMA fullfsync = ON")
        connection.execute(f"PRAGMA journal_size_limit = {WAL_SIZE_LIMIT}")
        migrate(connection, version, now)
        # Prove the file is writable now rather than at the first message.
        connection.execute("BEGIN IMMEDIATE")
        connection.execute("COMMIT")
    except StoreError as error:
        connection.close()
        raise StoreError(f"cannot use the history file {path}: {error}") from None
    except sqlite3.Error as error:
        connection.close()
        raise StoreError(
            f"cannot use the history file {path}: {error} "
            "(the file and its directory must be writable)"
        ) from None
    return connection
