"""Hand-written doubles for the presenter tests: a view that records what it was told to
show, a session that records what it was asked to send, in-memory preferences, trust
decisions and server directory."""

from __future__ import annotations

from collections.abc import Sequence

from localchat.adapters.gui.connect import ConnectForm, ConnectPresenter
from localchat.adapters.gui.formatting import LogLine
from localchat.adapters.gui.preferences import LastConnection
from localchat.adapters.gui.presenter import RoomItem
from localchat.adapters.gui.trust import Alert, Question
from localchat.ports.discovery import ServerEntry, ServerListing
from localchat.ports.session import ClientCommand, ConnectTarget, SessionEvent, SessionListener


class FakeConnectView:
    def __init__(self) -> None:
        self.forms: list[ConnectForm] = []
        self.closed = False

    @property
    def form(self) -> ConnectForm:
        return self.forms[-1]

    def show_form(self, form: ConnectForm) -> None:
        self.forms.append(form)

    def close(self) -> None:
        self.closed = True


class FakeView:
    """Keeps the state a person would see; tests assert on it, not on call order."""

    def __init__(self) -> None:
        self.dialog: ConnectPresenter | None = None
        self.dialog_view: FakeConnectView | None = None
        self.dialogs_opened = 0
        self.chat_shown = False
        self.closed = False
        self.logs: dict[str, list[LogLine]] = {}
        self.labels: dict[str, str] = {}
        self.selected: str | None = None
        self.members: list[str] = []
        self.rooms: list[RoomItem] = []
        self.title = ""
        self.banner: str | None = None
        self.outbox: list[str] = []
        self.input = "typed text"
        self.bells = 0
        self.append_calls = 0
        self.questions: list[Question] = []
        self.alerts: list[Alert] = []
        self.security: tuple[str, bool] | None = None

    # -- ChatView -------------------------------------------------------------------------------

    def show_connect_dialog(self, dialog: ConnectPresenter) -> None:
        self.dialogs_opened += 1
        self.dialog = dialog
        self.dialog_view = FakeConnectView()
        dialog.attach(self.dialog_view)

    def show_chat(self) -> None:
        self.chat_shown = True

    def close(self) -> None:
        self.closed = True

    def add_conversation(self, key: str, label: str) -> None:
        assert key not in self.logs, f"{key} added twice"
        self.logs[key] = []
        self.labels[key] = label

    def remove_conversation(self, key: str) -> None:
        del self.logs[key]
        del self.labels[key]
        if self.selected == key:
            self.selected = None

    def select_conversation(self, key: str) -> None:
        assert key in self.logs
        self.selected = key

    def set_conversation_label(self, key: str, label: str) -> None:
        assert key in self.logs
        self.labels[key] = label

    def append_lines(self, key: str, lines: Sequence[LogLine]) -> None:
        self.append_calls += 1
        self.logs[key].extend(lines)

    def prepend_lines(self, key: str, lines: Sequence[LogLine]) -> None:
        self.logs[key][:0] = lines

    def show_members(self, names: Sequence[str]) -> None:
        self.members = list(names)

    def show_rooms(self, rooms: Sequence[RoomItem]) -> None:
        self.rooms = list(rooms)

    def set_title(self, title: str) -> None:
        self.title = title

    def set_banner(self, text: str | None) -> None:
        self.banner = text

    def set_outbox(self, lines: Sequence[str]) -> None:
        self.outbox = list(lines)

    def set_input(self, text: str) -> None:
        self.input = text

    def ring_bell(self) -> None:
        self.bells += 1

    def set_security(self, text: str, *, warning: bool) -> None:
        self.security = (text, warning)

    def ask(self, question: Question) -> None:
        self.questions.append(question)

    def show_alert(self, alert: Alert) -> None:
        self.alerts.append(alert)

    # -- for assertions -------------------------------------------------------------------------

    def texts(self, key: str) -> list[str]:
        return [line.text for line in self.logs[key]]

    def last(self, key: str) -> LogLine:
        return self.logs[key][-1]


class FakeSession:
    """Records commands; ``connected`` decides whether :meth:`send` succeeds."""

    def __init__(self, target: ConnectTarget, listener: SessionListener) -> None:
        self.target = target
        self.listener = listener
        self.sent: list[ClientCommand] = []
        self.connected = False
        self.closed = False

    def send(self, command: ClientCommand) -> bool:
        if not self.connected or self.closed:
            return False
        self.sent.append(command)
        return True

    def close(self) -> None:
        self.closed = True
        self.connected = False

    def emit(self, event: SessionEvent) -> None:
        """What the network thread does: call the listener."""
        self.listener(event)

    def take(self) -> list[ClientCommand]:
        sent, self.sent = self.sent, []
        return sent


class FakeSessions:
    """The session opener: every session it opened, newest last."""

    def __init__(self) -> None:
        self.opened: list[FakeSession] = []

    def __call__(self, target: ConnectTarget, listener: SessionListener) -> FakeSession:
        session = FakeSession(target, listener)
        self.opened.append(session)
        return session

    @property
    def last(self) -> FakeSession:
        return self.opened[-1]


class MemoryPreferences:
    def __init__(self, last: LastConnection | None = None) -> None:
        self.last = last

    def load(self) -> LastConnection | None:
        return self.last

    def save(self, last: LastConnection) -> None:
        self.last = last


class StaticDirectory:
    """A server directory whose entries (and state) a test sets."""

    def __init__(self) -> None:
        self.entries: tuple[ServerEntry, ...] = ()
        self.searching = False
        self.problem: str | None = None

    def snapshot(self) -> ServerListing:
        return ServerListing(servers=self.entries, searching=self.searching, problem=self.problem)


class MemoryTrust:
    """Trust decisions kept in dictionaries; ``broken`` makes saving fail like a full disk."""

    def __init__(self) -> None:
        self.pins: dict[str, str] = {}
        self.unencrypted: set[str] = set()
        self.broken = False

    def pin(self, address: str, fingerprint: str) -> None:
        if self.broken:
            raise OSError("No space left on device")
        self.pins[address] = fingerprint

    def allow_unencrypted(self, address: str) -> None:
        if self.broken:
            raise OSError("No space left on device")
        self.unencrypted.add(address)
