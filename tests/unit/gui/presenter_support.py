"""The presenter wired to the hand-written doubles of :mod:`tests.unit.gui.fakes`, with the
shortcuts the presenter tests share."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from localchat.adapters.gui.connect import ConnectForm
from localchat.adapters.gui.presenter import ChatPresenter
from localchat.domain.commands import JoinRoom, ListRooms
from localchat.domain.events import (
    HistoryFetched,
    RoomsListed,
    RoomSummary,
    UserJoined,
    UsersListed,
    Welcomed,
)
from localchat.domain.names import LOBBY, RoomName
from localchat.ports.session import ConnectionDropped, ConnectTarget, SessionEvent
from tests.fakes import FixedClock
from tests.unit.gui.fakes import (
    FakeSession,
    FakeSessions,
    FakeView,
    MemoryPreferences,
    MemoryTrust,
    StaticDirectory,
)

AT = datetime(2026, 11, 22, 10, 4, 5, tzinfo=UTC)
TARGET = ConnectTarget(host="10.0.0.5", port=5050, name="ada")


def room(name: str) -> RoomName:
    return RoomName.parse(name)


class Client:
    """A presenter wired to a FakeView and fake sessions, with a few shortcuts."""

    def __init__(self, *, directory: StaticDirectory | None = None) -> None:
        self.view = FakeView()
        self.sessions = FakeSessions()
        self.preferences = MemoryPreferences()
        self.trust = MemoryTrust()
        self.presenter = ChatPresenter(
            self.view,
            self.sessions,
            clock=FixedClock(AT + timedelta(seconds=1), step=timedelta(seconds=1)),
            preferences=self.preferences,
            directory=directory,
            trust=self.trust,
            zone=UTC,
            fallback_password="from-env",
        )

    @property
    def session(self) -> FakeSession:
        return self.sessions.last

    def feed(self, *events: SessionEvent) -> None:
        """Events through the real path: the listener (network thread), then a pump."""
        for event in events:
            self.session.emit(event)
        self.presenter.pump()

    def welcome(self, users: tuple[str, ...] = ("ada", "bob"), name: str = "ada") -> None:
        self.session.connected = True
        self.feed(Welcomed(name=name, room=LOBBY, users=users, max_text_chars=100))

    def connect(self) -> None:
        self.presenter.start(TARGET, ConnectForm())
        self.welcome()
        assert self.session.take() == [ListRooms()]
        self.feed(RoomsListed(rooms=(RoomSummary(room=LOBBY, members=2),)))

    def type(self, text: str) -> None:
        self.view.input = text
        self.presenter.submit(text)

    def drop(self, code: str | None = "shutting_down", retry_in: float | None = 1.0) -> None:
        self.session.connected = False
        self.feed(ConnectionDropped(reason="The server went away.", code=code, retry_in=retry_in))

    def join(self, name: str, members: tuple[str, ...] = ("ada",)) -> None:
        where = room(name)
        self.type(f"/join {name}")
        assert self.session.take() == [JoinRoom(room=where)]
        self.feed(
            UserJoined(room=where, name="ada", at=AT),
            UsersListed(room=where, users=members),
            HistoryFetched(room=where, messages=()),
        )
        self.session.take()  # the room list refresh
