"""The Dispatcher with the in-memory transport: order, group commit before delivery, routing."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import pytest

from localchat.adapters.memory.store import InMemoryMessageStore
from localchat.adapters.memory.transport import MemoryClient, MemoryServerTransport
from localchat.app.dispatcher import Dispatcher
from localchat.app.services import ChatService, ServerPolicy
from localchat.domain.commands import Command, Disconnect, JoinRoom, PostMessage, Quit, Register
from localchat.domain.events import (
    CommandRejected,
    Event,
    MessagePosted,
    UserJoined,
    UserLeft,
    Welcomed,
)
from localchat.domain.model import LeaveReason, Message, SessionId
from localchat.domain.names import RoomName
from localchat.ports.store import Commit
from tests.fakes import FixedClock
from tests.helpers import wait_until

DEV = RoomName.parse("#dev")


class RecordingStore:
    """A MessageStore that writes what is asked of it into a shared journal."""

    durable_at_once = False

    def __init__(self, journal: list[str]) -> None:
        self._journal = journal
        self._inner = InMemoryMessageStore()

    def last_seq(self, room: RoomName) -> int:
        return self._inner.last_seq(room)

    def append(self, message: Message) -> None:
        self._journal.append(f"append {message.room} {message.seq}")
        self._inner.append(message)

    def seal(self) -> Commit:
        return self.commit

    def commit(self) -> None:
        self._journal.append("commit")

    def discard(self) -> None:
        self._journal.append("discard")

    def page(self, room: RoomName, *, before: int | None, limit: int) -> tuple[Message, ...]:
        return self._inner.page(room, before=before, limit=limit)

    def close(self) -> None:
        self._journal.append("close")


class JournalingTransport(MemoryServerTransport):
    """The in-memory transport, noting each delivery and flush in the same journal."""

    def __init__(self, journal: list[str]) -> None:
        super().__init__()
        self._journal = journal

    def deliver(self, event: Event, recipients: Sequence[SessionId]) -> None:
        self._journal.append(f"deliver {type(event).__name__}")
        super().deliver(event, recipients)

    def flush(self) -> None:
        self._journal.append("flush")


def build(store: RecordingStore | InMemoryMessageStore) -> Dispatcher:
    service = ChatService(clock=FixedClock(), store=store, policy=ServerPolicy())
    return Dispatcher(service, store)


def texts(events: list[Event]) -> list[str]:
    return [e.message.text for e in events if isinstance(e, MessagePosted)]


@pytest.fixture
def running() -> Iterator[tuple[Dispatcher, MemoryServerTransport]]:
    """A dispatcher thread with one in-memory transport."""
    dispatcher = build(InMemoryMessageStore())
    transport = MemoryServerTransport()
    dispatcher.add_transport(transport)
    transport.start(dispatcher)
    dispatcher.start()
    yield dispatcher, transport
    dispatcher.stop()


def receive_messages(client: MemoryClient, count: int) -> list[tuple[int, str]]:
    """The next ``count`` messages ``client`` receives (other events skipped), as (seq, text)."""
    messages: list[tuple[int, str]] = []
    while len(messages) < count:
        event = client.receive(timeout=5)
        if isinstance(event, MessagePosted):
            messages.append((event.message.seq, event.message.text))
    return messages


def test_commands_from_several_clients_come_out_as_events_in_order(
    running: tuple[Dispatcher, MemoryServerTransport],
) -> None:
    _, transport = running
    clients = [transport.connect() for _ in range(3)]
    for client, name in zip(clients, ["ada", "bob", "cy"], strict=True):
        client.send(Register(name=name, protocol=1))
        assert isinstance(client.receive(timeout=5), Welcomed)
    sent: list[str] = []
    for round_ in range(5):
        for client, name in zip(clients, ["ada", "bob", "cy"], strict=True):
            sent.append(f"{name} {round_}")
            client.send(PostMessage(text=sent[-1]))
    seen = [receive_messages(client, len(sent)) for client in clients]
    assert seen[0] == list(enumerate(sent, start=1))
    assert seen[0] == seen[1] == seen[2]


def test_quit_and_close_reach_the_others_as_left(
    running: tuple[Dispatcher, MemoryServerTransport],
) -> None:
    _, transport = running
    ada, bob, cy = (transport.connect() for _ in range(3))
    for client, name in ((ada, "ada"), (bob, "bob"), (cy, "cy")):
        client.send(Register(name=name, protocol=1))
        assert isinstance(client.receive(timeout=5), Welcomed)
    bob.send(Quit())
    cy.close()
    reasons = []
    while len(reasons) < 2:
        event = ada.receive(timeout=5)
        if isinstance(event, UserLeft):
            reasons.append((event.name, event.reason))
    assert reasons == [("bob", LeaveReason.QUIT), ("cy", LeaveReason.DISCONNECTED)]
    assert bob.closed
    assert cy.closed


def test_sessions_are_forgotten_when_they_end_or_are_refused(
    running: tuple[Dispatcher, MemoryServerTransport],
) -> None:
    dispatcher, transport = running
    ada, bob, impostor = (transport.connect() for _ in range(3))
    ada.send(Register(name="ada", protocol=1))
    bob.send(Register(name="bob", protocol=1))
    impostor.send(Register(name="ADA", protocol=1))  # name_taken: fatal
    assert isinstance(ada.receive(timeout=5), Welcomed)
    refused = impostor.receive(timeout=5)
    assert isinstance(refused, CommandRejected)
    assert refused.code == "name_taken"
    bob.send(Quit())
    wait_until(lambda: dispatcher.open_sessions == 1, what="only ada's session left")
    ada.close()
    wait_until(lambda: dispatcher.open_sessions == 0, what="no session left")


def test_store_commit_runs_once_per_batch_before_any_delivery() -> None:
    journal: list[str] = []
    store = RecordingStore(journal)
    dispatcher = build(store)
    transport = JournalingTransport(journal)
    dispatcher.add_transport(transport)
    transport.start(dispatcher)
    ada, bob = transport.connect(), transport.connect()
    a, b = ada.session, bob.session

    dispatcher.run_batch(
        [[(a, Register(name="ada", protocol=1)), (b, Register(name="bob", protocol=1))]]
    )
    assert "commit" not in journal  # nothing to make durable
    assert "deliver Welcomed" in journal
    journal.clear()

    work: list[list[tuple[SessionId, Command]]] = [
        [(a, PostMessage(text="one")), (a, JoinRoom(room=DEV))],
        [
            (b, PostMessage(text="two")),
            (b, JoinRoom(room=DEV)),
            (a, PostMessage(text="3", room=DEV)),
        ],
    ]
    dispatcher.run_batch(work)
    assert journal.count("commit") == 1
    commit = journal.index("commit")
    assert journal[:commit] == ["append #lobby 1", "append #lobby 2", "append #dev 1"]
    assert all(entry.startswith("deliver") for entry in journal[commit + 1 : -1])
    assert journal[-1] == "flush"
    assert texts(bob.pending()) == ["one", "two", "3"]
    assert dispatcher.batches == 2
    assert dispatcher.commands == 7


def test_a_batch_without_messages_is_delivered_without_a_commit() -> None:
    journal: list[str] = []
    dispatcher = build(RecordingStore(journal))
    transport = JournalingTransport(journal)
    dispatcher.add_transport(transport)
    transport.start(dispatcher)
    ada, bob = transport.connect(), transport.connect()
    dispatcher.run_batch([[(ada.session, Register(name="ada", protocol=1))]])
    dispatcher.run_batch([[(bob.session, Register(name="bob", protocol=1))]])
    dispatcher.run_batch([[(ada.session, Disconnect())]])
    assert journal.count("commit") == 0
    assert journal.count("flush") == 3
    assert [e for e in bob.pending() if isinstance(e, UserLeft)] != []


def test_deliveries_go_to_the_transport_that_owns_each_session() -> None:
    dispatcher = build(InMemoryMessageStore())
    first, second = MemoryServerTransport(), MemoryServerTransport()
    for transport in (first, second):
        dispatcher.add_transport(transport)
        transport.start(dispatcher)
    ada, bob = first.connect(), second.connect()
    dispatcher.run_batch(
        [
            [
                (ada.session, Register(name="ada", protocol=1)),
                (bob.session, Register(name="bob", protocol=1)),
                (bob.session, PostMessage(text="across")),
            ]
        ]
    )
    ada_events = ada.pending()
    bob_events = bob.pending()
    assert [type(e) for e in ada_events].count(Welcomed) == 1
    assert [type(e) for e in bob_events].count(Welcomed) == 1
    assert [e.name for e in ada_events if isinstance(e, UserJoined)] == ["bob"]
    assert texts(ada_events) == texts(bob_events) == ["across"]


def test_an_in_memory_store_needs_no_committer_round_trip(
    running: tuple[Dispatcher, MemoryServerTransport],
) -> None:
    dispatcher, transport = running
    ada = transport.connect()
    ada.send(Register(name="ada", protocol=1))
    assert isinstance(ada.receive(timeout=5), Welcomed)
    for n in range(5):
        ada.send(PostMessage(text=f"m{n}"))
    assert [text for _, text in receive_messages(ada, 5)] == [f"m{n}" for n in range(5)]
    assert not dispatcher.commit_stats  # delivered at once: nothing went to the committer
