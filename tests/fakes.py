"""Hand-written fakes for the ports (no mocks): injected at the composition root."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from localchat.domain.model import Message
from localchat.domain.names import RoomName
from localchat.ports.store import Commit, StoreError


class FixedClock:
    """A clock that only moves when told to (``advance``), or by ``step`` per reading."""

    def __init__(self, start: datetime | None = None, *, step: timedelta = timedelta(0)) -> None:
        self._now = start or datetime(2026, 11, 22, 10, 4, 5, 123000, tzinfo=UTC)
        self._step = step

    def now(self) -> datetime:
        moment = self._now
        self._now += self._step
        return moment

    def advance(self, delta: timedelta) -> None:
        self._now += delta


class BreakableStore:
    """A MessageStore in memory whose commits fail while ``broken`` is set (a full disk
    without the disk), and whose reads fail while ``reads_broken`` is set. Messages whose
    commit ran are ``durable``."""

    def __init__(self) -> None:
        self._messages: list[Message] = []
        self._durable = 0
        self.broken = False
        self.reads_broken = False
        self.commits = 0

    @property
    def durable(self) -> tuple[Message, ...]:
        return tuple(self._messages[: self._durable])

    @property
    def pending(self) -> int:
        """How many messages are not durable."""
        return len(self._messages) - self._durable

    def is_durable(self, message: Message) -> bool:
        return message in self._messages[: self._durable]

    def last_seq(self, room: RoomName) -> int:
        self._check_reads()
        return max((m.seq for m in self._messages if m.room == room), default=0)

    def append(self, message: Message) -> None:
        self._messages.append(message)

    def seal(self) -> Commit:
        end = len(self._messages)

        def commit() -> None:
            if end <= self._durable:
                return
            if self.broken:
                raise StoreError("the disk is full (a fake)")
            self._durable = end
            self.commits += 1

        return commit

    def commit(self) -> None:
        try:
            self.seal()()
        except StoreError:
            self.discard()
            raise

    def discard(self) -> None:
        del self._messages[self._durable :]

    def page(self, room: RoomName, *, before: int | None, limit: int) -> tuple[Message, ...]:
        self._check_reads()
        mine = [m for m in self._messages if m.room == room and (before is None or m.seq < before)]
        return tuple(mine[-limit:]) if limit > 0 else ()

    def close(self) -> None:
        self.commit()

    def _check_reads(self) -> None:
        if self.reads_broken:
            raise StoreError("the disk cannot be read (a fake)")
