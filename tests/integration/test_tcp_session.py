"""TcpChatSession against a real server on 127.0.0.1: register, relay, give up, reconnect."""

from __future__ import annotations

import queue
import signal
import time
from collections.abc import Callable

import pytest

from localchat.adapters.memory.store import InMemoryMessageStore
from localchat.adapters.tcp.session import TcpChatSession
from localchat.adapters.wire import packets as p
from localchat.domain.commands import JoinRoom, ListUsers, PostMessage, SendDirect
from localchat.domain.events import (
    CommandRejected,
    DirectSent,
    HistoryFetched,
    MessagePosted,
    UserJoined,
    UserLeft,
    UsersListed,
    Welcomed,
)
from localchat.domain.names import LOBBY, RoomName
from localchat.ports.session import ConnectionDropped, ConnectTarget
from tests.cli_process import ServerProcess
from tests.helpers import wait_until
from tests.integration.sessions import FAST, OpenSession, Recorder
from tests.servers import RunningServer


def test_registers_and_relays_room_and_direct_messages(
    chat_server: RunningServer, open_session: OpenSession
) -> None:
    _, ada_events = open_session(chat_server.port, "ada")
    welcome = ada_events.next(Welcomed)
    assert (welcome.name, welcome.room.canonical, welcome.users) == ("ada", "#lobby", ("ada",))
    assert ada_events.next(HistoryFetched).room.canonical == "#lobby"
    bob, bob_events = open_session(chat_server.port, "bob")
    bob_events.next(Welcomed)
    assert ada_events.next(UserJoined).name == "bob"

    assert bob.send(PostMessage(text="hi ada", room=LOBBY))
    message = ada_events.next(MessagePosted).message
    assert (message.room.canonical, message.seq, message.sender, message.text) == (
        "#lobby",
        1,
        "bob",
        "hi ada",
    )
    assert bob.send(SendDirect(to="ada", text="psst"))
    direct = ada_events.next(DirectSent)
    assert (direct.sender, direct.to, direct.text) == ("bob", "ada", "psst")
    assert bob.send(ListUsers(room=LOBBY))
    assert bob_events.next(UsersListed).users == ("ada", "bob")


def test_non_fatal_errors_arrive_as_command_rejected(
    chat_server: RunningServer, open_session: OpenSession
) -> None:
    ada, events = open_session(chat_server.port, "ada")
    events.next(Welcomed)
    assert ada.send(SendDirect(to="nobody", text="hello?"))
    rejected = events.next(CommandRejected)
    assert (rejected.code, rejected.fatal) == ("no_such_user", False)


def test_the_first_attempt_failing_gives_up_with_a_readable_reason(
    chat_server: RunningServer, open_session: OpenSession
) -> None:
    port = chat_server.port
    chat_server.server.stop(timeout=1)
    session, events = open_session(port, "ada")
    dropped = events.next(ConnectionDropped)
    assert dropped.retry_in is None
    assert dropped.code is None
    assert f"127.0.0.1:{port}" in dropped.reason
    assert "Is the server running?" in dropped.reason
    assert not session.send(PostMessage(text="lost?"))


def test_a_taken_name_is_refused_with_its_code(
    chat_server: RunningServer, open_session: OpenSession
) -> None:
    chat_server.connect("ada")
    _, events = open_session(chat_server.port, "ADA")
    dropped = events.next(ConnectionDropped)
    assert (dropped.code, dropped.retry_in) == ("name_taken", None)
    assert "taken" in dropped.reason


def test_a_wrong_password_is_refused(
    start_server: Callable[..., RunningServer],
    open_session: OpenSession,
) -> None:
    server = start_server(password="sesame")
    _, events = open_session(server.port, "ada", password="open up")
    assert events.next(ConnectionDropped).code == "auth_failed"
    _, events = open_session(server.port, "ada", password="sesame")
    assert events.next(Welcomed).name == "ada"


def test_initial_rooms_are_joined_after_welcome(
    chat_server: RunningServer, open_session: OpenSession
) -> None:
    _, events = open_session(chat_server.port, "ada", rooms=("#dev", "#lobby"))
    events.next(Welcomed)
    joined = events.next(UserJoined)
    assert (joined.room.canonical, joined.name) == ("#dev", "ada")


def test_reconnects_after_a_server_restart_and_rejoins_rooms(
    start_server: Callable[..., RunningServer],
    open_session: OpenSession,
) -> None:
    store = InMemoryMessageStore()
    first = start_server(store=store)
    port = first.port
    ada, events = open_session(port, "ada")
    events.next(Welcomed)
    assert ada.send(JoinRoom(room=RoomName.parse("#dev")))
    assert events.next(UserJoined).room.canonical == "#dev"

    first.server.stop(timeout=2)
    dropped = events.next(ConnectionDropped)
    assert dropped.code == "shutting_down"
    assert dropped.retry_in is not None
    assert dropped.retry_in <= FAST.maximum
    wait_until(lambda: not ada.send(PostMessage(text="offline")), what="the session to notice")

    second = start_server(store=store, port=port)
    welcome = events.next(Welcomed, timeout=10)
    assert welcome.name == "ada"
    rejoined = events.next(UserJoined)
    assert (rejoined.room.canonical, rejoined.name) == ("#dev", "ada")
    assert ada.send(PostMessage(text="back", room=RoomName.parse("#dev")))
    assert events.next(MessagePosted).message.text == "back"
    observer = second.connect("obs")
    observer.join("#dev")
    history = wait_until(
        lambda: next(
            (m for m in observer.packets(timeout=0.5) if isinstance(m, p.HistoryPage)), None
        )
    )
    assert [m.text for m in history.messages] == ["back"]


def test_close_says_bye_so_others_see_quit(
    chat_server: RunningServer, open_session: OpenSession
) -> None:
    observer = chat_server.connect("obs")
    ada, events = open_session(chat_server.port, "ada")
    events.next(Welcomed)
    assert isinstance(observer.receive(timeout=5), p.Joined)
    ada.close()
    left = observer.receive(timeout=5)
    assert isinstance(left, p.Left)
    assert (left.name, left.reason) == ("ada", "quit")
    assert events.events.empty() or not any(
        isinstance(e, UserLeft | ConnectionDropped) for e in list(events.events.queue)
    )


def test_a_server_that_stops_answering_is_noticed_and_a_quiet_one_is_not(
    server_process: Callable[..., ServerProcess],
) -> None:
    """The session pings after ``keepalive`` s of silence and gives the server up after 2.5
    times that without a frame. A frozen server process (SIGSTOP: its sockets stay open,
    nothing answers) is the vanished machine; the kernel still ACKs, so only the pings tell."""
    server = server_process("--host", "127.0.0.1", "--port", "0", memory_store=True)
    events = Recorder()
    target = ConnectTarget(host="127.0.0.1", port=server.port, name="ada")
    session = TcpChatSession(target, events, backoff=FAST, keepalive=0.2)
    session.start()
    try:
        events.next(Welcomed)
        with pytest.raises(queue.Empty):  # quiet for 5 keepalive periods: the pongs count
            events.next(ConnectionDropped, timeout=1.0)
        server.process.send_signal(signal.SIGSTOP)
        try:
            started = time.monotonic()
            dropped = events.next(ConnectionDropped, timeout=5.0)
            assert "stopped answering" in dropped.reason
            assert time.monotonic() - started < 3.0  # the pings, not a TCP timeout
        finally:
            server.process.send_signal(signal.SIGCONT)
    finally:
        session.close()
