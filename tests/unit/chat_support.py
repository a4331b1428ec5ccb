"""A ChatService wired with the test fakes, and ways to read what it delivered."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeVar

from localchat.adapters.memory.store import InMemoryMessageStore
from localchat.app.services import ChatService, ServerPolicy
from localchat.domain.commands import Command, Register
from localchat.domain.events import CommandRejected, Delivery, Event
from localchat.domain.model import SessionId
from tests.fakes import FixedClock

E = TypeVar("E")


@dataclass
class Chat:
    """The chat core with a FixedClock and an InMemoryMessageStore."""

    policy: ServerPolicy = field(default_factory=ServerPolicy)
    clock: FixedClock = field(default_factory=FixedClock)
    store: InMemoryMessageStore = field(default_factory=InMemoryMessageStore)
    service: ChatService = field(init=False)

    def __post_init__(self) -> None:
        self.service = ChatService(clock=self.clock, store=self.store, policy=self.policy)

    def send(self, session: int, command: Command) -> list[Delivery]:
        return self.service.handle(SessionId(session), command)

    def register(self, session: int, name: str, **kwargs: Any) -> list[Delivery]:
        deliveries = self.send(session, Register(name=name, protocol=1, **kwargs))
        assert not rejections(deliveries), deliveries
        return deliveries


def events_to(deliveries: list[Delivery], session: int) -> list[Event]:
    """What one session receives, in order."""
    return [d.event for d in deliveries if SessionId(session) in d.recipients]


def only(deliveries: list[Delivery], kind: type[E]) -> list[tuple[E, tuple[SessionId, ...]]]:
    """The deliveries of one event type, with their recipients."""
    return [(d.event, d.recipients) for d in deliveries if isinstance(d.event, kind)]


def rejections(deliveries: list[Delivery]) -> list[CommandRejected]:
    return [d.event for d in deliveries if isinstance(d.event, CommandRejected)]


def rejected(deliveries: list[Delivery], session: int) -> CommandRejected:
    """The one delivery of a refused command: a CommandRejected to the sender alone."""
    assert len(deliveries) == 1, deliveries
    (delivery,) = deliveries
    assert isinstance(delivery.event, CommandRejected), delivery
    assert delivery.recipients == (SessionId(session),)
    return delivery.event


def sessions(*numbers: int) -> set[SessionId]:
    return {SessionId(n) for n in numbers}
