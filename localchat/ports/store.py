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
    """The :data:`Commit` of a store with nothing to write (messages in memory only, see
    :attr:`MessageStore.durable_at_once`)."""


class MessageStore(Protocol):
    """Stores messages: staged by :meth:`append`, grouped by :meth:`seal`, durable once the
    group's commit has run.

    Group commit, pipelined: the dispatcher thread appends the messages of the commands it
    runs; the committer thread seals what was appended so far into a group and runs that
    group's commit (the fsync) while the dispatcher goes on with the next commands; as soon
    as the commit returns, it seals and commits what arrived meanwhile. Deliveries go out
    once the commit of their messages returned. So what a client saw echoed is durable,
    and one fsync serves every message that arrived while the previous one was in flight.

    Threads: :meth:`last_seq`, :meth:`append`, :meth:`discard` and :meth:`page` are called
    from one thread (the dispatcher); :meth:`seal` and the commits it returns from another
    (the committer) at the same time. Commits run one at a time, in the order they were
    sealed.
    """

    durable_at_once: bool
    """True for a store that keeps messages in memory only: nothing to write, so groups go
    out at once and every :meth:`seal` answers :func:`already_durable`."""

    def last_seq(self, room: RoomName) -> int:
        """The highest ``seq`` of ``room``, staged messages included; 0 if none."""
        ...

    def append(self, message: Message) -> None:
        """Stage a message (``seq`` one above :meth:`last_seq` of its room)."""
        ...

    def seal(self) -> Commit:
        """Close the group of messages staged since the last seal; return its commit.

        The commit makes exactly that group durable, or raises :class:`StoreError`. After
        a failed commit the caller calls :meth:`discard` before anything else. Called
        while :meth:`append` may run on another thread: a message is in this group or
        the next, never in neither.
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
