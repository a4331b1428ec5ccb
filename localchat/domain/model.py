"""Users, messages and the Room aggregate.

A :class:`Room` owns its membership and its sequence counter, so "one order per room" is
enforced in one place: every accepted message gets the next ``seq`` from the room itself.
Room methods change the room or raise a :class:`~localchat.domain.errors.DomainError`;
``post`` returns the accepted :class:`Message`. The chat core turns them into events and
decides who receives them.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import NewType

from localchat.domain.errors import AlreadyInRoom, NotInRoom
from localchat.domain.names import RoomName, UserName

SessionId = NewType("SessionId", int)
"""Identifies one connected client for the lifetime of its connection."""


class LeaveReason(enum.StrEnum):
    """Why a member left a room (the ``reason`` of ``left``)."""

    LEAVE = "leave"
    QUIT = "quit"
    DISCONNECTED = "disconnected"
    TIMEOUT = "timeout"
    KICKED = "kicked"


@dataclass(frozen=True, slots=True, kw_only=True)
class User:
    """A registered user: a name bound to one session."""

    name: UserName
    session: SessionId


@dataclass(frozen=True, slots=True, kw_only=True)
class Message:
    """A chat message in a room, as stored and as delivered."""

    room: RoomName
    seq: int
    sender: str
    text: str
    sent_at: datetime


class Room:
    """A room: its members (by name key) and the next ``seq`` to hand out."""

    __slots__ = ("_members", "_next_seq", "_recipients", "name")

    def __init__(self, name: RoomName, *, last_seq: int = 0) -> None:
        self.name = name
        self._members: dict[str, User] = {}
        self._next_seq = last_seq + 1
        self._recipients: tuple[SessionId, ...] | None = None

    @property
    def last_seq(self) -> int:
        """The ``seq`` of the newest message, 0 if none."""
        return self._next_seq - 1

    def __len__(self) -> int:
        return len(self._members)

    def __contains__(self, user: User) -> bool:
        member = self._members.get(user.name.key)
        return member is not None and member.session == user.session

    def recipients(self) -> tuple[SessionId, ...]:
        """Sessions of every member; cached until membership changes."""
        if self._recipients is None:
            self._recipients = tuple(member.session for member in self._members.values())
        return self._recipients

    def member_names(self) -> tuple[str, ...]:
        """Display names of the members, sorted by key (members are kept by key, so no two
        tie: the order of :func:`~localchat.domain.names.sort_key` without recomputing it)."""
        members = self._members
        return tuple(members[key].name.display for key in sorted(members))

    def add(self, user: User) -> None:
        """Make ``user`` a member, or raise :class:`AlreadyInRoom`."""
        if user.name.key in self._members:
            raise AlreadyInRoom(f"you are already in {self.name}")
        self._members[user.name.key] = user
        self._recipients = None

    def remove(self, user: User) -> None:
        """Remove ``user``, or raise :class:`NotInRoom`."""
        if user not in self:
            raise NotInRoom(f"you are not in {self.name}")
        del self._members[user.name.key]
        self._recipients = None

    def post(self, user: User, text: str, at: datetime) -> Message:
        """Accept a message from a member and give it the room's next ``seq``."""
        if user not in self:
            raise NotInRoom(f"you are not in {self.name}")
        message = Message(
            room=self.name, seq=self._next_seq, sender=user.name.display, text=text, sent_at=at
        )
        self._next_seq += 1
        return message

    def withdraw_from(self, seq: int) -> None:
        """Messages from ``seq`` on were never stored (the store failed): hand out their
        ``seq`` again, so the room's sequence stays contiguous."""
        self._next_seq = min(self._next_seq, max(1, seq))
