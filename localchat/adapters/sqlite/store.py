"""SqliteMessageStore: a server's message history in one SQLite file, durable at every commit.

Durability. The file is in WAL mode with ``synchronous=FULL``: every ``COMMIT`` appends the
transaction to the write-ahead log and fsyncs it before returning, so a committed message
survives ``kill -9`` *and* a power cut. (``synchronous=NORMAL`` would fsync only at
checkpoints: safe against a crashed process, but a power cut could lose the last commits,
which breaks "nothing acknowledged is lost".) One fsync per commit is affordable because
the server commits groups of messages (group commit).

Staging. :meth:`append` only remembers a message; :meth:`seal` closes the group staged so
far and returns its commit, which writes exactly that group in one transaction. Messages
not yet durable are kept in memory per room and count for :meth:`page` and
:meth:`last_seq`: the dispatcher delivers a history page after the commit of its group.

Two connections. The commit runs on the committer thread with the *writer* connection,
while the dispatcher thread stages the next group and reads with its own *reader*
connection: in WAL mode a reader never waits for a writer, so a page is served during an
fsync. What the reader cannot see yet is exactly what is still pending in memory.

One server per file. An exclusive ``flock`` on the file refuses a second server (two writers
would hand out the same ``seq``); readers such as ``localchat history`` may open it at any
time.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from localchat.adapters.sqlite.schema import (
    MESSAGE_COLUMNS,
    ROOM_ROW,
    SELECT_NEWEST,
    message_row,
    migrate,
    row_message,
    stored_version,
)
from localchat.domain.model import Message
from localchat.domain.names import RoomName
from localchat.ports.store import Commit, StoreError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no advisory lock, the rest works
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

DEFAULT_BUSY_TIMEOUT = 5.0
WAL_SIZE_LIMIT = 64 * 1024 * 1024
"""Bytes the write-ahead log is truncated to after a checkpoint."""

ROWS_PER_STATEMENT = 1024
"""At most this many rows per INSERT; a bigger group is written by several in one transaction."""
_PADDING = 16
"""Row counts are rounded up to a multiple of this, so a few statements serve every group."""
_COLUMNS = len(MESSAGE_COLUMNS.split(","))


@functools.lru_cache(maxsize=ROWS_PER_STATEMENT // _PADDING)
def _insert_rows(count: int) -> str:
    """One ``INSERT`` of ``count`` rows given as parameters; rows whose room is NULL are
    padding and skipped.

    Why this shape: a group becomes one statement, so in autocommit mode one transaction
    and one release of the GIL for the insert, the commit and its fsync (``executemany``
    releases and retakes it per row, each time waiting for a busy dispatcher); bound
    values cost SQLite a third of the CPU of a JSON array taken apart with ``json_each``;
    and padding to a multiple of :data:`_PADDING` keeps the prepared statements few, so
    they stay in the connection's statement cache.
    """
    rows = ", ".join(["(" + ", ".join("?" * _COLUMNS) + ")"] * count)
    return (
        f"INSERT INTO messages ({MESSAGE_COLUMNS}) "
        f"SELECT * FROM (VALUES {rows}) WHERE column1 IS NOT NULL"
    )


_NEWEST_BEFORE = (
    f"SELECT {ROOM_ROW} FROM messages WHERE room = ? AND seq < ? ORDER BY seq DESC LIMIT ?"
)
_LAST_SEQ = "SELECT max(seq) FROM messages WHERE room = ?"


def _describe(error: BaseException) -> str:
    if isinstance(error, OSError):
        return error.strerror or str(error)
    return str(error)


class SqliteMessageStore:
    """See the module docstring. Build it with :meth:`open`."""

    durable_at_once = False

    def __init__(
        self,
        path: Path,
        writer: sqlite3.Connection,
        reader: sqlite3.Connection,
        lock_fd: int | None,
        *,
        rows_per_statement: int = ROWS_PER_STATEMENT,
    ) -> None:
        self.path = path
        self._writer: sqlite3.Connection | None = writer
        self._reader: sqlite3.Connection | None = reader
        self._lock_fd = lock_fd
        self._state = threading.Lock()  # guards _unsealed, _unsealed_last and _pending
        self._writing = threading.Lock()  # one commit at a time on the writer
        self._unsealed: list[str | int | None] = []
        """The rows of the messages staged since the last seal, flat, as the INSERT binds
        them: built as messages are staged, so the commit (the path every waiting message
        is on) only writes."""
        self._unsealed_last: dict[str, int] = {}
        """The ``seq`` of the last of those in each room."""
        self._pending: dict[str, list[Message]] = {}
        """Per room, every message not yet durable (sealed groups first), in seq order."""
        self._failing = False
        limit = writer.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) // _COLUMNS
        self._rows_per_statement = (
            max(_PADDING, min(rows_per_statement, limit)) // _PADDING * _PADDING
        )

    @classmethod
    def open(
        cls,
        path: Path,
        *,
        busy_timeout: float = DEFAULT_BUSY_TIMEOUT,
        now: datetime | None = None,
        rows_per_statement: int = ROWS_PER_STATEMENT,
    ) -> SqliteMessageStore:
        """Open (or create) the history file at ``path`` for writing.

        Raises :class:`StoreError` with one line naming the path and the cause: not
        writable, in use by another server, not a LocalChat file, written by a newer
        version, damaged. A refused file is never altered.
        """
        lock_fd = _lock(path)
        try:
            writer = _connect(path, busy_timeout, now or datetime.now(UTC))
            try:
                reader = _connect_reader(path, busy_timeout)
            except BaseException:
                writer.close()
                raise
        except BaseException:
            if lock_fd is not None:
                os.close(lock_fd)
            raise
        return cls(path, writer, reader, lock_fd, rows_per_statement=rows_per_statement)

    # -- MessageStore ---------------------------------------------------------------------------

    def last_seq(self, room: RoomName) -> int:
        with self._state:
            pending = self._pending.get(room.canonical)
            if pending:
                return pending[-1].seq
        # Nothing of this room is pending, so all of it is durable and visible to the reader.
        rows = self._read(_LAST_SEQ, (room.canonical,))
        return int(rows[0][0] or 0)

    def append(self, message: Message) -> None:
        with self._state:
            key = message.room.canonical
            self._unsealed += message_row(message)
            self._unsealed_last[key] = message.seq
            pending = self._pending.get(key)
            if pending is None:
                self._pending[key] = [message]
            else:
                pending.append(message)

    def seal(self) -> Commit:
        with self._state:
            values, self._unsealed = self._unsealed, []
            last, self._unsealed_last = self._unsealed_last, {}
        return functools.partial(self._write, values, last)

    def discard(self) -> None:
        with self._state:
            self._unsealed = []
            self._unsealed_last = {}
            self._pending = {}

    def page(self, room: RoomName, *, before: int | None, limit: int) -> tuple[Message, ...]:
        if limit <= 0:
            return ()
        with self._state:
            pending = list(self._pending.get(room.canonical, ()))
        if pending and before is not None:
            # Pending seqs of a room are contiguous: slice by arithmetic.
            pending = pending[: max(0, before - pending[0].seq)]
        newest = pending[-limit:]
        wanted = limit - len(newest)
        if not wanted:
            return tuple(newest)
        # Everything below the oldest pending message is durable: the reader sees it.
        below = newest[0].seq if newest else before
        if below is None:
            rows = self._read(SELECT_NEWEST, (room.canonical, wanted))
        else:
            rows = self._read(_NEWEST_BEFORE, (room.canonical, below, wanted))
        older = [row_message(room, *row) for row in reversed(rows)]
        return (*older, *newest)

    def close(self) -> None:
        """Commit what is staged (a failure is logged), close the file, release the lock."""
        if self._writer is None:
            return
        try:
            self.seal()()
        except StoreError as error:
            log.error("%s", error)
        with self._writing:
            for connection in (self._writer, self._reader):
                if connection is not None:
                    with contextlib.suppress(sqlite3.Error):
                        connection.close()
            self._writer = self._reader = None
            if self._lock_fd is not None:
                os.close(self._lock_fd)
                self._lock_fd = None

    # -- internals ------------------------------------------------------------------------------

    def _read(self, sql: str, parameters: tuple[object, ...]) -> list[Any]:
        reader = self._reader
        if reader is None:
            raise StoreError(f"the history in {self.path} is closed")
        try:
            return reader.execute(sql, parameters).fetchall()
        except sqlite3.Error as error:
            raise StoreError(f"cannot read the history in {self.path}: {error}") from None

    def _write(self, values: list[str | int | None], last: dict[str, int]) -> None:
        """The commit of one sealed group (``values``: its rows; ``last``: the ``seq`` of
        its last message in each room): one transaction, one fsync (any thread)."""
        if not values:
            return
        step = self._rows_per_statement * _COLUMNS
        chunks = [values[start : start + step] for start in range(0, len(values), step)]
        with self._writing:
            writer = self._writer
            if writer is None:
                raise StoreError(f"the history in {self.path} is closed")
            try:
                if len(chunks) > 1:
                    writer.execute("BEGIN IMMEDIATE")
                for chunk in chunks:
                    _insert(writer, chunk)
                if writer.in_transaction:
                    writer.execute("COMMIT")
            except sqlite3.Error as error:
                if writer.in_transaction:
                    with contextlib.suppress(sqlite3.Error):
                        writer.execute("ROLLBACK")
                if not self._failing:
                    self._failing = True
                    log.error("cannot store messages in %s: %s", self.path, error)
                raise StoreError(f"cannot store messages in {self.path}: {error}") from None
        if self._failing:
            self._failing = False
            log.warning("storing messages in %s works again", self.path)
        with self._state:
            # A sealed group holds the oldest pending messages of each of its rooms, and
            # pending seqs of a room are contiguous.
            for key, seq in last.items():
                pending = self._pending.get(key)
                if pending is not None:
                    del pending[: max(0, seq - pending[0].seq + 1)]
                    if not pending:
                        del self._pending[key]


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


def _connect_reader(path: Path, busy_timeout: float) -> sqlite3.Connection:
    """The dispatcher's own connection for reading: with WAL it never waits for a commit."""
    try:
        reader = sqlite3.connect(
            path, timeout=busy_timeout, isolation_level=None, check_same_thread=False
        )
        reader.execute("PRAGMA query_only = ON")
    except sqlite3.Error as error:
        raise StoreError(f"cannot open the history file {path}: {error}") from None
    return reader


def _insert(writer: sqlite3.Connection, values: list[str | int | None]) -> None:
    """Insert the rows whose columns are ``values`` with one statement (see
    :func:`_insert_rows`)."""
    count = -(-len(values) // (_COLUMNS * _PADDING)) * _PADDING
    values += [None] * (_COLUMNS * count - len(values))
    writer.execute(_insert_rows(count), values)
