"""The chat core's use cases: one command in, the deliveries it causes out.

:class:`ChatService` keeps the registry of users, rooms and direct-message counters. It is
pure apart from its ports (a :class:`~localchat.ports.Clock` and a
:class:`~localchat.ports.MessageStore`) and is driven by exactly one thread, the dispatcher,
so it needs no locks and every room has one order.

Errors never escape :meth:`ChatService.handle`: a broken rule becomes a
:class:`~localchat.domain.events.CommandRejected` for the sender alone.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from localchat.domain.commands import (
    DEFAULT_HISTORY_LIMIT,
    MAX_HISTORY_LIMIT,
    Command,
    Disconnect,
    FetchHistory,
    JoinRoom,
    LeaveRoom,
    ListRooms,
    ListUsers,
    PostMessage,
    Quit,
    Register,
    SendDirect,
)
from localchat.domain.errors import (
    AlreadyRegistered,
    AuthFailed,
    DomainError,
    InvalidName,
    NameTaken,
    NoSuchRoom,
    NoSuchUser,
    NotInRoom,
    NotRegistered,
    ServerFull,
    StoreUnavailable,
    UnsupportedProtocol,
)
from localchat.domain.events import (
    CommandRejected,
    Delivery,
    DirectSent,
    HistoryFetched,
    MessagePosted,
    RoomsListed,
    RoomSummary,
    SessionClosed,
    UserJoined,
    UserLeft,
    UsersListed,
    Welcomed,
)
from localchat.domain.model import LeaveReason, Message, Room, SessionId, User
from localchat.domain.names import LOBBY, RoomName, UserName
from localchat.domain.protocol import PROTOCOL_VERSION
from localchat.domain.text import DEFAULT_MAX_TEXT_CHARS, check_text
from localchat.ports.clock import Clock
from localchat.ports.store import MessageStore, StoreError

log = logging.getLogger(__name__)

DEFAULT_MAX_CLIENTS = 1000
CANNOT_READ_HISTORY = "the server cannot read its history right now; try again later"


@dataclass(frozen=True, slots=True, kw_only=True)
class ServerPolicy:
    """The rules a server operator chooses (PROTOCOL.md §7)."""

    max_clients: int = DEFAULT_MAX_CLIENTS
    password: str | None = None
    max_text_chars: int = DEFAULT_MAX_TEXT_CHARS
    history_on_join: int = DEFAULT_HISTORY_LIMIT


def _unreadable(error: StoreError) -> StoreUnavailable:
    """The store could not be read: log why for the operator, tell the client to retry."""
    log.error("%s", error)
    return StoreUnavailable(CANNOT_READ_HISTORY)


class ChatService:
    """Users, rooms and directs; see the module docstring."""

    def __init__(self, *, clock: Clock, store: MessageStore, policy: ServerPolicy) -> None:
        self._clock = clock
        self._store = store
        self._policy = policy
        self._users: dict[str, User] = {}
        self._sessions: dict[SessionId, User] = {}
        self._memberships: dict[SessionId, dict[str, Room]] = {}
        self._rooms: dict[str, Room] = {}
        self._direct_seq: dict[tuple[str, str], int] = {}
        self._handlers: dict[type[Any], Callable[[SessionId, Any], list[Delivery]]] = {
            Register: self._register,
            PostMessage: self._post,
            ListUsers: self._list_users,
            JoinRoom: self._join,
            LeaveRoom: self._leave,
            ListRooms: self._list_rooms,
            SendDirect: self._direct,
            FetchHistory: self._history,
            Quit: self._quit,
            Disconnect: self._disconnect,
        }
        # At start-up a store that cannot say where #lobby's seq continues is fatal
        # (StoreError reaches the composition root); later, a room that cannot be opened
        # is refused alone (_open_room).
        self._lobby = Room(LOBBY, last_seq=store.last_seq(LOBBY))
        self._rooms[LOBBY.canonical] = self._lobby

    # -- queries, for embedding programs and tests --------------------------------------------

    @property
    def user_count(self) -> int:
        return len(self._sessions)

    def user(self, session: SessionId) -> User | None:
        return self._sessions.get(session)

    def room_names(self) -> tuple[str, ...]:
        return tuple(sorted(self._rooms))

    # -- store failures -------------------------------------------------------------------------

    def withdraw(self, messages: Iterable[Message]) -> None:
        """The store lost ``messages`` (a failed commit): nobody was told of them, so each
        room hands their ``seq`` out again and stays contiguous. The dispatcher tells the
        senders (``store_unavailable``)."""
        first: dict[str, int] = {}
        for message in messages:
            key = message.room.canonical
            first[key] = min(first.get(key, message.seq), message.seq)
        for key, seq in first.items():
            room = self._rooms.get(key)
            if room is not None:
                room.withdraw_from(seq)

    # -- the one entry point --------------------------------------------------------------------

    def handle(self, session: SessionId, command: Command) -> list[Delivery]:
        """Apply ``command`` from ``session``; return what must be delivered, in order."""
        handler = self._handlers[type(command)]
        try:
            return handler(session, command)
        except DomainError as error:
            return [Delivery(CommandRejected.from_error(error), (session,))]

    # -- handlers -------------------------------------------------------------------------------

    def _member(self, session: SessionId) -> User:
        user = self._sessions.get(session)
        if user is None:
            raise NotRegistered()
        return user

    def _in_room(self, session: SessionId, name: RoomName) -> tuple[User, Room]:
        """The sender and its membership of ``name``: ``not_registered``, else
        ``not_in_room``, is checked before anything else about the command (inlined
        :meth:`_member`: every ``say`` passes here)."""
        user = self._sessions.get(session)
        if user is None:
            raise NotRegistered()
        room = self._memberships[session].get(name.canonical)
        if room is None:
            raise NotInRoom(f"you are not in {name}")
        return user, room

    def _register(self, session: SessionId, command: Register) -> list[Delivery]:
        if session in self._sessions:
            raise AlreadyRegistered()
        if command.protocol != PROTOCOL_VERSION:
            raise UnsupportedProtocol(
                f"this server speaks protocol {PROTOCOL_VERSION}, not {command.protocol}"
            )
        expected = self._policy.password
        if expected is not None:
            given = command.password
            # surrogatepass: an in-process client's str may hold anything; compare, never crash.
            if given is None or not hmac.compare_digest(
                given.encode("utf-8", "surrogatepass"), expected.encode("utf-8", "surrogatepass")
            ):
                raise AuthFailed()
        name = UserName.parse(command.name)
        if len(self._sessions) >= self._policy.max_clients:
            raise ServerFull()
        if name.key in self._users:
            raise NameTaken(f"the name {name.display!r} is taken; choose another")
        user = User(name=name, session=session)
        self._users[name.key] = user
        self._sessions[session] = user
        self._memberships[session] = {}
        at = self._clock.now()
        others = self._lobby.recipients()
        self._enter(user, self._lobby)
        deliveries = [
            Delivery(
                Welcomed(
                    name=name.display,
                    room=LOBBY,
                    users=self._lobby.member_names(),
                    max_text_chars=self._policy.max_text_chars,
                ),
                (session,),
            )
        ]
        if others:
            deliveries.append(Delivery(UserJoined(room=LOBBY, name=name.display, at=at), others))
        deliveries.append(self._recent(self._lobby, session))
        return deliveries

    def _post(self, session: SessionId, command: PostMessage) -> list[Delivery]:
        user, room = self._in_room(session, command.room)  # then the text (protocol.md §8)
        text = check_text(command.text, self._policy.max_text_chars)
        message = room.post(user, text, self._clock.now())
        self._store.append(message)
        return [Delivery(MessagePosted(message=message), room.recipients())]

    def _list_users(self, session: SessionId, command: ListUsers) -> list[Delivery]:
        self._member(session)
        room = self._rooms.get(command.room.canonical)
        if room is None:
            raise NoSuchRoom(f"there is no room {command.room}")
        return [Delivery(UsersListed(room=room.name, users=room.member_names()), (session,))]

    def _join(self, session: SessionId, command: JoinRoom) -> list[Delivery]:
        user = self._member(session)
        # Not ``get(...) or _open_room(...)``: an empty Room is falsy (it has a length), and
        # the kept, empty #lobby must not be replaced by a second #lobby.
        room = self._rooms.get(command.room.canonical)
        if room is None:
            room = self._open_room(command.room)
        self._enter(user, room)
        joined = UserJoined(room=room.name, name=user.name.display, at=self._clock.now())
        return [
            Delivery(joined, room.recipients()),
            Delivery(UsersListed(room=room.name, users=room.member_names()), (session,)),
            self._recent(room, session),
        ]

    def _leave(self, session: SessionId, command: LeaveRoom) -> list[Delivery]:
        user, room = self._in_room(session, command.room)
        recipients = room.recipients()
        self._exit(user, room)
        left = UserLeft(
            room=room.name, name=user.name.display, at=self._clock.now(), reason=LeaveReason.LEAVE
        )
        return [Delivery(left, recipients)]

    def _list_rooms(self, session: SessionId, command: ListRooms) -> list[Delivery]:
        self._member(session)
        rooms = tuple(
            RoomSummary(room=self._rooms[key].name, members=len(self._rooms[key]))
            for key in sorted(self._rooms)
        )
        return [Delivery(RoomsListed(rooms=rooms), (session,))]

    def _direct(self, session: SessionId, command: SendDirect) -> list[Delivery]:
        user = self._member(session)
        try:
            to_key = UserName.parse(command.to).key
        except InvalidName:
            # A string that cannot be a name cannot name anyone: no_such_user, not the fatal
            # invalid_name that belongs to hello.
            raise NoSuchUser(f"nobody is called {command.to!r}") from None
        recipient = self._users.get(to_key)
        if recipient is None:
            raise NoSuchUser(f"nobody is called {command.to!r}")
        text = check_text(command.text, self._policy.max_text_chars)
        pair = (min(user.name.key, to_key), max(user.name.key, to_key))
        seq = self._direct_seq.get(pair, 0) + 1
        self._direct_seq[pair] = seq
        event = DirectSent(
            seq=seq,
            sender=user.name.display,
            to=recipient.name.display,
            text=text,
            sent_at=self._clock.now(),
        )
        recipients = (session,) if recipient.session == session else (recipient.session, session)
        return [Delivery(event, recipients)]

    def _history(self, session: SessionId, command: FetchHistory) -> list[Delivery]:
        _, room = self._in_room(session, command.room)
        limit = max(1, min(command.limit, MAX_HISTORY_LIMIT))
        try:
            messages = self._store.page(room.name, before=command.before, limit=limit)
        except StoreError as error:
            raise _unreadable(error) from None
        return [Delivery(HistoryFetched(room=room.name, messages=messages), (session,))]

    def _quit(self, session: SessionId, command: Quit) -> list[Delivery]:
        if session not in self._sessions:
            return [Delivery(SessionClosed(reason=LeaveReason.QUIT), (session,))]
        deliveries = self._depart(session, LeaveReason.QUIT)
        deliveries.append(Delivery(SessionClosed(reason=LeaveReason.QUIT), (session,)))
        return deliveries

    def _disconnect(self, session: SessionId, command: Disconnect) -> list[Delivery]:
        if session not in self._sessions:
            return []
        return self._depart(session, command.reason)

    # -- helpers --------------------------------------------------------------------------------

    def _open_room(self, name: RoomName) -> Room:
        try:
            last_seq = self._store.last_seq(name)
        except StoreError as error:
            raise _unreadable(error) from None
        room = Room(name, last_seq=last_seq)
        self._rooms[name.canonical] = room
        return room

    def _enter(self, user: User, room: Room) -> None:
        room.add(user)
        self._memberships[user.session][room.name.canonical] = room

    def _exit(self, user: User, room: Room) -> None:
        room.remove(user)
        del self._memberships[user.session][room.name.canonical]
        if not len(room) and room is not self._lobby:
            del self._rooms[room.name.canonical]

    def _recent(self, room: Room, session: SessionId) -> Delivery:
        """The backlog after ``welcome`` or ``join``; if the store cannot be read, a
        non-fatal ``store_unavailable`` in its place (the join itself stands)."""
        limit = self._policy.history_on_join
        try:
            messages = self._store.page(room.name, before=None, limit=limit) if limit else ()
        except StoreError as error:
            return Delivery(CommandRejected.from_error(_unreadable(error)), (session,))
        return Delivery(HistoryFetched(room=room.name, messages=messages), (session,))

    def _depart(self, session: SessionId, reason: LeaveReason) -> list[Delivery]:
        """Remove a user from every room; each remaining member hears ``left`` once per room."""
        user = self._sessions.pop(session)
        del self._users[user.name.key]
        at = self._clock.now()
        deliveries: list[Delivery] = []
        for room in list(self._memberships[session].values()):
            self._exit(user, room)
            if len(room):
                left = UserLeft(room=room.name, name=user.name.display, at=at, reason=reason)
                deliveries.append(Delivery(left, room.recipients()))
        del self._memberships[session]
        return deliveries
