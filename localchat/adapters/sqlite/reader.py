"""SqliteHistoryReader: a read-only view of a history file, for ``localchat history`` and
``localchat export``.

It opens the file with ``mode=ro``, so it can never alter it, and it may run while a server
writes the same file (WAL readers see the last commit). It refuses what the server refuses:
files that are not LocalChat history, or that a newer LocalChat wrote.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

from localchat.adapters.sqlite.schema import ROOM_ROW, SELECT_NEWEST, row_message, stored_version
from localchat.domain.model import Message
from localchat.domain.names import RoomName
from localchat.ports.store import StoreError

_ROOMS = """
WITH RECURSIVE rooms(room) AS (
    SELECT min(room) FROM messages
    UNION ALL
    SELECT (SELECT min(room) FROM messages WHERE room > rooms.room) FROM rooms
    WHERE rooms.room IS NOT NULL
)
SELECT room FROM rooms WHERE room IS NOT NULL
"""
"""Distinct rooms in O(rooms · log n): one index probe per room, not a scan of every row."""

_ALL = f"SELECT {ROOM_ROW} FROM messages WHERE room = ? ORDER BY seq"


class SqliteHistoryReader:
    """Read-only access to a history file. Build it with :meth:`open`."""

    def __init__(self, path: Path, connection: sqlite3.Connection) -> None:
        self.path = path
        self._connection = connection

    @classmethod
    def open(cls, path: Path) -> SqliteHistoryReader:
        """Open ``path`` read-only; raises :class:`StoreError` with one line (path and cause)."""
        if not path.exists():
            raise StoreError(f"there is no history file {path}")
        if not path.is_file():
            raise StoreError(f"{path} is not a history file (not a regular file)")
        connection = _connect_read_only(path)
        try:
            version = stored_version(connection)
        except (StoreError, sqlite3.Error) as error:
            connection.close()
            raise StoreError(f"cannot read the history file {path}: {error}") from None
        if version == 0:
            connection.close()
            raise StoreError(f"the history file {path} is empty: no message was ever stored")
        return cls(path, connection)

    def rooms(self) -> list[RoomName]:
        """Every room with stored messages, sorted by name."""
        return [RoomName(canonical=row[0]) for row in self._query(_ROOMS, ())]

    def messages(self, room: RoomName) -> Iterator[Message]:
        """Every message of ``room``, oldest first, read as it is consumed."""
        for row in self._query(_ALL, (room.canonical,)):
            yield row_message(room, *row)

    def last(self, room: RoomName, count: int) -> list[Message]:
        """The newest ``count`` messages of ``room``, oldest first."""
        newest = list(self._query(SELECT_NEWEST, (room.canonical, count)))
        return [row_message(room, *row) for row in reversed(newest)]

    def close(self) -> None:
        self._connection.close()

    def __enter__(self) -> SqliteHistoryReader:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _query(self, sql: str, parameters: tuple[object, ...]) -> Iterator[Any]:
        try:
            yield from self._connection.execute(sql, parameters)
        except sqlite3.Error as error:
            raise StoreError(f"cannot read the history file {self.path}: {error}") from None


def _connect_read_only(path: Path) -> sqlite3.Connection:
    """``mode=ro``; if that fails (a read-only directory where SQLite cannot create its
    shared-memory file) and no server has a write-ahead log open, ``immutable=1``."""
    uri = f"file:{quote(str(path.absolute()))}"
    try:
        connection = sqlite3.connect(f"{uri}?mode=ro", uri=True, isolation_level=None)
        connection.execute("PRAGMA schema_version").fetchone()
    except sqlite3.DatabaseError as error:
        wal = Path(f"{path}-wal")
        if wal.exists() and wal.stat().st_size:
            raise StoreError(f"cannot read the history file {path}: {error}") from None
        try:
            connection = sqlite3.connect(
                f"{uri}?mode=ro&immutable=1", uri=True, isolation_level=None
            )
        except sqlite3.Error as retry_error:
            raise StoreError(f"cannot read the history file {path}: {retry_error}") from None
    return connection
