"""The chat core against a plain model: a Hypothesis rule-based state machine.

The model knows only sessions, names, rooms, memberships and counters. After every step the
machine checks what ChatService delivered against it: names unique by casefold key, the same
membership, seq +1 per room message, every remaining member told of each departure exactly
once, nothing delivered to anyone who left (a room or the server), and one order per room.
"""

from __future__ import annotations

from collections import Counter, defaultdict

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from localchat.app.services import ServerPolicy
from localchat.domain.commands import (
    Disconnect,
    JoinRoom,
    LeaveRoom,
    ListUsers,
    PostMessage,
    Quit,
    Register,
    SendDirect,
)
from localchat.domain.events import (
    CommandRejected,
    Delivery,
    DirectSent,
    HistoryFetched,
    MessagePosted,
    SessionClosed,
    UserJoined,
    UserLeft,
    UsersListed,
    Welcomed,
)
from localchat.domain.model import LeaveReason, SessionId
from localchat.domain.names import LOBBY, RoomName, name_key, sort_key
from tests.strategies import message_texts
from tests.unit.chat_support import Chat

NAMES = [
    "ada",
    "ADA",
    "Ada",
    "bob",
    "Straße",
    "STRASSE",
    "strasse",
    "Jos\u00e9",
    "JOSE\u0301",
    "cy",
]
ROOMS = ["#lobby", "#LOBBY", "#dev", "#Dev", "#Straße", "#strasse"]
MAX_CLIENTS = 3  # few users, so rooms (the lobby too) empty often
TEXTS = st.one_of(st.sampled_from(["hi", " spaced ", "", "   ", "a\nb", "bell\x07"]), message_texts)
ROOM_EVENTS = (MessagePosted, UserJoined, UserLeft, UsersListed, HistoryFetched)


def room_of(event: object) -> str:
    if isinstance(event, MessagePosted):
        return event.message.room.canonical
    return event.room.canonical  # type: ignore[attr-defined, no-any-return]


def valid_text(text: str) -> bool:
    return bool(text.strip()) and "\x07" not in text


class ChatMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.chat = Chat(policy=ServerPolicy(history_on_join=3, max_clients=MAX_CLIENTS))
        self.next_session = 1
        # The model.
        self.names: dict[int, str] = {}  # registered session -> name as registered
        self.members: dict[str, set[int]] = {"#lobby": set()}  # canonical room -> sessions
        self.last_seq: Counter[str] = Counter()  # per room, across deletions
        self.direct_seq: Counter[tuple[str, str]] = Counter()
        self.gone: set[int] = set()  # sessions that ended: nothing may reach them
        # What each session received of each room's messages, in order.
        self.seen: defaultdict[tuple[int, str], list[int]] = defaultdict(list)
        self.room_log: defaultdict[str, list[int]] = defaultdict(list)

    # -- helpers --------------------------------------------------------------------------------

    def new_session(self) -> int:
        session = self.next_session
        self.next_session += 1
        return session

    def rooms_of(self, session: int) -> list[str]:
        return [room for room, members in self.members.items() if session in members]

    def deliver(self, deliveries: list[Delivery]) -> list[Delivery]:
        """Checks that hold for every delivery; records what each session saw."""
        for delivery in deliveries:
            recipients = [int(s) for s in delivery.recipients]
            assert len(recipients) == len(set(recipients)), f"duplicate recipient: {delivery}"
            assert not set(recipients) & self.gone, f"delivered to a session that left: {delivery}"
            event = delivery.event
            if isinstance(event, MessagePosted):
                room = room_of(event)
                for session in recipients:
                    self.seen[session, room].append(event.message.seq)
        return deliveries

    def rejected(self, deliveries: list[Delivery], session: int, *codes: str) -> None:
        """Refused, to the sender alone; where several rules are broken, any of their codes."""
        assert [(d.event, d.recipients) for d in deliveries] == [
            (deliveries[0].event, (SessionId(session),))
        ]
        event = deliveries[0].event
        assert isinstance(event, CommandRejected)
        assert event.code in codes, event

    def send(self, session: int, command: object) -> list[Delivery]:
        return self.deliver(self.chat.send(session, command))  # type: ignore[arg-type]

    # -- rules ----------------------------------------------------------------------------------

    @rule(name=st.sampled_from(NAMES))
    def register(self, name: str) -> None:
        session = self.new_session()
        lobby_before = set(self.members["#lobby"])
        deliveries = self.send(session, Register(name=name, protocol=1))
        refusals = []
        if name_key(name) in {name_key(n) for n in self.names.values()}:
            refusals.append("name_taken")
        if len(self.names) >= MAX_CLIENTS:
            refusals.append("server_full")
        if refusals:
            self.rejected(deliveries, session, *refusals)
            self.gone.add(session)  # a fatal error: the transport closes the connection
            return
        welcome = deliveries[0]
        assert isinstance(welcome.event, Welcomed)
        assert welcome.recipients == (SessionId(session),)
        self.names[session] = welcome.event.name
        self.members["#lobby"].add(session)
        assert set(welcome.event.users) == {self.names[s] for s in self.members["#lobby"]}
        joined = [set(d.recipients) for d in deliveries if isinstance(d.event, UserJoined)]
        assert joined == ([lobby_before] if lobby_before else [])
        [history] = [d.event for d in deliveries if isinstance(d.event, HistoryFetched)]
        assert [m.seq for m in history.messages] == self.room_log["#lobby"][-3:]

    @rule(data=st.data(), raw=st.sampled_from(ROOMS))
    @precondition(lambda self: self.names)
    def join(self, data: st.DataObject, raw: str) -> None:
        session = data.draw(st.sampled_from(sorted(self.names)))
        room = RoomName.parse(raw).canonical
        deliveries = self.send(session, JoinRoom(room=RoomName.parse(raw)))
        if session in self.members.get(room, set()):
            self.rejected(deliveries, session, "already_in_room")
            return
        self.members.setdefault(room, set()).add(session)
        joined, users, history = deliveries
        assert isinstance(joined.event, UserJoined)
        assert set(joined.recipients) == self.members[room]
        assert isinstance(users.event, UsersListed)
        assert users.recipients == (SessionId(session),)
        assert users.event.users == tuple(sorted(users.event.users, key=sort_key))
        assert set(users.event.users) == {self.names[s] for s in self.members[room]}
        assert isinstance(history.event, HistoryFetched)
        assert [m.seq for m in history.event.messages] == self.room_log[room][-3:]

    @rule(data=st.data(), raw=st.sampled_from(ROOMS))
    @precondition(lambda self: self.names)
    def leave(self, data: st.DataObject, raw: str) -> None:
        session = data.draw(st.sampled_from(sorted(self.names)))
        room = RoomName.parse(raw).canonical
        deliveries = self.send(session, LeaveRoom(room=RoomName.parse(raw)))
        if session not in self.members.get(room, set()):
            self.rejected(deliveries, session, "not_in_room")
            return
        [left] = deliveries
        assert isinstance(left.event, UserLeft)
        assert left.event.reason is LeaveReason.LEAVE
        assert set(left.recipients) == self.members[room]  # the leaver included
        self.members[room].discard(session)
        if not self.members[room] and room != "#lobby":
            del self.members[room]

    @rule(data=st.data(), raw=st.sampled_from(ROOMS), text=TEXTS)
    @precondition(lambda self: self.names)
    def post(self, data: st.DataObject, raw: str, text: str) -> None:
        session = data.draw(st.sampled_from(sorted(self.names)))
        room = RoomName.parse(raw).canonical
        deliveries = self.send(session, PostMessage(text=text, room=RoomName.parse(raw)))
        refusals = []
        if session not in self.members.get(room, set()):
            refusals.append("not_in_room")
        if not valid_text(text):
            refusals.append("invalid_text")
        if refusals:
            self.rejected(deliveries, session, *refusals)
            return
        [posted] = deliveries
        assert isinstance(posted.event, MessagePosted)
        self.last_seq[room] += 1
        assert posted.event.message.seq == self.last_seq[room]
        assert posted.event.message.text == text
        assert set(posted.recipients) == self.members[room]
        self.room_log[room].append(self.last_seq[room])

    @rule(data=st.data(), to=st.sampled_from(NAMES), text=TEXTS)
    @precondition(lambda self: self.names)
    def direct(self, data: st.DataObject, to: str, text: str) -> None:
        session = data.draw(st.sampled_from(sorted(self.names)))
        deliveries = self.send(session, SendDirect(to=to, text=text))
        by_key = {name_key(name): s for s, name in self.names.items()}
        target = by_key.get(name_key(to))
        refusals = []
        if target is None:
            refusals.append("no_such_user")
        if not valid_text(text):
            refusals.append("invalid_text")
        if refusals:
            self.rejected(deliveries, session, *refusals)
            return
        assert target is not None
        [sent] = deliveries
        assert isinstance(sent.event, DirectSent)
        assert set(sent.recipients) == {session, target}
        pair = tuple(sorted((name_key(self.names[session]), name_key(to))))
        self.direct_seq[pair] += 1  # type: ignore[index]
        assert sent.event.seq == self.direct_seq[pair]  # type: ignore[index]
        assert (sent.event.sender, sent.event.to) == (self.names[session], self.names[target])

    @rule(data=st.data())
    @precondition(lambda self: self.names)
    def quit(self, data: st.DataObject) -> None:
        session = data.draw(st.sampled_from(sorted(self.names)))
        deliveries = self.send(session, Quit())
        assert deliveries[-1].event == SessionClosed(reason=LeaveReason.QUIT)
        assert deliveries[-1].recipients == (SessionId(session),)
        self.depart(session, deliveries[:-1], LeaveReason.QUIT)

    @rule(data=st.data(), reason=st.sampled_from(list(LeaveReason)))
    @precondition(lambda self: self.names)
    def disconnect(self, data: st.DataObject, reason: LeaveReason) -> None:
        session = data.draw(st.sampled_from(sorted(self.names)))
        deliveries = self.send(session, Disconnect(reason=reason))
        self.depart(session, deliveries, reason)

    def depart(self, session: int, deliveries: list[Delivery], reason: LeaveReason) -> None:
        """Each room the user was in, and that is not left empty, hears ``left`` exactly once,
        from every remaining member."""
        expected = {}
        for room in self.rooms_of(session):
            self.members[room].discard(session)
            if self.members[room]:
                expected[room] = self.members[room]
            elif room != "#lobby":
                del self.members[room]
        lefts = [(room_of(d.event), set(d.recipients)) for d in deliveries]
        assert all(isinstance(d.event, UserLeft) for d in deliveries)
        assert all(d.event.reason is reason for d in deliveries)  # type: ignore[union-attr]
        assert sorted(lefts, key=lambda item: item[0]) == sorted(expected.items())
        del self.names[session]
        self.gone.add(session)

    @rule(command=st.sampled_from([PostMessage(text="hi"), JoinRoom(room=LOBBY), ListUsers()]))
    def stranger(self, command: object) -> None:
        """A session that never sent hello is refused, fatally, and alone."""
        session = self.new_session()
        self.rejected(self.send(session, command), session, "not_registered")
        self.gone.add(session)

    # -- invariants -----------------------------------------------------------------------------

    @invariant()
    def names_are_unique_by_key_and_match_the_model(self) -> None:
        keys = [name_key(name) for name in self.names.values()]
        assert len(keys) == len(set(keys))
        assert self.chat.service.user_count == len(self.names)
        for session, name in self.names.items():
            user = self.chat.service.user(SessionId(session))
            assert user is not None
            assert user.name.display == name
        for session in self.gone:
            assert self.chat.service.user(SessionId(session)) is None

    @invariant()
    def membership_matches_the_model(self) -> None:
        assert self.chat.service.room_names() == tuple(sorted(self.members))
        if not self.names:
            return
        asker = min(self.names)
        for room, members in self.members.items():
            [listed] = self.chat.send(asker, ListUsers(room=RoomName.parse(room)))
            assert isinstance(listed.event, UsersListed)
            assert listed.event.users == tuple(
                sorted((self.names[s] for s in members), key=sort_key)
            )

    @invariant()
    def every_member_sees_a_room_in_one_order(self) -> None:
        for (_, room), seqs in self.seen.items():
            assert seqs == sorted(seqs)
            assert len(seqs) == len(set(seqs))
            assert set(seqs) <= set(self.room_log[room])
        for log in self.room_log.values():
            assert log == list(range(1, len(log) + 1))


ChatMachine.TestCase.settings = settings(
    max_examples=100,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
test_chat_core_against_a_model = ChatMachine.TestCase
