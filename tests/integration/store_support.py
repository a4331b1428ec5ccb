"""Message stores for tests, by name: what the store contract and the history properties run
each of their checks against."""

from __future__ import annotations

from pathlib import Path

from localchat.adapters.memory.store import InMemoryMessageStore
from localchat.adapters.sqlite.store import SqliteMessageStore
from localchat.ports.store import MessageStore
from tests.fakes import BreakableStore


def open_store(kind: str, folder: Path) -> MessageStore:
    """``memory`` (what ``--no-store`` runs), ``sqlite`` (a new ``history.db`` in ``folder``,
    what a server runs by default), ``sqlite-executemany`` (the same, written row by row as
    on SQLite builds without JSON functions) or ``breakable`` (the fake that application
    tests use to break commits)."""
    if kind == "memory":
        return InMemoryMessageStore()
    if kind.startswith("sqlite"):
        sqlite = SqliteMessageStore.open(folder / "history.db")
        sqlite._json_insert = kind == "sqlite"
        return sqlite
    if kind == "breakable":
        return BreakableStore()
    raise ValueError(f"no store called {kind!r}")
