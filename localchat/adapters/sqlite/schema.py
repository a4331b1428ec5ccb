"""The history file: its schema, its migrations, and the checks made before anything is written.

A LocalChat history file is a SQLite database marked with ``PRAGMA application_id`` ("LCHT")
and holding a ``schema_version`` table with one row per migration applied. Opening one:

* an empty file (new)            -> every migration is applied, in one transaction;
* ours, at an older version      -> the missing migrations are applied, in one transaction;
* ours, at a newer version       -> refused, the file is left as it is (a newer LocalChat
                                    wrote it; an older one cannot know what its data means);
* any other SQLite file          -> refused: it is not a LocalChat history file;
* not a SQLite file, or corrupt  -> refused.

A migration is a list of SQL statements; the list only ever grows, so a file from any
earlier release can be brought up to date. Times are stored as RFC 3339 UTC text with
microseconds: exact, sortable, and readable in the ``sqlite3`` shell.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from localchat.adapters.wire.times import utc_microseconds
from localchat.domain.model import Message
from localchat.domain.names import RoomName
from localchat.ports.store import StoreError

APPLICATION_ID = 0x4C434854
"""``PRAGMA application_id`` of every LocalChat history file: "LCHT" in ASCII."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Migration:
    """One step of the schema: applied once, in order, never edited after a release."""

    version: int
    summary: str
    statements: tuple[str, ...]


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        version=1,
        summary="messages of every room, keyed by room and seq",
        statements=(
            """
            CREATE TABLE schema_version (
                version    INTEGER PRIMARY KEY,
                summary    TEXT NOT NULL,
                applied_at TEXT NOT NULL
            )
            """,
            """
            CREATE TABLE messages (
                room    TEXT    NOT NULL,  -- canonical room name: '#' + casefold key
                seq     INTEGER NOT NULL,  -- 1, 2, 3... per room, never reused
                sender  TEXT    NOT NULL,  -- the sender's name as registered (NFC)
                text    TEXT    NOT NULL,  -- exactly as sent
                sent_at TEXT    NOT NULL,  -- RFC 3339 UTC with microseconds
                PRIMARY KEY (room, seq)
            ) WITHOUT ROWID
            """,
        ),
    ),
)

LATEST_VERSION = MIGRATIONS[-1].version


def stored_version(connection: sqlite3.Connection, latest: int = LATEST_VERSION) -> int:
    """The schema version of an open file, 0 for an empty one.

    Raises :class:`StoreError` (with the cause, no path) if the file is not ours or is
    newer than this program; reads only, so a refused file is never altered.
    """
    try:
        application_id = connection.execute("PRAGMA application_id").fetchone()[0]
        tables = {
            row[0]
            for row in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")
        }
    except sqlite3.OperationalError:
        raise  # cannot open or lock the file: the caller knows why it opened it
    except sqlite3.DatabaseError as error:
        raise StoreError(f"it is not a SQLite database, or it is damaged ({error})") from None
    if application_id == 0 and not tables:
        return 0
    if application_id != APPLICATION_ID or "schema_version" not in tables:
        raise StoreError(
            "it is a SQLite database but not a LocalChat history file; "
            "choose another file with --store"
        )
    try:
        row = connection.execute("SELECT max(version) FROM schema_version").fetchone()
    except sqlite3.DatabaseError as error:
        raise StoreError(f"its schema_version table cannot be read ({error})") from None
    version = row[0] if row and isinstance(row[0], int) else 0
    if version > latest:
        raise StoreError(
            f"it was written by a newer LocalChat (history schema {version}; this version "
            f"knows up to {latest}); upgrade LocalChat or choose another file with "
            "--store. The file was not changed"
        )
    return version


def migrate(
    connection: sqlite3.Connection,
    current: int,
    now: datetime,
    migrations: Sequence[Migration] = MIGRATIONS,
) -> int:
    """Apply every migration after ``current`` in one transaction; return the new version.

    ``connection`` must be in autocommit mode (``isolation_level=None``) so that the
    transaction here is the only one. DDL is transactional in SQLite: a crash leaves the
    file at ``current``.
    """
    pending = [m for m in migrations if m.version > current]
    if not pending:
        return current
    connection.execute("BEGIN IMMEDIATE")
    try:
        for migration in pending:
            for statement in migration.statements:
                connection.execute(statement)
            connection.execute(
                "INSERT INTO schema_version (version, summary, applied_at) VALUES (?, ?, ?)",
                (migration.version, migration.summary, utc_microseconds(now)),
            )
        connection.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    return pending[-1].version


MESSAGE_COLUMNS = "room, seq, sender, text, sent_at"
"""The ``messages`` columns, in the order of :func:`message_row`."""
ROOM_ROW = "seq, sender, text, sent_at"
"""What a query of one room selects: the arguments of :func:`row_message` after the room."""
SELECT_NEWEST = f"SELECT {ROOM_ROW} FROM messages WHERE room = ? ORDER BY seq DESC LIMIT ?"
"""The newest ``limit`` messages of a room, newest first (the primary key's order)."""


def message_row(message: Message) -> tuple[str, int, str, str, str]:
    """The ``messages`` row for a message, in column order."""
    return (
        message.room.canonical,
        message.seq,
        message.sender,
        message.text,
        utc_microseconds(message.sent_at),
    )


def row_message(room: RoomName, seq: int, sender: str, text: str, sent_at: str) -> Message:
    """A message from the columns of a ``messages`` row of ``room``."""
    return Message(
        room=room, seq=seq, sender=sender, text=text, sent_at=datetime.fromisoformat(sent_at)
    )
