"""Commit groups: the deliveries of commands run together, released together after their
store commit, or rewritten when that commit fails.

Pure data and functions (no threads, no store): the dispatcher decides when a group is
sealed, committed and delivered.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from localchat.domain.errors import StoreUnavailable
from localchat.domain.events import CommandRejected, Delivery, HistoryFetched, MessagePosted
from localchat.domain.model import Message, SessionId
from localchat.ports.transport import Reply

STORE_FAILED = CommandRejected.from_error(StoreUnavailable())


@dataclass(frozen=True, slots=True)
class ReplyDelivery:
    """A transport's :class:`Reply`, kept in line with the deliveries of the commands
    around it and handed back to that transport as they are."""

    event: Reply
    recipients: tuple[SessionId, ...]


Routed = Delivery | ReplyDelivery
"""What a group hands to the transports, in order."""


@dataclass(slots=True)
class Group:
    """What a run of commands caused, waiting for the commit of its messages."""

    deliveries: list[Routed] = field(default_factory=list)
    posted: list[tuple[int, SessionId]] = field(default_factory=list)
    """``(index in deliveries, sender)`` of every new message: what the commit covers."""
    ended: list[SessionId] = field(default_factory=list)
    """Sessions that quit or were lost: forgotten once the group is delivered."""

    def __bool__(self) -> bool:
        return bool(self.deliveries) or bool(self.ended)

    def add(self, session: SessionId, produced: list[Delivery], *, posting: bool) -> int:
        """Append what one command of ``session`` produced (``posting``: a ``say``); return
        how many new messages it brought."""
        before = len(self.posted)
        if posting:
            start = len(self.deliveries)
            for offset, delivery in enumerate(produced):
                if type(delivery.event) is MessagePosted:
                    self.posted.append((start + offset, session))
        self.deliveries.extend(produced)
        return len(self.posted) - before

    def messages(self) -> list[Message]:
        """The new messages of this group, in the order they were posted."""
        found: list[Message] = []
        for index, _ in self.posted:
            event = self.deliveries[index].event
            assert isinstance(event, MessagePosted)
            found.append(event.message)
        return found


def withdrawn(group: Group, lost: set[tuple[str, int]]) -> Group:
    """``group`` after a failed commit lost the messages ``lost`` (``(room, seq)``): each
    of its own new messages that is lost becomes ``store_unavailable`` for its sender alone
    (a commit may have made the group's first ones durable before), and history pages drop
    every lost message (a page shows staged messages, maybe of an earlier group).
    Everything else stands, in order."""
    senders = dict(group.posted)
    kept: list[Routed] = []
    for index, delivery in enumerate(group.deliveries):
        event = delivery.event
        if index in senders and _key(event) in lost:
            kept.append(Delivery(STORE_FAILED, (senders[index],)))
        elif isinstance(event, HistoryFetched):
            messages = tuple(m for m in event.messages if (m.room.canonical, m.seq) not in lost)
            page = HistoryFetched(room=event.room, messages=messages)
            kept.append(Delivery(page, delivery.recipients))
        else:
            kept.append(delivery)
    return Group(deliveries=kept, ended=group.ended)


def _key(event: object) -> tuple[str, int]:
    assert isinstance(event, MessagePosted)
    return event.message.room.canonical, event.message.seq
