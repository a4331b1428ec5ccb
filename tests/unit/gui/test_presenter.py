"""ChatPresenter with a FakeView and fake sessions: every intent, event and decision."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from localchat.adapters.gui.connect import ConnectForm
from localchat.adapters.gui.formatting import LineKind, name_colour
from localchat.adapters.gui.presenter import BANNER_RECONNECTING, EVENTS_PER_PUMP
from localchat.domain.commands import (
    FetchHistory,
    JoinRoom,
    LeaveRoom,
    ListRooms,
    ListUsers,
    PostMessage,
    SendDirect,
)
from localchat.domain.events import (
    CommandRejected,
    DirectSent,
    HistoryFetched,
    MessagePosted,
    RoomsListed,
    RoomSummary,
    UserJoined,
    UserLeft,
    UsersListed,
)
from localchat.domain.model import LeaveReason, Message
from localchat.domain.names import LOBBY, RoomName
from localchat.ports.session import ConnectionDropped, ConnectTarget
from tests.unit.gui.presenter_support import AT, TARGET, Client

DEV = RoomName.parse("#dev")


def message(text: str, sender: str = "bob", seq: int = 1, where: RoomName = LOBBY) -> MessagePosted:
    return MessagePosted(message=Message(room=where, seq=seq, sender=sender, text=text, sent_at=AT))


def stored(text: str, seq: int, sender: str = "bob", where: RoomName = LOBBY) -> Message:
    return Message(room=where, seq=seq, sender=sender, text=text, sent_at=AT)


@pytest.fixture
def client() -> Client:
    c = Client()
    c.connect()
    return c


# -- connecting ---------------------------------------------------------------------------------


def test_without_a_target_the_dialog_asks_and_checks_what_was_typed() -> None:
    c = Client()
    c.presenter.start(None, ConnectForm(host="10.0.0.5", port="5050", name="ada"))
    assert c.view.dialog is not None
    assert c.view.dialog_view is not None
    assert c.view.dialog_view.form.name == "ada"
    assert not c.view.chat_shown

    c.view.dialog.submit("10.0.0.5", "99999", "ada")
    assert (c.view.dialog_view.form.focus, c.sessions.opened) == ("port", [])
    assert "1 to 65535" in c.view.dialog_view.form.error
    c.view.dialog.submit("10.0.0.5", "5050", "ada lovelace")
    assert c.view.dialog_view.form.focus == "name"
    assert "cannot be used" in c.view.dialog_view.form.error
    c.view.dialog.submit(" ", "5050", "ada")
    assert c.view.dialog_view.form.focus == "host"

    c.view.dialog.submit("10.0.0.5", "5051", "ada")
    assert c.view.dialog_view.form.busy
    assert "Connecting to 10.0.0.5:5051 as ada" in c.view.dialog_view.form.status
    assert c.session.target == ConnectTarget(
        host="10.0.0.5", port=5051, name="ada", password="from-env"
    )
    c.welcome()
    assert c.view.dialog_view.closed
    assert c.view.chat_shown


def test_welcome_shows_the_lobby_its_members_and_remembers_the_server() -> None:
    c = Client()
    c.presenter.start(TARGET, ConnectForm())
    assert c.view.dialog is None
    c.welcome(users=("ada", "bob"))
    assert c.view.chat_shown
    assert c.view.selected == "#lobby"
    assert c.view.members == ["ada", "bob"]
    assert c.view.title == "LocalChat — ada on 10.0.0.5:5050"
    assert c.preferences.last is not None
    assert (c.preferences.last.host, c.preferences.last.name) == ("10.0.0.5", "ada")
    assert "Connected to 10.0.0.5:5050 as ada" in c.view.texts("#lobby")[0]
    assert c.session.sent == [ListRooms()]
    c.feed(
        RoomsListed(rooms=(RoomSummary(room=LOBBY, members=2), RoomSummary(room=DEV, members=4)))
    )
    assert [(r.room, r.label, r.joined) for r in c.view.rooms] == [
        ("#dev", "#dev (4)", False),
        ("#lobby", "#lobby (2)", True),
    ]
    assert c.view.texts("#lobby")[-1].startswith("Connected")  # the refresh printed nothing


def test_the_dialog_opens_at_the_field_the_form_asks_for() -> None:
    """``run-client --host H`` without ``--name``: the cursor waits in the name field."""
    c = Client()
    c.presenter.start(None, ConnectForm(host="10.0.0.5", port="5050", focus="name"))
    assert c.view.dialog_view is not None
    assert c.view.dialog_view.form.focus == "name"


def test_a_taken_name_reopens_the_dialog_at_the_name() -> None:
    c = Client()
    c.presenter.start(TARGET, ConnectForm())
    c.feed(ConnectionDropped(reason="the name 'ada' is taken", code="name_taken"))
    assert c.view.dialog_view is not None
    form = c.view.dialog_view.form
    assert (form.error, form.focus, form.name, form.host) == (
        "That name is taken — choose another",
        "name",
        "ada",
        "10.0.0.5",
    )
    assert c.view.dialog is not None
    c.view.dialog.submit(form.host, form.port, "ada2")
    assert c.session.target.name == "ada2"
    c.welcome(name="ada2")
    assert c.view.chat_shown
    assert c.view.dialog_view.closed


def test_connection_refused_is_shown_readably_in_the_dialog() -> None:
    c = Client()
    c.presenter.start(TARGET, ConnectForm())
    reason = "Cannot connect to 10.0.0.5:5050: nobody is listening there. Is the server running?"
    c.feed(ConnectionDropped(reason=reason))
    assert c.view.dialog_view is not None
    assert c.view.dialog_view.form.error == reason
    assert "Traceback" not in reason


def test_a_password_is_asked_for_when_the_server_needs_one() -> None:
    c = Client()
    c.presenter.start(ConnectTarget(host="h", name="ada"), ConnectForm())
    c.feed(ConnectionDropped(reason="wrong or missing password", code="auth_failed"))
    assert c.view.dialog_view is not None
    assert c.view.dialog is not None
    form = c.view.dialog_view.form
    assert (form.ask_password, form.focus, form.error) == (
        True,
        "password",
        "This server needs a password",
    )
    c.view.dialog.submit("h", "5050", "ada", "sesame")
    assert c.session.target.password == "sesame"
    c.feed(ConnectionDropped(reason="wrong or missing password", code="auth_failed"))
    assert c.view.dialog_view.form.error == "Wrong password — try again"
    assert c.view.dialogs_opened == 1


def test_cancelling_the_dialog_quits() -> None:
    c = Client()
    c.presenter.start(None, ConnectForm())
    assert c.view.dialog is not None
    c.view.dialog.cancel()
    assert c.view.closed
    assert c.presenter.closed


# -- talking ------------------------------------------------------------------------------------


def test_a_line_is_sent_to_the_current_room_and_shown_when_echoed(client: Client) -> None:
    client.type("hello, everyone")
    assert client.session.take() == [PostMessage(text="hello, everyone", room=LOBBY)]
    assert client.view.input == ""
    assert client.view.outbox == []
    client.feed(message("hello, everyone", sender="ada", seq=7))
    line = client.view.last("#lobby")
    assert (line.kind, line.sender, line.text, line.time) == (
        LineKind.OWN,
        "ada",
        "hello, everyone",
        "10:04",
    )


def test_messages_from_others_show_time_sender_colour_and_urls(client: Client) -> None:
    client.feed(message("see https://example.org/x, it is good", sender="bob"))
    line = client.view.last("#lobby")
    assert (line.kind, line.sender, line.colour) == (LineKind.MESSAGE, "bob", name_colour("bob"))
    assert [(s.text, s.url) for s in line.spans] == [
        ("see ", False),
        ("https://example.org/x", True),
        (", it is good", False),
    ]


def test_unread_counts_per_conversation_reset_when_selected(client: Client) -> None:
    client.join("#dev")
    assert client.view.selected == "#dev"
    client.feed(message("one"), message("two", seq=2), message("ada?", seq=3))
    assert client.view.labels["#lobby"] == "#lobby (3!)"
    assert client.view.labels["#dev"] == "#dev"
    client.presenter.conversation_selected("#lobby")
    assert client.view.labels["#lobby"] == "#lobby"
    assert client.view.members == ["ada", "bob"]


def test_unfocused_the_title_counts_and_the_bell_rings_for_mentions_and_directs(
    client: Client,
) -> None:
    client.presenter.focus_changed(False)
    client.feed(message("just chatting"))
    assert client.view.title.startswith("(1) LocalChat")
    assert client.view.bells == 0
    client.feed(message("hey @Ada, look", seq=2))
    assert client.view.last("#lobby").kind is LineKind.MENTION
    assert client.view.bells == 1
    client.feed(DirectSent(seq=1, sender="bob", to="ada", text="psst", sent_at=AT))
    assert client.view.bells == 2
    assert client.view.title.startswith("(3) LocalChat")
    client.presenter.focus_changed(True)
    assert client.view.title == "LocalChat — ada on 10.0.0.5:5050"
    client.feed(DirectSent(seq=2, sender="bob", to="ada", text="again", sent_at=AT))
    assert client.view.bells == 2  # focused: no bell


def test_mentions_need_the_whole_name(client: Client) -> None:
    client.feed(message("adam is here"), message("ada.", seq=2), message("ADA-", seq=3))
    kinds = [line.kind for line in client.view.logs["#lobby"][-3:]]
    assert kinds == [LineKind.MESSAGE, LineKind.MENTION, LineKind.MESSAGE]


def test_own_messages_never_count_as_unread(client: Client) -> None:
    client.presenter.focus_changed(False)
    client.feed(message("ada says ada", sender="ada"))
    assert client.view.title == "LocalChat — ada on 10.0.0.5:5050"
    assert client.view.bells == 0


# -- slash commands -----------------------------------------------------------------------------


def test_join_opens_selects_and_shows_the_backlog_without_unread(client: Client) -> None:
    client.type("/join dev")
    assert client.session.take() == [JoinRoom(room=DEV)]
    client.feed(
        UserJoined(room=DEV, name="ada", at=AT),
        UsersListed(room=DEV, users=("ada", "cy")),
        HistoryFetched(
            room=DEV, messages=(stored("old", 1, where=DEV), stored("new", 2, where=DEV))
        ),
    )
    assert client.view.selected == "#dev"
    assert client.view.texts("#dev") == ["You joined #dev", "old", "new"]
    assert client.view.members == ["ada", "cy"]
    assert client.view.labels["#dev"] == "#dev"
    assert client.session.take() == [ListRooms()]
    client.type("/join #DEV")
    assert client.session.take() == []
    assert client.view.input == ""


def test_leave_closes_the_room_and_selects_another(client: Client) -> None:
    client.join("#dev")
    client.type("/leave")
    assert client.session.take() == [LeaveRoom(room=DEV)]
    client.feed(UserLeft(room=DEV, name="ada", at=AT, reason=LeaveReason.LEAVE))
    assert "#dev" not in client.view.logs
    assert client.view.selected == "#lobby"


def test_leaving_the_last_room_keeps_its_log_open(client: Client) -> None:
    client.type("/leave #lobby")
    assert client.session.take() == [LeaveRoom(room=LOBBY)]
    client.feed(UserLeft(room=LOBBY, name="ada", at=AT, reason=LeaveReason.LEAVE))
    assert client.view.selected == "#lobby"
    assert "You left #lobby" in client.view.texts("#lobby")[-1]
    assert client.session.take() == [ListRooms()]
    client.type("anyone?")
    assert client.session.take() == []
    assert "/join #lobby" in client.view.texts("#lobby")[-1]
    assert client.view.input == "anyone?"


def test_msg_opens_a_direct_conversation_and_sends(client: Client) -> None:
    client.type("/msg bob hi there")
    assert client.session.take() == [SendDirect(to="bob", text="hi there")]
    assert client.view.selected == "@bob"
    assert client.view.labels["@bob"] == "@bob"
    client.feed(DirectSent(seq=1, sender="ada", to="bob", text="hi there", sent_at=AT))
    assert client.view.last("@bob").kind is LineKind.OWN
    client.type("and more")
    assert client.session.take() == [SendDirect(to="bob", text="and more")]
    client.type("/leave")
    assert "@bob" not in client.view.logs
    assert client.view.selected == "#lobby"


def test_a_direct_message_opens_its_own_pane_with_an_unread_count(client: Client) -> None:
    client.feed(DirectSent(seq=1, sender="Bob", to="ada", text="psst", sent_at=AT))
    assert client.view.labels["@bob"] == "@Bob (1!)"
    assert client.view.selected == "#lobby"
    assert client.view.texts("@bob") == ["psst"]
    assert client.view.last("@bob").kind is LineKind.DIRECT


def test_users_and_the_users_button_print_the_member_list(client: Client) -> None:
    client.type("/users")
    assert client.session.take() == [ListUsers(room=LOBBY)]
    client.feed(UsersListed(room=LOBBY, users=("ada", "bob", "cy")))
    assert client.view.texts("#lobby")[-1] == "In #lobby (3): ada, bob, cy"
    assert client.view.members == ["ada", "bob", "cy"]
    client.presenter.users_clicked()
    assert client.session.take() == [ListUsers(room=LOBBY)]
    client.feed(UsersListed(room=LOBBY, users=("ada",)))
    assert client.view.texts("#lobby")[-1] == "In #lobby (1): ada"


def test_rooms_prints_the_rooms(client: Client) -> None:
    client.type("/rooms")
    assert client.session.take() == [ListRooms()]
    client.feed(RoomsListed(rooms=(RoomSummary(room=LOBBY, members=2),)))
    assert client.view.texts("#lobby")[-1] == "Rooms: #lobby (2)"


def test_help_lists_every_command(client: Client) -> None:
    client.type("/help")
    text = "\n".join(client.view.texts("#lobby"))
    for command in ("/join", "/leave", "/msg", "/switch", "/users", "/rooms", "/help", "/quit"):
        assert command in text
    assert client.session.take() == []


def test_switch_shows_another_conversation(client: Client) -> None:
    client.join("#dev")
    client.type("/switch #lobby")
    assert client.view.selected == "#lobby"
    client.type("/switch #nowhere")
    assert client.view.last("#lobby").kind is LineKind.ERROR


def test_quit_says_bye_and_closes(client: Client) -> None:
    client.type("/quit")
    assert client.session.closed
    assert client.view.closed


def test_mistakes_are_explained_and_the_input_kept(client: Client) -> None:
    for line in ("/frobnicate", "/join", "/join #bad!", "/msg"):
        client.type(line)
        assert client.view.input == line
        assert client.view.last("#lobby").kind is LineKind.ERROR
    assert "/help" in client.view.texts("#lobby")[-4]
    assert client.session.take() == []


def test_double_slash_sends_a_slash(client: Client) -> None:
    client.type("//shrug")
    assert client.session.take() == [PostMessage(text="/shrug", room=LOBBY)]


def test_text_over_the_servers_limit_is_refused_locally(client: Client) -> None:
    client.type("x" * 101)
    assert client.session.take() == []
    assert client.view.input == "x" * 101
    assert "limit is 100" in client.view.texts("#lobby")[-1]


def test_up_and_down_recall_lines(client: Client) -> None:
    client.type("first")
    client.type("/users")
    client.presenter.recall(-1)
    assert client.view.input == "/users"
    client.presenter.recall(-1)
    client.presenter.recall(-1)
    assert client.view.input == "first"
    client.presenter.recall(+1)
    client.presenter.recall(+1)
    assert client.view.input == ""


# -- the side panels ----------------------------------------------------------------------------


def test_members_follow_joins_and_leaves_with_readable_reasons(client: Client) -> None:
    client.feed(UserJoined(room=LOBBY, name="cy", at=AT))
    assert client.view.members == ["ada", "bob", "cy"]
    reasons = {
        LeaveReason.LEAVE: "bob left #lobby",
        LeaveReason.QUIT: "bob quit",
        LeaveReason.DISCONNECTED: "bob lost the connection",
        LeaveReason.TIMEOUT: "bob timed out",
        LeaveReason.KICKED: "bob was removed from #lobby",
    }
    for reason, text in reasons.items():
        client.feed(UserLeft(room=LOBBY, name="bob", at=AT, reason=reason))
        assert client.view.texts("#lobby")[-1] == text
        assert client.view.last("#lobby").kind is LineKind.SYSTEM
        client.feed(UserJoined(room=LOBBY, name="bob", at=AT))
    assert client.view.texts("#lobby")[-1] == "bob joined #lobby"
    assert client.view.members == ["ada", "bob", "cy"]


def test_clicks_in_the_panels(client: Client) -> None:
    client.presenter.room_activated("#dev")
    assert client.session.take() == [JoinRoom(room=DEV)]
    client.presenter.member_activated("bob")
    assert client.view.selected == "@bob"
    client.presenter.member_activated("ada")
    assert "@ada" not in client.view.logs
    client.presenter.add_room_clicked()
    assert client.view.input == "/join #"


# -- errors -------------------------------------------------------------------------------------


def test_server_errors_are_shown_where_the_command_was_typed(client: Client) -> None:
    client.type("/msg nobody hello?")
    client.feed(
        CommandRejected(code="no_such_user", message="nobody is called 'nobody'", fatal=False)
    )
    assert (
        client.view.texts("@nobody")[-1]
        == "Not delivered: nobody called nobody is online. (“hello?”)"
    )
    assert client.view.last("@nobody").kind is LineKind.ERROR
    client.drop()
    assert client.view.outbox == []  # the refused line is not kept for a resend

    client.welcome()
    client.session.take()
    client.type("/join #dev")
    client.type("/join #dev2")
    client.feed(
        CommandRejected(code="already_in_room", message="you are already in #dev", fatal=False)
    )
    assert client.view.texts("@nobody")[-1] == "You are already in #dev"


# -- reconnecting and the outbox ----------------------------------------------------------------


def test_a_drop_shows_the_banner_and_lines_wait_in_the_outbox_until_the_reconnect(
    client: Client,
) -> None:
    client.type("sent but not echoed")
    assert client.session.take() == [PostMessage(text="sent but not echoed", room=LOBBY)]
    client.drop()
    assert client.view.banner is not None
    assert client.view.banner.startswith(BANNER_RECONNECTING)
    assert "The server is shutting down or restarting" in client.view.banner
    assert (
        client.view.texts("#lobby")[-1] == "Disconnected: The server is shutting down or restarting"
    )
    assert client.view.outbox == ["#lobby: sent but not echoed"]

    client.type("typed while offline")
    assert client.view.input == ""
    assert client.session.take() == []
    assert client.view.outbox == ["#lobby: sent but not echoed", "#lobby: typed while offline"]
    client.type("/join #dev")
    assert client.view.input == "/join #dev"
    assert "Not connected" in client.view.texts("#lobby")[-1]

    client.drop(code=None, retry_in=4.0)  # a failed attempt: one notice is enough
    assert "next try in 4 s" in (client.view.banner or "")
    assert [t for t in client.view.texts("#lobby") if t.startswith("Disconnected")] == [
        "Disconnected: The server is shutting down or restarting"
    ]

    client.welcome()
    assert client.view.banner is None
    assert "Reconnected." in client.view.texts("#lobby")
    assert client.session.take() == [
        ListRooms(),
        PostMessage(text="sent but not echoed", room=LOBBY),
        PostMessage(text="typed while offline", room=LOBBY),
    ]
    assert client.view.outbox == []  # in flight
    client.feed(message("sent but not echoed", sender="ada", seq=2))
    client.drop()
    assert client.view.outbox == ["#lobby: typed while offline"]


def test_the_backlog_after_a_reconnect_shows_only_what_was_missed(client: Client) -> None:
    client.feed(HistoryFetched(room=LOBBY, messages=(stored("a", 1), stored("b", 2))))
    client.drop()
    client.welcome()
    client.feed(
        HistoryFetched(room=LOBBY, messages=(stored("a", 1), stored("b", 2), stored("missed", 3)))
    )
    assert [t for t in client.view.texts("#lobby") if len(t) < 7] == ["a", "b", "missed"]


def test_a_server_that_lost_its_history_starts_the_log_over(client: Client) -> None:
    client.feed(
        HistoryFetched(room=LOBBY, messages=(stored("a", 1), stored("b", 2), stored("c", 3)))
    )
    client.drop()
    client.welcome()
    client.feed(HistoryFetched(room=LOBBY, messages=(stored("new one", 1),)))
    assert client.view.texts("#lobby")[-1] == "new one"
    client.feed(message("and then", seq=2))
    assert client.view.texts("#lobby")[-1] == "and then"


def test_a_name_lost_while_away_reopens_the_dialog_and_keeps_the_rooms(client: Client) -> None:
    client.join("#dev")
    client.drop(code="name_taken", retry_in=2.0)
    assert "still holds your name" in (client.view.banner or "")
    client.drop(code="name_taken", retry_in=None)
    assert client.view.dialog is not None
    assert client.view.dialog_view is not None
    assert client.view.dialog_view.form.error == "That name is taken — choose another"
    assert client.view.banner == "Disconnected: That name is taken — choose another"
    client.view.dialog.submit("10.0.0.5", "5050", "ada_")
    assert client.session.target.rooms == ("#dev",)
    client.welcome(name="ada_")
    assert client.view.title == "LocalChat — ada_ on 10.0.0.5:5050"
    assert client.view.dialog_view.closed


def test_events_from_a_replaced_session_are_ignored(client: Client) -> None:
    old = client.session
    client.drop(code="name_taken", retry_in=None)
    assert client.view.dialog is not None
    client.view.dialog.submit("10.0.0.5", "5050", "ada2")
    old.emit(message("from the past"))
    client.presenter.pump()
    assert "from the past" not in client.view.texts("#lobby")


# -- history paging -----------------------------------------------------------------------------


def test_scrolling_to_the_top_loads_older_pages_until_the_start(client: Client) -> None:
    client.feed(
        HistoryFetched(room=LOBBY, messages=tuple(stored(f"m{n}", n) for n in range(60, 111)))
    )
    client.presenter.scrolled_to_top("#lobby")
    client.presenter.scrolled_to_top("#lobby")  # already loading: no second request
    assert client.session.take() == [FetchHistory(room=LOBBY, before=60, limit=50)]
    client.feed(
        HistoryFetched(room=LOBBY, messages=tuple(stored(f"m{n}", n) for n in range(10, 60)))
    )
    assert client.view.texts("#lobby")[:2] == ["m10", "m11"]
    assert client.view.texts("#lobby")[50].startswith("Connected to")
    assert client.view.texts("#lobby")[51] == "m60"
    client.presenter.scrolled_to_top("#lobby")
    assert client.session.take() == [FetchHistory(room=LOBBY, before=10, limit=50)]
    client.feed(
        HistoryFetched(room=LOBBY, messages=tuple(stored(f"m{n}", n) for n in range(1, 10)))
    )
    assert client.view.texts("#lobby")[0] == "m1"
    client.presenter.scrolled_to_top("#lobby")
    assert client.session.take() == []


def test_history_lines_are_not_unread(client: Client) -> None:
    client.join("#dev")
    client.presenter.focus_changed(False)
    client.feed(HistoryFetched(room=LOBBY, messages=(stored("ada old", 1),)))
    assert client.view.labels["#lobby"] == "#lobby"
    assert client.view.bells == 0


# -- flood --------------------------------------------------------------------------------------


def test_a_flood_is_drawn_in_batches(client: Client) -> None:
    for n in range(1, 1201):
        client.session.emit(message(f"flood {n}", seq=n))
    calls = client.view.append_calls
    assert client.presenter.pump()  # more waits
    assert client.view.append_calls == calls + 1
    assert client.view.texts("#lobby")[-1] == f"flood {EVENTS_PER_PUMP}"
    while client.presenter.pump():
        pass
    assert client.view.append_calls == calls + 3
    assert client.view.texts("#lobby")[-1] == "flood 1200"


def test_local_lines_get_the_clock_time() -> None:
    c = Client()
    c.presenter.start(TARGET, ConnectForm())
    c.welcome()
    first = c.view.logs["#lobby"][0]
    assert first.kind is LineKind.SYSTEM
    assert first.time == (
        datetime(2026, 11, 22, 10, 4, 5, tzinfo=UTC) + timedelta(seconds=1)
    ).strftime("%H:%M")
