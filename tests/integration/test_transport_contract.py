"""One contract, every transport: what a client sees does not depend on how it connects.

The same tests run against the in-process transport (domain commands and events, no codec)
and the threaded TCP transport (frames over real sockets, read back into domain events by
the client codec). A third-party transport can be added to ``TRANSPORTS`` the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Protocol

import pytest

from localchat.adapters.memory.transport import MemoryClient, MemoryServerTransport
from localchat.adapters.tcp.client import ChatClient, ConnectionClosed
from localchat.adapters.wire import packets as p
from localchat.adapters.wire.client_events import to_event, to_packet
from localchat.app.server import LocalChatServer
from localchat.domain.commands import (
    JoinRoom,
    LeaveRoom,
    ListRooms,
    PostMessage,
    Quit,
    Register,
    SendDirect,
)
from localchat.domain.events import (
    CommandRejected,
    DirectSent,
    Event,
    HistoryFetched,
    MessagePosted,
    RoomsListed,
    UserJoined,
    UserLeft,
    UsersListed,
    Welcomed,
)
from localchat.domain.model import LeaveReason
from localchat.domain.names import RoomName
from tests.servers import RunningServer

OPS = RoomName.parse("#ops")


class Peer(Protocol):
    """A client as the contract sees it: domain commands out, domain events in."""

    def send(
        self, command: PostMessage | JoinRoom | LeaveRoom | ListRooms | SendDirect
    ) -> None: ...

    def register(self, name: str) -> Event:
        """Send the registration; return the first answer (``Welcomed`` or a refusal)."""
        ...

    def quit(self) -> None: ...

    def drop(self) -> None:
        """Vanish as a lost connection does."""
        ...

    def next(self, timeout: float = 5.0) -> Event:
        """The next event; raises TimeoutError, or EOFError once the session is over."""
        ...


class MemoryPeer:
    def __init__(self, client: MemoryClient) -> None:
        self._client = client

    def send(self, command: PostMessage | JoinRoom | LeaveRoom | ListRooms | SendDirect) -> None:
        self._client.send(command)

    def register(self, name: str) -> Event:
        self._client.send(Register(name=name, protocol=1))
        return self.next()

    def quit(self) -> None:
        self._client.send(Quit())

    def drop(self) -> None:
        self._client.close()

    def next(self, timeout: float = 5.0) -> Event:
        return self._client.receive(timeout)


class TcpPeer:
    def __init__(self, client: ChatClient) -> None:
        self._client = client

    def send(self, command: PostMessage | JoinRoom | LeaveRoom | ListRooms | SendDirect) -> None:
        self._client.send(to_packet(command))

    def register(self, name: str) -> Event:
        self._client.send(p.Hello(name=name, protocol=1))
        return self.next()

    def quit(self) -> None:
        self._client.bye()

    def drop(self) -> None:
        self._client.close()

    def next(self, timeout: float = 5.0) -> Event:
        while True:
            try:
                event = to_event(self._client.receive(timeout=timeout))
            except ConnectionClosed:
                raise EOFError("the server closed the connection") from None
            if event is not None:
                return event  # type: ignore[return-value]


Connect = Callable[[], Peer]
TRANSPORTS = ["memory", "tcp"]


@pytest.fixture(params=TRANSPORTS)
def connect(
    request: pytest.FixtureRequest,
    start_server: Callable[..., RunningServer],
    memory_server: tuple[LocalChatServer, MemoryServerTransport],
) -> Iterator[Connect]:
    """``connect()``: a new, unregistered peer over the transport under test."""
    if request.param == "memory":
        _, transport = memory_server
        yield lambda: MemoryPeer(transport.connect())
    else:
        server = start_server()
        yield lambda: TcpPeer(server.open())


def registered(connect: Connect, name: str) -> Peer:
    peer = connect()
    welcome = peer.register(name)
    assert isinstance(welcome, Welcomed), welcome
    assert isinstance(peer.next(), HistoryFetched)  # #lobby's backlog follows welcome
    return peer


def next_of(
    peer: Peer, kind: type[Event], matches: Callable[[Event], bool] = lambda _: True
) -> Event:
    """The next event of ``kind`` that ``matches``, skipping the others."""
    while True:
        event = peer.next()
        if isinstance(event, kind) and matches(event):
            return event


def test_registration_and_joined(connect: Connect) -> None:
    ada = registered(connect, "ada")
    bob = connect()
    welcome = bob.register("Bob")
    assert isinstance(welcome, Welcomed)
    assert welcome.users == ("ada", "Bob")
    assert welcome.room.canonical == "#lobby"
    joined = ada.next()
    assert isinstance(joined, UserJoined)
    assert (joined.room.canonical, joined.name) == ("#lobby", "Bob")


def test_messages_reach_every_member_in_one_order(connect: Connect) -> None:
    ada, bob = registered(connect, "ada"), registered(connect, "bob")
    next_of(ada, UserJoined)
    for n in range(6):
        (ada if n % 2 else bob).send(PostMessage(text=f"{'ada' if n % 2 else 'bob'} {n}"))
    orders = []
    for peer in (ada, bob):
        seen = [next_of(peer, MessagePosted) for _ in range(6)]
        orders.append([(e.message.seq, e.message.text) for e in seen])  # type: ignore[attr-defined]
    assert orders[0] == orders[1]  # one order per room, the same for every member
    assert [seq for seq, _ in orders[0]] == [1, 2, 3, 4, 5, 6]
    for sender in ("ada", "bob"):  # and each sender's messages in the order sent
        mine = [text for _, text in orders[0] if text.startswith(sender)]
        assert mine == sorted(mine, key=lambda text: int(text.split()[1]))


def test_rooms_lists_and_leaving(connect: Connect) -> None:
    ada, bob = registered(connect, "ada"), registered(connect, "bob")
    next_of(ada, UserJoined)  # bob, in #lobby
    ada.send(JoinRoom(room=OPS))
    joined = ada.next()
    assert isinstance(joined, UserJoined)
    assert (joined.room, joined.name) == (OPS, "ada")
    listed = ada.next()
    assert isinstance(listed, UsersListed)
    assert listed.users == ("ada",)
    assert isinstance(ada.next(), HistoryFetched)
    bob.send(JoinRoom(room=OPS))
    heard = next_of(ada, UserJoined)
    assert (heard.room, heard.name) == (OPS, "bob")  # type: ignore[attr-defined]
    bob.send(ListRooms())
    rooms = next_of(bob, RoomsListed)
    assert [(r.room.canonical, r.members) for r in rooms.rooms] == [  # type: ignore[attr-defined]
        ("#lobby", 2),
        ("#ops", 2),
    ]
    bob.send(LeaveRoom(room=OPS))
    left = next_of(ada, UserLeft)
    assert (left.room, left.name, left.reason) == (OPS, "bob", LeaveReason.LEAVE)  # type: ignore[attr-defined]


def test_directs_reach_the_recipient_and_echo(connect: Connect) -> None:
    ada, bob = registered(connect, "ada"), registered(connect, "bob")
    ada.send(SendDirect(to="BOB", text="psst"))
    for peer in (bob, ada):
        direct = next_of(peer, DirectSent)
        assert (direct.seq, direct.sender, direct.to, direct.text) == (1, "ada", "bob", "psst")  # type: ignore[attr-defined]


def test_errors_keep_or_end_the_session_by_their_code(connect: Connect) -> None:
    ada = registered(connect, "ada")
    ada.send(PostMessage(text="hello", room=OPS))
    refused = ada.next()
    assert isinstance(refused, CommandRejected)
    assert (refused.code, refused.fatal) == ("not_in_room", False)
    impostor = connect()
    taken = impostor.register("ADA")
    assert isinstance(taken, CommandRejected)
    assert (taken.code, taken.fatal) == ("name_taken", True)


def test_every_departure_is_announced_with_its_reason(connect: Connect) -> None:
    ada, bob, cy = (registered(connect, name) for name in ("ada", "bob", "cy"))
    bob.quit()
    cy.drop()
    reasons = []
    while len(reasons) < 2:
        left = next_of(ada, UserLeft)
        reasons.append((left.name, left.reason))  # type: ignore[attr-defined]
    assert sorted(reasons) == [("bob", LeaveReason.QUIT), ("cy", LeaveReason.DISCONNECTED)]
