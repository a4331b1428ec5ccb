"""The message store: a room's history and where its ``seq`` continues from."""

from __future__ import annotations

from typing import Protocol

from localchat.domain.model import Message
from localchat.domain.names import RoomName


class StoreError(Exception):
    """The store cannot do its job (unwritable, full, corrupt). ``str()`` says why."""


class MessageStore(Protocol):
    """Stores messages; staged by :meth:`append`, durable after :meth:`commit`.

    The dispatcher appends every message of a batch, then commits once (group commit) before
    any of them is delivered: what a client saw echoed is durable.
    """

    def last_seq(self, room: RoomName) -> int:
        """The highest ``seq`` stored for ``room``, 0 if none."""
        ...

    def append(self, message: Message) -> None:
        """Stage a message; it is durable after the next successful :meth:`commit`."""
        ...

    def commit(self) -> None:
        """Make every staged message durable, or raise :class:`StoreError` and drop them."""
        ...

    def page(self, room: RoomName, *, before: int | None, limit: int) -> tuple[Message, ...]:
        """Up to ``limit`` messages with ``seq < before`` (newest if None), oldest first.

        Staged messages count: their history page is delivered after the same commit.
        """
        ...

    def close(self) -> None:
        """Commit what is staged and release the store."""
        ...
