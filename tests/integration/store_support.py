"""Message stores for tests: stores by name (what the store contract and the history
properties run each of their checks against), messages to put in them, and a file made
unwritable."""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from localchat.adapters.memory.store import InMemoryMessageStore
from localchat.adapters.sqlite.store import ROWS_PER_STATEMENT, SqliteMessageStore
from localchat.domain.model import Message
from localchat.domain.names import RoomName
from localchat.ports.store import MessageStore
from tests.fakes import BreakableStore
from tests.helpers import unavailable

OTHER = RoomName.parse("#other")
START = datetime(2026, 11, 22, 10, 4, 5, 123456, tzinfo=UTC)


def message(room: RoomName, seq: int, text: str | None = None) -> Message:
    return Message(
        room=room,
        seq=seq,
        sender="ada",
        text=text if text is not None else f"message {seq}",
        sent_at=START + timedelta(milliseconds=seq),
    )


def seqs(messages: tuple[Message, ...]) -> list[int]:
    return [m.seq for m in messages]


def open_store(kind: str, folder: Path) -> MessageStore:
    """``memory`` (what ``--no-store`` runs), ``sqlite`` (a new ``history.db`` in ``folder``,
    what a server runs by default), ``sqlite-split`` (the same, but a group of more than 16
    messages takes several INSERTs in one transaction, as one of over 1,024 does in
    production) or ``breakable`` (the fake that application tests use to break commits)."""
    if kind == "memory":
        return InMemoryMessageStore()
    if kind.startswith("sqlite"):
        split = kind == "sqlite-split"
        return SqliteMessageStore.open(
            folder / "history.db", rows_per_statement=16 if split else ROWS_PER_STATEMENT
        )
    if kind == "breakable":
        return BreakableStore()
    raise ValueError(f"no store called {kind!r}")


def post(store: MessageStore, room: RoomName, first: int, last: int) -> None:
    for seq in range(first, last + 1):
        store.append(message(room, seq))


@contextlib.contextmanager
def unwritable(target: Path) -> Iterator[None]:
    """Make ``target`` unwritable even for root (``chattr +i``); undo afterwards."""
    if os.geteuid() != 0:
        mode = target.stat().st_mode
        target.chmod(0o555 if target.is_dir() else 0o444)
        try:
            yield
        finally:
            target.chmod(mode)
        return
    if subprocess.run(["chattr", "+i", str(target)], check=False, capture_output=True).returncode:
        unavailable("cannot make a file immutable here (chattr +i failed)")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(target)], check=True)
