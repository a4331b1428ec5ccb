"""The message store: a room's history and where its ``seq`` continues from."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from localchat.domain.model import Message
from localchat.domain.names import RoomName


class StoreError(Exception):
    """The store cannot do its job (unwritable, full, corrupt). ``str()`` says why."""


Commit = Callable[[], None]
"""Makes one sealed group of messages durable; raises :class:`StoreError` if it cannot."""


def already_durable() -> None:
    """The :data:`Commit` of a store with nothing to write (messages in memory only).

    A store returns this very function from ``seal`` so the dispatcher can deliver the
    group at once instead of handing a no-op to its committer thread and waiting.
    """


class MessageStore(Protocol):
    """Stores messages: staged by :meth:`append`, grouped by :meth:`seal`, durable once the
    group's commit has run.

    Group commit, pipelined: the dispatcher thread appends the messages of the commands it
    runs and seals them into a group; another thread runs that group's commit (the fsync)
    while the dispatcher goes on with the next commands; the group's deliveries go out once
    its commit returned. So what a client saw echoed is durable, and one fsync serves every
    message that arrived while the previous one was in flight.

    Threads: :meth:`last_seq`, :meth:`append`, :meth:`seal`, :meth:`discard` and
    :meth:`page` are called from one thread (the dispatcher); a commit may run on another
    thread at the same time. Commits run one at a time, in the order they were sealed.
    """

    def last_seq(self, room: RoomName) -> int:
        """The highest ``seq`` of ``room``, staged messages included; 0 if none."""
        ...

    def append(self, message: Message) -> None:
        """Stage a message (``seq`` one above :meth:`last_seq` of its room)."""
        ...

    def seal(self) -> Commit:
        """Close the group of messages staged since the last seal; return its commit.

        The commit makes exactly that group durable, or raises :class:`StoreError`. After
        a failed commit the caller calls :meth:`discard` before anything else.
        """
        ...

    def discard(self) -> None:
        """Forget every message that is not durable (after a failed commit: the caller
        withdrew them). Only while no commit is running."""
        ...

    def page(self, room: RoomName, *, before: int | None, limit: int) -> tuple[Message, ...]:
        """Up to ``limit`` messages with ``seq < before`` (newest if None), oldest first.

        Staged messages count: a history page is delivered after the commit of the group
        it was computed in, so it may show that group's messages.
        """
        ...

    def close(self) -> None:
        """Commit what is staged and release the store (no commit may be running)."""
        ...
