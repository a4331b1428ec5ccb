"""InMemoryMessageStore: the last messages of each room, in memory (``--no-store``).

Used when the operator opts out of persistence, and as the fake in application tests. It
honours the same contract as the SQLite store except durability: ``seq`` restarts at 1 when
the process does.
"""

from __future__ import annotations

from collections import deque

from localchat.domain.model import Message
from localchat.domain.names import RoomName
from localchat.ports.store import Commit, already_durable

DEFAULT_KEEP_PER_ROOM = 1000


class InMemoryMessageStore:
    """Keeps the newest ``keep_per_room`` messages of every room."""

    durable_at_once = True

    def __init__(self, *, keep_per_room: int = DEFAULT_KEEP_PER_ROOM) -> None:
        self._keep = keep_per_room
        self._rooms: dict[str, deque[Message]] = {}
        self._last_seq: dict[str, int] = {}
        self._unsealed: list[Message] = []

    def last_seq(self, room: RoomName) -> int:
        return self._last_seq.get(room.canonical, 0)

    def append(self, message: Message) -> None:
        key = message.room.canonical
        messages = self._rooms.get(key)
        if messages is None:
            messages = self._rooms[key] = deque(maxlen=self._keep)
        messages.append(message)
        self._last_seq[key] = message.seq
        self._unsealed.append(message)

    def seal(self) -> Commit:
        self._unsealed = []
        return already_durable

    def discard(self) -> None:
        """Forget what was appended since the last seal (sealed groups are as good as
        durable here: their commit cannot fail)."""
        for message in reversed(self._unsealed):
            key = message.room.canonical
            messages = self._rooms[key]
            if messages and messages[-1] is message:
                messages.pop()
            self._last_seq[key] = message.seq - 1
        self._unsealed = []

    def page(self, room: RoomName, *, before: int | None, limit: int) -> tuple[Message, ...]:
        messages = self._rooms.get(room.canonical)
        if not messages or limit <= 0:
            return ()
        if before is None:
            newest = len(messages)
        else:
            # seq is contiguous inside the deque, so the position is arithmetic.
            newest = max(0, min(len(messages), before - messages[0].seq))
        return tuple(messages[i] for i in range(max(0, newest - limit), newest))

    def close(self) -> None:
        """Nothing to release."""
