"""A recording transport and a dispatcher harness: the chat core driven batch by batch,
without threads or sockets, for deterministic tests of group commit and store failures."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from localchat.app.dispatcher import Dispatcher
from localchat.app.services import ChatService, ServerPolicy
from localchat.domain.commands import Command, Register
from localchat.domain.events import CommandRejected, Event, MessagePosted
from localchat.domain.model import SessionId
from localchat.ports.store import MessageStore
from localchat.ports.transport import CommandSink
from tests.fakes import BreakableStore, FixedClock


class RecordingTransport:
    """A ServerTransport that keeps every event per session, and notes any message
    delivered before its store made it durable (when the store can tell)."""

    name = "recording"

    def __init__(self, store: MessageStore) -> None:
        self._store = store
        self.events: dict[SessionId, list[Event]] = defaultdict(list)
        self.delivered_before_durable: list[MessagePosted] = []
        self.flushes = 0

    def start(self, sink: CommandSink) -> None:
        """Nothing to start: the harness submits commands itself."""

    def addresses(self) -> list[str]:
        return []

    def deliver(self, event: Event, recipients: Sequence[SessionId]) -> None:
        if (
            isinstance(event, MessagePosted)
            and isinstance(self._store, BreakableStore)
            and not self._store.is_durable(event.message)
        ):
            self.delivered_before_durable.append(event)
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


@dataclass
class Harness:
    """A chat core with a store, a dispatcher and a recording transport."""

    store: MessageStore
    service: ChatService = field(init=False)
    dispatcher: Dispatcher = field(init=False)
    transport: RecordingTransport = field(init=False)

    def __post_init__(self) -> None:
        self.service = ChatService(clock=FixedClock(), store=self.store, policy=ServerPolicy())
        self.dispatcher = Dispatcher(self.service, self.store)
        self.transport = RecordingTransport(self.store)
        self.dispatcher.add_transport(self.transport)

    def register(self, name: str) -> SessionId:
        session = self.dispatcher.open_session(self.transport)
        self.run([(session, Register(name=name, protocol=1))])
        self.transport.take(session)
        return session

    def run(self, commands: Sequence[tuple[SessionId, Command]]) -> None:
        """One dispatcher batch: run, commit once, deliver."""
        self.dispatcher.run_batch([commands])


def rejections(events: Sequence[Event]) -> list[str]:
    return [e.code for e in events if isinstance(e, CommandRejected)]


def posted(events: Sequence[Event]) -> list[tuple[str, int, str]]:
    """(room, seq, text) of each message event."""
    return [
        (e.message.room.canonical, e.message.seq, e.message.text)
        for e in events
        if isinstance(e, MessagePosted)
    ]
