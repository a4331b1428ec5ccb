"""ChatService, the pure chat core, driven with commands and a FixedClock."""

from __future__ import annotations

from datetime import timedelta

import pytest

from localchat.app.services import ServerPolicy
from localchat.domain.commands import (
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
from localchat.domain.events import (
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
from localchat.domain.model import LeaveReason, SessionId
from localchat.domain.names import LOBBY, RoomName
from tests.unit.chat_support import Chat, events_to, only, rejected, sessions

DEV = RoomName.parse("#dev")


def room(name: str) -> RoomName:
    return RoomName.parse(name)


def say(chat: Chat, session: int, text: str, where: RoomName = LOBBY) -> MessagePosted:
    deliveries = chat.send(session, PostMessage(text=text, room=where))
    assert len(deliveries) == 1, deliveries
    event = deliveries[0].event
    assert isinstance(event, MessagePosted), event
    return event


# -- hello --------------------------------------------------------------------------------------


def test_welcome_names_the_user_as_registered_and_lists_the_lobby_sorted() -> None:
    chat = Chat(policy=ServerPolicy(max_text_chars=123))
    chat.register(1, "zed")
    chat.register(2, "Bob")
    deliveries = chat.register(3, "Jose\u0301")
    mine = events_to(deliveries, 3)
    welcome = mine[0]
    assert welcome == Welcomed(
        name="Jos\u00e9",
        room=LOBBY,
        users=("Bob", "Jos\u00e9", "zed"),
        max_text_chars=123,
    )
    assert mine[1:] == [HistoryFetched(room=LOBBY, messages=())]
    assert chat.service.user(SessionId(3)) is not None
    assert chat.service.user_count == 3


def test_joined_goes_to_the_others_only_on_register() -> None:
    chat = Chat()
    first = chat.register(1, "ada")
    assert only(first, UserJoined) == []
    second = chat.register(2, "bob")
    assert only(second, UserJoined) == [
        (UserJoined(room=LOBBY, name="bob", at=chat.clock.now()), (SessionId(1),))
    ]
    third = chat.register(3, "cy")
    [(joined, recipients)] = only(third, UserJoined)
    assert joined.name == "cy"
    assert set(recipients) == sessions(1, 2)


def test_welcome_is_followed_by_the_lobby_history() -> None:
    chat = Chat(policy=ServerPolicy(history_on_join=2))
    chat.register(1, "ada")
    posted = [say(chat, 1, f"m{i}").message for i in range(3)]
    mine = events_to(chat.register(2, "bob"), 2)
    assert isinstance(mine[0], Welcomed)
    assert mine[1] == HistoryFetched(room=LOBBY, messages=tuple(posted[1:]))


@pytest.mark.parametrize("taken", ["ada", "ADA", "Ada"])
def test_name_taken_compares_casefold_keys(taken: str) -> None:
    chat = Chat()
    chat.register(1, "ada")
    error = rejected(chat.send(2, Register(name=taken, protocol=1)), 2)
    assert (error.code, error.fatal) == ("name_taken", True)
    assert chat.service.user(SessionId(2)) is None


@pytest.mark.parametrize(
    ("first", "second"),
    [("Straße", "STRASSE"), ("strasse", "Straße"), ("Jos\u00e9", "JOSE\u0301"), ("\u1e9e", "ss")],
)
def test_name_taken_for_casefold_and_nfc_collisions(first: str, second: str) -> None:
    chat = Chat()
    chat.register(1, first)
    assert rejected(chat.send(2, Register(name=second, protocol=1)), 2).code == "name_taken"


def test_a_name_is_free_again_once_its_user_left() -> None:
    chat = Chat()
    chat.register(1, "ada")
    chat.send(1, Quit())
    assert events_to(chat.register(2, "ADA"), 2)[0].name == "ADA"  # type: ignore[union-attr]


@pytest.mark.parametrize("name", ["", "two words", "x" * 33, "#ada", "\U0001f600"])
def test_invalid_name_is_fatal(name: str) -> None:
    chat = Chat()
    error = rejected(chat.send(1, Register(name=name, protocol=1)), 1)
    assert (error.code, error.fatal) == ("invalid_name", True)
    assert chat.service.user_count == 0


@pytest.mark.parametrize("given", [None, "", "wrong", "s3cret ", "S3CRET", "s3cret\ud800"])
def test_auth_failed_without_the_right_password(given: str | None) -> None:
    chat = Chat(policy=ServerPolicy(password="s3cret"))
    error = rejected(chat.send(1, Register(name="ada", protocol=1, password=given)), 1)
    assert (error.code, error.fatal) == ("auth_failed", True)
    assert chat.service.user_count == 0


def test_the_right_password_registers() -> None:
    chat = Chat(policy=ServerPolicy(password="s3cret"))
    assert isinstance(chat.register(1, "ada", password="s3cret")[0].event, Welcomed)


def test_a_password_is_ignored_when_the_server_has_none() -> None:
    chat = Chat()
    assert isinstance(chat.register(1, "ada", password="anything")[0].event, Welcomed)


def test_server_full_counts_registered_users() -> None:
    chat = Chat(policy=ServerPolicy(max_clients=2))
    chat.register(1, "ada")
    chat.register(2, "bob")
    error = rejected(chat.send(3, Register(name="cy", protocol=1)), 3)
    assert (error.code, error.fatal) == ("server_full", True)
    chat.send(1, Disconnect())
    assert isinstance(chat.register(3, "cy")[0].event, Welcomed)


@pytest.mark.parametrize("version", [0, 2, -1, 2**53 - 1])
def test_unsupported_protocol_is_fatal(version: int) -> None:
    chat = Chat()
    error = rejected(chat.send(1, Register(name="ada", protocol=version)), 1)
    assert (error.code, error.fatal) == ("unsupported_protocol", True)


def test_a_second_hello_is_already_registered_and_not_fatal() -> None:
    chat = Chat()
    chat.register(1, "ada")
    error = rejected(chat.send(1, Register(name="other", protocol=1)), 1)
    assert (error.code, error.fatal) == ("already_registered", False)
    assert chat.service.user(SessionId(1)).name.display == "ada"  # type: ignore[union-attr]
    say(chat, 1, "still here")


@pytest.mark.parametrize(
    "command",
    [
        PostMessage(text="hi"),
        ListUsers(),
        JoinRoom(room=DEV),
        LeaveRoom(room=LOBBY),
        ListRooms(),
        SendDirect(to="ada", text="hi"),
        FetchHistory(room=LOBBY),
    ],
    ids=lambda command: type(command).__name__,
)
def test_every_command_before_hello_is_fatal_not_registered(command: Command) -> None:
    chat = Chat()
    chat.register(1, "ada")
    error = rejected(chat.send(2, command), 2)
    assert (error.code, error.fatal) == ("not_registered", True)


def test_quit_and_disconnect_before_hello_announce_nothing() -> None:
    chat = Chat()
    chat.register(1, "ada")
    quit_deliveries = chat.send(2, Quit())
    assert [(d.event, d.recipients) for d in quit_deliveries] == [
        (SessionClosed(reason=LeaveReason.QUIT), (SessionId(2),))
    ]
    assert chat.send(3, Disconnect()) == []


# -- rooms --------------------------------------------------------------------------------------


def test_say_reaches_every_member_of_the_room_the_sender_included() -> None:
    chat = Chat()
    for session, name in enumerate(["ada", "bob", "cy"], start=1):
        chat.register(session, name)
    chat.send(1, JoinRoom(room=DEV))
    chat.send(2, JoinRoom(room=DEV))
    deliveries = chat.send(1, PostMessage(text="  exact\ttext ", room=DEV))
    [(event, recipients)] = only(deliveries, MessagePosted)
    assert set(recipients) == sessions(1, 2)
    message = event.message
    assert (message.room, message.seq, message.sender) == (DEV, 1, "ada")
    assert message.text == "  exact\ttext "
    assert message.sent_at == chat.clock.now()
    lobby = chat.send(3, PostMessage(text="hi"))
    assert set(lobby[0].recipients) == sessions(1, 2, 3)


def test_seq_is_per_room_and_grows_by_one() -> None:
    chat = Chat()
    chat.register(1, "ada")
    chat.send(1, JoinRoom(room=DEV))
    seqs = [say(chat, 1, "x", where).message.seq for where in (LOBBY, DEV, DEV, LOBBY, DEV)]
    assert seqs == [1, 1, 2, 2, 3]


def test_not_in_room_for_say_to_a_room_one_is_not_in_or_that_does_not_exist() -> None:
    chat = Chat()
    chat.register(1, "ada")
    chat.register(2, "bob")
    chat.send(1, JoinRoom(room=DEV))
    for target in (DEV, room("#nowhere")):
        error = rejected(chat.send(2, PostMessage(text="hi", room=target)), 2)
        assert (error.code, error.fatal) == ("not_in_room", False)
    assert chat.store.last_seq(DEV) == 0
    assert "#nowhere" not in chat.service.room_names()


@pytest.mark.parametrize("text", ["", " ", "\n\t", "bell\x07", "x" * 11])
def test_invalid_text_in_say_and_direct(text: str) -> None:
    chat = Chat(policy=ServerPolicy(max_text_chars=10))
    chat.register(1, "ada")
    chat.register(2, "bob")
    for command in (PostMessage(text=text), SendDirect(to="bob", text=text)):
        error = rejected(chat.send(1, command), 1)
        assert (error.code, error.fatal) == ("invalid_text", False)
    assert chat.store.last_seq(LOBBY) == 0
    assert say(chat, 1, "x" * 10).message.seq == 1
    [(direct, _)] = only(chat.send(1, SendDirect(to="bob", text="y")), DirectSent)
    assert direct.seq == 1  # the refused direct used no seq


def test_join_announces_to_all_then_lists_users_and_history_to_the_joiner() -> None:
    chat = Chat()
    chat.register(1, "ada")
    chat.register(2, "Bob")
    chat.register(3, "cy")
    chat.send(1, JoinRoom(room=room("#Dev")))
    old = say(chat, 1, "before bob", DEV).message
    chat.clock.advance(timedelta(seconds=1))
    deliveries = chat.send(2, JoinRoom(room=room("#DEV")))
    joined = UserJoined(room=DEV, name="Bob", at=chat.clock.now())
    assert [(d.event, set(d.recipients)) for d in deliveries] == [
        (joined, sessions(1, 2)),
        (UsersListed(room=DEV, users=("ada", "Bob")), sessions(2)),
        (HistoryFetched(room=DEV, messages=(old,)), sessions(2)),
    ]


def test_join_creates_the_room_under_its_canonical_name() -> None:
    chat = Chat()
    chat.register(1, "ada")
    deliveries = chat.send(1, JoinRoom(room=room("#Straße")))
    assert deliveries[0].event == UserJoined(room=room("#strasse"), name="ada", at=chat.clock.now())
    assert deliveries[0].recipients == (SessionId(1),)
    assert chat.service.room_names() == ("#lobby", "#strasse")


def test_already_in_room() -> None:
    chat = Chat()
    chat.register(1, "ada")
    for target in (LOBBY, room("#LOBBY")):
        error = rejected(chat.send(1, JoinRoom(room=target)), 1)
        assert (error.code, error.fatal) == ("already_in_room", False)


def test_leave_announces_to_every_member_the_leaver_included() -> None:
    chat = Chat()
    chat.register(1, "ada")
    chat.register(2, "bob")
    chat.send(1, JoinRoom(room=DEV))
    chat.send(2, JoinRoom(room=DEV))
    deliveries = chat.send(2, LeaveRoom(room=room("#Dev")))
    [(left, recipients)] = only(deliveries, UserLeft)
    assert len(deliveries) == 1
    assert left == UserLeft(room=DEV, name="bob", at=chat.clock.now(), reason=LeaveReason.LEAVE)
    assert sorted(recipients) == [1, 2]
    assert set(chat.send(1, PostMessage(text="x", room=DEV))[0].recipients) == sessions(1)


def test_not_in_room_for_leave_and_history() -> None:
    chat = Chat()
    chat.register(1, "ada")
    chat.register(2, "bob")
    chat.send(1, JoinRoom(room=DEV))
    for command in (LeaveRoom(room=DEV), FetchHistory(room=DEV), LeaveRoom(room=room("#none"))):
        error = rejected(chat.send(2, command), 2)
        assert (error.code, error.fatal) == ("not_in_room", False)


def test_an_empty_room_is_deleted_but_the_lobby_stays() -> None:
    chat = Chat()
    chat.register(1, "ada")
    chat.send(1, JoinRoom(room=DEV))
    assert chat.service.room_names() == ("#dev", "#lobby")
    chat.send(1, LeaveRoom(room=DEV))
    assert chat.service.room_names() == ("#lobby",)
    chat.send(1, LeaveRoom(room=LOBBY))
    assert chat.service.room_names() == ("#lobby",)
    rooms = chat.send(1, ListRooms())[0].event
    assert rooms == RoomsListed(rooms=(RoomSummary(room=LOBBY, members=0),))


def test_the_lobby_can_be_left_and_joined_again_and_stays_one_room() -> None:
    chat = Chat()
    chat.register(1, "ada")
    say(chat, 1, "first")
    chat.send(1, LeaveRoom(room=LOBBY))
    rejoin = chat.send(1, JoinRoom(room=LOBBY))
    assert [type(d.event) for d in rejoin] == [UserJoined, UsersListed, HistoryFetched]
    # A newcomer enters the same #lobby the returning member is in.
    welcome = events_to(chat.register(2, "bob"), 2)[0]
    assert isinstance(welcome, Welcomed)
    assert welcome.users == ("ada", "bob")
    message = say(chat, 2, "second")
    assert message.message.seq == 2
    assert set(chat.send(2, PostMessage(text="third"))[0].recipients) == sessions(1, 2)
    users = chat.send(1, ListUsers())[0].event
    assert users == UsersListed(room=LOBBY, users=("ada", "bob"))


def test_seq_continues_when_a_deleted_room_is_created_again() -> None:
    chat = Chat()
    chat.register(1, "ada")
    chat.send(1, JoinRoom(room=DEV))
    old = tuple(say(chat, 1, f"m{i}", DEV).message for i in range(3))
    chat.send(1, LeaveRoom(room=DEV))
    assert "#dev" not in chat.service.room_names()
    rejoin = chat.send(1, JoinRoom(room=DEV))
    assert rejoin[-1].event == HistoryFetched(room=DEV, messages=old)
    assert say(chat, 1, "again", DEV).message.seq == 4


def test_list_users_defaults_to_the_lobby_and_no_such_room() -> None:
    chat = Chat()
    chat.register(1, "bob")
    chat.register(2, "Ada")
    assert chat.send(1, ListUsers())[0].event == UsersListed(room=LOBBY, users=("Ada", "bob"))
    error = rejected(chat.send(1, ListUsers(room=DEV)), 1)
    assert (error.code, error.fatal) == ("no_such_room", False)
    chat.send(2, JoinRoom(room=DEV))
    # Members of a room are listed to anyone who asks, member or not.
    assert chat.send(1, ListUsers(room=DEV))[0].event == UsersListed(room=DEV, users=("Ada",))


def test_list_rooms_sorted_with_member_counts() -> None:
    chat = Chat()
    chat.register(1, "ada")
    chat.register(2, "bob")
    chat.send(1, JoinRoom(room=room("#zoo")))
    chat.send(2, JoinRoom(room=room("#zoo")))
    chat.send(2, JoinRoom(room=room("#Art")))
    deliveries = chat.send(1, ListRooms())
    assert deliveries[0].recipients == (SessionId(1),)
    assert deliveries[0].event == RoomsListed(
        rooms=(
            RoomSummary(room=room("#art"), members=1),
            RoomSummary(room=LOBBY, members=2),
            RoomSummary(room=room("#zoo"), members=2),
        )
    )


# -- directs ------------------------------------------------------------------------------------


def direct(chat: Chat, session: int, to: str, text: str = "psst") -> tuple[DirectSent, set[int]]:
    [(event, recipients)] = only(chat.send(session, SendDirect(to=to, text=text)), DirectSent)
    return event, set(recipients)


def test_direct_goes_to_the_recipient_and_echoes_to_the_sender() -> None:
    chat = Chat()
    chat.register(1, "Ada")
    chat.register(2, "Bob")
    chat.register(3, "cy")
    event, recipients = direct(chat, 1, "BOB", " exact\ttext")
    assert recipients == {2, 1}
    assert event == DirectSent(
        seq=1, sender="Ada", to="Bob", text=" exact\ttext", sent_at=chat.clock.now()
    )


def test_direct_seq_counts_per_unordered_pair_of_keys() -> None:
    chat = Chat()
    chat.register(1, "ada")
    chat.register(2, "bob")
    chat.register(3, "cy")
    assert direct(chat, 1, "bob")[0].seq == 1
    assert direct(chat, 2, "ada")[0].seq == 2
    assert direct(chat, 1, "cy")[0].seq == 1
    assert direct(chat, 2, "ADA")[0].seq == 3
    assert direct(chat, 3, "bob")[0].seq == 1
    # The counter belongs to the pair of keys since the server started, not to the sessions.
    chat.send(1, Quit())
    chat.register(4, "ADA")
    event, recipients = direct(chat, 4, "bob")
    assert (event.seq, event.sender, recipients) == (4, "ADA", {4, 2})


def test_a_direct_to_oneself_is_delivered_once() -> None:
    chat = Chat()
    chat.register(1, "ada")
    event, recipients = direct(chat, 1, "Ada")
    assert recipients == {1}
    assert (event.seq, event.sender, event.to) == (1, "ada", "ada")
    assert len(chat.send(1, SendDirect(to="ada", text="again"))[0].recipients) == 1
    assert direct(chat, 1, "ada")[0].seq == 3


@pytest.mark.parametrize("to", ["nobody", "not a name!", "", "#lobby"])
def test_no_such_user(to: str) -> None:
    chat = Chat()
    chat.register(1, "ada")
    error = rejected(chat.send(1, SendDirect(to=to, text="hi")), 1)
    assert (error.code, error.fatal) == ("no_such_user", False)
    assert chat.service.user(SessionId(1)) is not None


def test_directs_are_not_stored() -> None:
    chat = Chat()
    chat.register(1, "ada")
    chat.register(2, "bob")
    direct(chat, 1, "bob")
    assert chat.store.last_seq(LOBBY) == 0
    assert chat.store.page(LOBBY, before=None, limit=200) == ()


# -- history ------------------------------------------------------------------------------------


def history(chat: Chat, session: int, **kwargs: object) -> list[int]:
    deliveries = chat.send(session, FetchHistory(room=LOBBY, **kwargs))  # type: ignore[arg-type]
    [(page, recipients)] = only(deliveries, HistoryFetched)
    assert recipients == (SessionId(session),)
    return [m.seq for m in page.messages]


def test_history_pages_backwards_with_before_and_limit() -> None:
    chat = Chat()
    chat.register(1, "ada")
    for i in range(10):
        say(chat, 1, f"m{i}")
    assert history(chat, 1) == list(range(1, 11))
    assert history(chat, 1, limit=3) == [8, 9, 10]
    assert history(chat, 1, before=8, limit=3) == [5, 6, 7]
    assert history(chat, 1, before=3, limit=3) == [1, 2]
    assert history(chat, 1, before=1) == []
    assert history(chat, 1, before=100, limit=2) == [9, 10]


def test_history_limit_defaults_to_50_and_is_at_most_200() -> None:
    chat = Chat()
    chat.register(1, "ada")
    for i in range(250):
        say(chat, 1, f"m{i}")
    assert history(chat, 1) == list(range(201, 251))
    assert history(chat, 1, limit=500) == list(range(51, 251))
    assert history(chat, 1, limit=0) == [250]


# -- quit and disconnect ------------------------------------------------------------------------


def test_quit_announces_left_once_per_room_to_the_remaining_members() -> None:
    chat = Chat()
    chat.register(1, "ada")
    chat.register(2, "bob")
    chat.register(3, "cy")
    chat.send(1, JoinRoom(room=DEV))
    chat.send(2, JoinRoom(room=DEV))
    chat.send(1, JoinRoom(room=room("#solo")))
    deliveries = chat.send(1, Quit())
    at = chat.clock.now()
    lefts = [(event, set(recipients)) for event, recipients in only(deliveries, UserLeft)]
    assert sorted(lefts, key=lambda item: item[0].room.canonical) == [
        (UserLeft(room=DEV, name="ada", at=at, reason=LeaveReason.QUIT), sessions(2)),
        (UserLeft(room=LOBBY, name="ada", at=at, reason=LeaveReason.QUIT), sessions(2, 3)),
    ]
    assert deliveries[-1].event == SessionClosed(reason=LeaveReason.QUIT)
    assert deliveries[-1].recipients == (SessionId(1),)
    assert len(deliveries) == 3
    assert chat.service.room_names() == ("#dev", "#lobby")
    assert chat.service.user(SessionId(1)) is None


@pytest.mark.parametrize(
    "reason", [LeaveReason.DISCONNECTED, LeaveReason.TIMEOUT, LeaveReason.KICKED]
)
def test_disconnect_announces_its_reason(reason: LeaveReason) -> None:
    chat = Chat()
    chat.register(1, "ada")
    chat.register(2, "bob")
    deliveries = chat.send(1, Disconnect(reason=reason))
    assert [(d.event, d.recipients) for d in deliveries] == [
        (UserLeft(room=LOBBY, name="ada", at=chat.clock.now(), reason=reason), (SessionId(2),))
    ]


def test_disconnect_defaults_to_disconnected() -> None:
    assert Disconnect().reason is LeaveReason.DISCONNECTED


def test_a_session_ends_only_once() -> None:
    chat = Chat()
    chat.register(1, "ada")
    chat.register(2, "bob")
    assert len(only(chat.send(1, Quit()), UserLeft)) == 1
    assert chat.send(1, Disconnect()) == []
    assert [d.event for d in chat.send(1, Quit())] == [SessionClosed(reason=LeaveReason.QUIT)]
    assert only(chat.send(2, Disconnect()), UserLeft) == []  # nobody remains to be told


def test_nothing_reaches_a_user_after_it_left() -> None:
    chat = Chat()
    chat.register(1, "ada")
    chat.register(2, "bob")
    chat.send(2, JoinRoom(room=DEV))
    chat.send(2, LeaveRoom(room=LOBBY))
    chat.send(1, Quit())
    later = [
        *chat.send(2, PostMessage(text="x", room=DEV)),
        *chat.register(3, "cy"),
        *chat.send(3, JoinRoom(room=DEV)),
        *chat.send(3, PostMessage(text="y")),
    ]
    assert events_to(later, 1) == []
    assert [type(event) for event in events_to(later, 2)] == [MessagePosted, UserJoined]
