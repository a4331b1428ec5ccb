"""A recording transport and a dispatcher harness: the chat core driven batch by batch,
without threads or sockets, for deterministic tests of group commit and store failures."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from localchat.app.dispatcher import Dispatcher
from localchat.app.services import ChatService, ServerPolicy
from localchat.domain.commands import Command, Register
from localchat.domain.events import CommandRejected, Delivery, Event, HistoryFetched, MessagePosted
from localchat.domain.model import Message, SessionId
from localchat.ports.store import MessageStore
from localchat.ports.transport import CommandSink
from tests.fakes import BreakableStore, FixedClock


class RecordingTransport:
    """A ServerTransport that keeps every event per session, and notes any message
    delivered (echoed, or in a history page) before its store made it durable, when the
    store can tell (it has ``is_durable``)."""

    name = "recording"

    def __init__(self, store: MessageStore) -> None:
        self._store = store
        self.events: dict[SessionId, list[Event]] = defaultdict(list)
        self.delivered_before_durable: list[Message] = []
        """Messages echoed, or shown in a history page, before they were durable."""
        self.flushes = 0

    def start(self, sink: CommandSink) -> None:
        """Nothing to start: the harness submits commands itself."""

    def addresses(self) -> list[str]:
        return []

    def deliver(self, event: Event, recipients: Sequence[SessionId]) -> None:
        is_durable = getattr(self._store, "is_durable", None)  # when the store can tell
        if is_durable is not None:
            if isinstance(event, MessagePosted):
                shown: tuple[Message, ...] = (event.message,)
            elif isinstance(event, HistoryFetched):
                shown = event.messages
            else:
                shown = ()
            self.delivered_before_durable += [m for m in shown if not is_durable(m)]
        for session in recipients:
            self.events[session].append(event)

    def flush(self) -> None:
        self.flushes += 1

    def shutdown(self, timeout: float) -> None:
        """Nothing to close."""

    def take(self, session: SessionId) -> list[Event]:
        """The events ``session`` received since the last take."""
        events = self.events.pop(session, [])
        return events


class OrderedService(ChatService):
    """The real service, noting for each event it returns which command (by run order)
    caused it, so a test can check that no event overtakes an earlier one."""

    def __init__(self, store: MessageStore) -> None:
        super().__init__(clock=FixedClock(), store=store, policy=ServerPolicy())
        self.causes: dict[int, tuple[int, Event]] = {}  # id(event) -> (command number, event)
        self._ran = 0

    def handle(self, session: SessionId, command: Command) -> list[Delivery]:
        produced = super().handle(session, command)
        self._ran += 1
        for delivery in produced:
            self.causes[id(delivery.event)] = (self._ran, delivery.event)
        return produced

    def cause(self, event: Event) -> int | None:
        """The number of the command that caused ``event``; None if the dispatcher made it."""
        found = self.causes.get(id(event))
        return found[0] if found is not None and found[1] is event else None


@dataclass
class Harness:
    """A chat core with a store, a dispatcher and a recording transport."""

    store: MessageStore
    service: OrderedService = field(init=False)
    dispatcher: Dispatcher = field(init=False)
    transport: RecordingTransport = field(init=False)

    def __post_init__(self) -> None:
        self.service = OrderedService(self.store)
        self.dispatcher = Dispatcher(self.service, self.store)
        self.transport = RecordingTransport(self.store)
        self.dispatcher.add_transport(self.transport)

    def assert_in_order(self, session: SessionId) -> None:
        """``session`` received its events in the order of the commands that caused them."""
        causes = [self.service.cause(e) for e in self.transport.events.get(session, [])]
        known = [cause for cause in causes if cause is not None]
        assert known == sorted(known), f"events overtook earlier ones: {causes}"

    def register(self, name: str) -> SessionId:
        session = self.dispatcher.open_session(self.transport)
        self.run([(session, Register(name=name, protocol=1))])
        self.transport.take(session)
        return session

    def run(self, commands: Sequence[tuple[SessionId, Command]]) -> None:
        """One dispatcher batch: run, commit once, deliver."""
        self.dispatcher.run_batch([commands])

    # The pipelined loop one step at a time, as the two threads would run it (white box:
    # the steps of Dispatcher._run, with the committer's part done by the test).

    def feed(self, commands: Sequence[tuple[SessionId, Command]]) -> None:
        """Commands reach the dispatcher: run into the open group, which then closes."""
        self.execute(commands)
        self.close_group()

    def execute(self, commands: Sequence[tuple[SessionId, Command]]) -> None:
        """Run commands into the open group (a commit may seal part of it meanwhile)."""
        self.dispatcher._execute(commands)

    def close_group(self) -> None:
        """Close the open group: it goes out, or waits for the commit of its messages."""
        self.dispatcher._advance()

    def finish_commit(self, *, fail: bool = False) -> bool:
        """Run one commit of what is staged, as the committer would (failing if ``fail``),
        and give the dispatcher its answer; False if nothing was staged since the last."""
        if isinstance(self.store, BreakableStore):
            self.store.broken = fail
        done = self.dispatcher._commit_staged()
        if done is None:
            return False
        self.dispatcher._committed(done)
        self.dispatcher._resume.clear()
        return True


def rejections(events: Sequence[Event]) -> list[str]:
    return [e.code for e in events if isinstance(e, CommandRejected)]


def posted(events: Sequence[Event]) -> list[tuple[str, int, str]]:
    """(room, seq, text) of each message event."""
    return [
        (e.message.room.canonical, e.message.seq, e.message.text)
        for e in events
        if isinstance(e, MessagePosted)
    ]
