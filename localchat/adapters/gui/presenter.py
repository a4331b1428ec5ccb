"""The chat client's decisions, for any view: the humble-view presenter (ARCHITECTURE §7).

:class:`ChatPresenter` turns what the person does (intents, called by a view) into session
commands, and what the session reports (events) into calls on a :class:`ChatView`: which
conversations exist, what each log line says, who is in the room, the unread counts, the
connection banner and the outbox. It imports no GUI toolkit and no socket code; the Tk view
and the terminal view both drive it, and the tests drive it with a ``FakeView``.

Trust: when a session stops because it cannot trust the server by itself (first contact with
a certificate, a server without encryption, a changed certificate), the presenter decides
what the person sees: a :class:`~localchat.adapters.gui.trust.Question` (on yes the answer
is recorded through :class:`~localchat.ports.session.ServerTrust` and a new session
connects), or a loud :class:`~localchat.adapters.gui.trust.Alert` and the connect dialog.
It also keeps the "encrypted / NOT ENCRYPTED" indicator up to date.

Threading: the session reports on its network thread through :meth:`ChatPresenter.post`,
which only queues. Everything else, :meth:`ChatPresenter.pump` included, runs on the view's
thread (the Tk main loop drains the queue with ``after``). Each pump handles a batch of
events, only noting what changed, and then draws it in one flush: every conversation gets its
new lines in one call, and the member list, the room list, the tab labels, the title and the
outbox are each drawn at most once. So a flood of messages, joins or echoes costs one redraw
of each per pump, not one per event.
"""

from __future__ import annotations

import dataclasses
import enum
import queue
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Protocol

from localchat.adapters.gui import slash, trust
from localchat.adapters.gui.connect import NAME_REFUSED, ConnectForm, ConnectPresenter, Field
from localchat.adapters.gui.formatting import (
    LineKind,
    LogLine,
    Span,
    clock_time,
    mentions,
    name_colour,
    spans,
)
from localchat.adapters.gui.outbox import Outbox, OutboxEntry, Request, RequestLog
from localchat.adapters.gui.preferences import LastConnection, PreferenceStore, with_recent
from localchat.adapters.gui.trust import Alert, Question
from localchat.adapters.tls.known_servers import forget_command
from localchat.domain.commands import (
    FetchHistory,
    JoinRoom,
    LeaveRoom,
    ListRooms,
    ListUsers,
    PostMessage,
    SendDirect,
)
from localchat.domain.errors import (
    AlreadyInRoom,
    AuthFailed,
    InvalidName,
    InvalidRoom,
    InvalidText,
    NameTaken,
    NoSuchRoom,
    NoSuchUser,
    NotInRoom,
    ServerFull,
    UnsupportedProtocol,
)
from localchat.domain.events import (
    CommandRejected,
    DirectSent,
    HistoryFetched,
    MessagePosted,
    RoomsListed,
    UserJoined,
    UserLeft,
    UsersListed,
    Welcomed,
)
from localchat.domain.model import LeaveReason, Message
from localchat.domain.names import LOBBY, RoomName, name_key, sort_key
from localchat.domain.text import DEFAULT_MAX_TEXT_CHARS, check_text
from localchat.ports.clock import Clock
from localchat.ports.discovery import ServerDirectory, ServerEntry
from localchat.ports.session import (
    CertificateChanged,
    ChatSession,
    ClientCommand,
    ConnectionDropped,
    ConnectionOpened,
    ConnectTarget,
    ServerTrust,
    SessionEvent,
    SessionOpener,
    UnencryptedServerReached,
    UnknownCertificatePresented,
)

APP_NAME = "LocalChat"
MAX_LOG_LINES = 3000
"""Lines of text a conversation's log keeps (:attr:`LogLine.height`); older ones are dropped
(views enforce it on insert)."""
HISTORY_PAGE = 50
RECALL_LINES = 500
"""Typed lines that Up can bring back."""
EVENTS_PER_PUMP = 500
"""At most this many events per pump, so the view stays responsive under a flood."""
BANNER_RECONNECTING = "Disconnected — reconnecting…"


class _Panel(enum.Enum):
    """A part of the window the presenter redraws whole, at most once per flush."""

    MEMBERS = "members"
    ROOMS = "rooms"
    TITLE = "title"
    OUTBOX = "outbox"


@dataclass(frozen=True, slots=True, kw_only=True)
class RoomItem:
    """One entry of the room list: a room on the server, and whether the person is in it."""

    room: str
    label: str
    joined: bool


class ChatView(Protocol):
    """What the presenter asks of a view; a view only draws and forwards intents."""

    def show_connect_dialog(self, dialog: ConnectPresenter) -> None:
        """Open the connect dialog, drawn by ``dialog`` (call ``dialog.attach(view)``)."""
        ...

    def show_chat(self) -> None:
        """Show the main window (the first connection succeeded)."""
        ...

    def close(self) -> None:
        """Close every window; the program ends."""
        ...

    def add_conversation(self, key: str, label: str) -> None: ...

    def remove_conversation(self, key: str) -> None: ...

    def select_conversation(self, key: str) -> None: ...

    def set_conversation_label(self, key: str, label: str) -> None: ...

    def append_lines(self, key: str, lines: Sequence[LogLine]) -> None:
        """Add lines at the bottom of a log, dropping the oldest beyond ``MAX_LOG_LINES``;
        follow the bottom unless the person scrolled up."""
        ...

    def prepend_lines(self, key: str, lines: Sequence[LogLine]) -> None:
        """Add older lines at the top of a log without moving what the person sees."""
        ...

    def show_members(self, names: Sequence[str]) -> None:
        """The member list beside the log (of the selected conversation)."""
        ...

    def show_rooms(self, rooms: Sequence[RoomItem]) -> None: ...

    def set_title(self, title: str) -> None: ...

    def set_banner(self, text: str | None) -> None:
        """A line above the log about the connection; None hides it."""
        ...

    def set_security(self, text: str, *, warning: bool) -> None:
        """The status line about the connection's protection; ``warning``: show it loudly
        (the chat is not encrypted)."""
        ...

    def ask(self, question: Question) -> None:
        """Ask a yes/no question (a dialog); answer with ``ChatIntents.answer``."""
        ...

    def show_alert(self, alert: Alert) -> None:
        """Show a loud warning the person must read (one button to close it)."""
        ...

    def set_outbox(self, lines: Sequence[str]) -> None:
        """Lines typed but not sent yet (empty: hide the outbox)."""
        ...

    def set_input(self, text: str) -> None:
        """Replace the input line's text (cleared after a send, or a recalled line)."""
        ...

    def ring_bell(self) -> None: ...


class ChatIntents(Protocol):
    """What a view may tell the presenter (the person's intents), and the pump it runs."""

    @property
    def unacknowledged(self) -> int: ...

    @property
    def awaiting_answers(self) -> bool: ...

    def pump(self, limit: int = EVENTS_PER_PUMP) -> bool: ...

    def submit(self, text: str) -> None: ...

    def recall(self, step: int) -> None: ...

    def users_clicked(self) -> None: ...

    def add_room_clicked(self) -> None: ...

    def conversation_selected(self, key: str) -> None: ...

    def room_activated(self, room: str) -> None: ...

    def member_activated(self, name: str) -> None: ...

    def scrolled_to_top(self, key: str) -> None: ...

    def focus_changed(self, focused: bool) -> None: ...

    def answer(self, question: Question, yes: bool) -> None: ...

    def quit(self) -> None: ...


@dataclass(slots=True)
class Conversation:
    """A room or a direct conversation, as the presenter tracks it."""

    key: str
    title: str
    room: RoomName | None = None
    """The room, for a room's conversation; None for a direct conversation."""
    peer: str = ""
    """For a direct conversation: the other person's name as last seen."""
    members: dict[str, str] = field(default_factory=dict)
    """Who is in it: display names by name key (sorted only when drawn)."""
    unread: int = 0
    mentioned: bool = False
    oldest_seq: int | None = None
    newest_seq: int | None = None
    loading_older: bool = False
    complete: bool = False
    """Nothing older to load (the start of the room's history was reached)."""
    active: bool = True
    """Still a member (a room the person left stays open only if it is the last tab)."""
    lines: int = 0
    """Lines of text in the view's log (:attr:`LogLine.height`), at most ``MAX_LOG_LINES``."""

    def grew(self, lines: Sequence[LogLine]) -> None:
        """Count lines added to the log (the view drops the oldest beyond the cap)."""
        self.lines = min(MAX_LOG_LINES, self.lines + sum(line.height for line in lines))

    def set_members(self, names: Iterable[str]) -> None:
        self.members = {name_key(name): name for name in names}

    @property
    def label(self) -> str:
        if not self.unread:
            return self.title
        return f"{self.title} ({self.unread}{'!' if self.mentioned else ''})"


def room_key(room: RoomName) -> str:
    return room.canonical


def direct_key(name: str) -> str:
    return "@" + name_key(name)


FRIENDLY_REFUSALS = {
    NameTaken.code: "That name is taken — choose another",
    InvalidName.code: NAME_REFUSED,
    ServerFull.code: "The server is full — try again later",
    UnsupportedProtocol.code: "This server speaks another version of the LocalChat protocol",
    # the connection's own codes (the presenter knows no wire module): literal
    "shutting_down": "The server is shutting down or restarting",
    "timeout": "The server dropped the connection after a silence",
    "slow_consumer": "The connection was too slow to keep up with the chat",
    "tls_required": (
        "This server requires encryption: connect with TLS (without --no-tls, and without "
        "LOCALCHAT_TLS=false)"
    ),
}


class ChatPresenter:
    """See the module docstring. Construct, then :meth:`start`."""

    def __init__(
        self,
        view: ChatView,
        open_session: SessionOpener,
        *,
        clock: Clock,
        preferences: PreferenceStore | None = None,
        directory: ServerDirectory | None = None,
        trust: ServerTrust | None = None,
        fallback_password: str | None = None,
        zone: tzinfo | None = None,
    ) -> None:
        self._view = view
        self._open_session = open_session
        self._clock = clock
        self._preferences = preferences
        self._directory = directory
        self._trust = trust
        self._fallback_password = fallback_password
        self._zone = zone
        self._inbox: queue.SimpleQueue[tuple[int, SessionEvent]] = queue.SimpleQueue()
        self._generation = 0
        self._session: ChatSession | None = None
        self._target: ConnectTarget | None = None
        self._form = ConnectForm()
        self._dialog: ConnectPresenter | None = None
        self._me = ""
        self._welcomed = False
        """The current session has been welcomed: its server is remembered in the preferences
        (once per session, not at every reconnect: a disk write on the view's thread)."""
        self._chat_shown = False
        self._online = False
        self._dropped_notice = False
        self._max_text_chars = DEFAULT_MAX_TEXT_CHARS
        self._conversations: dict[str, Conversation] = {}
        self._selected: str | None = None
        self._server_rooms: dict[str, int] = {}
        self._outbox = Outbox()
        self._requests = RequestLog()
        self._typed: list[str] = []
        self._recall_at = 0
        self._focused = True
        self._unseen = 0
        self._pending: dict[str, list[LogLine]] = {}
        """New log lines per conversation, handed to the view at the next flush."""
        self._stale_labels: set[str] = set()
        self._stale: set[_Panel] = set()
        """What the next flush redraws (each at most once)."""
        self._closed = False
        self._opened: ConnectionOpened | None = None
        """How the current connection is protected (None: not reported)."""
        self._announced: ConnectionOpened | None = None
        """The protection last told to the person, to say it again only when it changes."""
        self._asked: Question | None = None
        self._on_yes: Callable[[], None] = lambda: None
        self._declined = ""

    # -- starting and stopping ------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def unacknowledged(self) -> int:
        """Lines typed that the server has not echoed yet (waiting or in flight)."""
        return len(self._outbox)

    @property
    def awaiting_answers(self) -> bool:
        """Requests sent on this connection are still unanswered (a script may wait)."""
        return len(self._requests) > 0

    def start(self, target: ConnectTarget | None, form: ConnectForm) -> None:
        """Connect to ``target``, or open the dialog (pre-filled with ``form``) if None."""
        self._form = form
        self._stale.add(_Panel.TITLE)
        if target is None:
            self._open_dialog(form, focus=form.focus)
        else:
            self._connect(target)
        self._flush()

    def quit(self) -> None:
        """Leave cleanly: ``bye`` to the server, then close the windows."""
        if self._closed:
            return
        self._closed = True
        session, self._session = self._session, None
        if session is not None:
            session.close()
        if self._dialog is not None:
            self._dialog.close()
            self._dialog = None
        self._view.close()

    def _open_dialog(
        self, form: ConnectForm, error: str = "", focus: Field = "host", ask_password: bool = False
    ) -> None:
        dialog = self._dialog
        fresh = dialog is None or dialog.closed
        if fresh:
            dialog = self._dialog = ConnectPresenter(
                form,
                on_submit=self._connect,
                on_cancel=self.quit,
                directory=self._directory,
                remembered=self._recent_servers(),
                fallback_password=self._fallback_password,
            )
        assert dialog is not None
        dialog.failed(error, focus=focus, ask_password=ask_password)
        if fresh:
            self._view.show_connect_dialog(dialog)

    def _connect(self, target: ConnectTarget) -> None:
        old, self._session = self._session, None
        if old is not None:
            old.close()
        carried = tuple(
            c.key
            for c in self._conversations.values()
            if c.room is not None and c.active and c.room != LOBBY
        )
        target = dataclasses.replace(target, rooms=carried)
        self._target = target
        self._form = dataclasses.replace(
            self._form, host=target.host, port=str(target.port), name=target.name
        )
        self._generation += 1
        self._welcomed = False
        self._online = False
        self._opened = None
        self._asked = None
        generation = self._generation
        self._session = self._open_session(target, lambda event: self.post(event, generation))

    # -- events from the session ----------------------------------------------------------------

    def post(self, event: SessionEvent, generation: int) -> None:
        """Queue a session event; safe from any thread (the session's listener)."""
        self._inbox.put((generation, event))

    def pump(self, limit: int = EVENTS_PER_PUMP) -> bool:
        """Handle up to ``limit`` queued events (view thread); True if more are waiting."""
        events: list[SessionEvent] = []
        while len(events) < limit:
            try:
                generation, event = self._inbox.get_nowait()
            except queue.Empty:
                break
            if generation == self._generation:
                events.append(event)
        if events:
            self.handle(events)
        return not self._inbox.empty()

    def handle(self, events: Sequence[SessionEvent]) -> None:
        """Apply events in order, then draw what changed (view thread)."""
        for event in events:
            if self._closed:
                return
            self._handle(event)
        self._flush()

    def _handle(self, event: SessionEvent) -> None:
        match event:
            case Welcomed():
                self._welcomed_event(event)
            case MessagePosted(message=message):
                self._message(message)
            case DirectSent():
                self._direct(event)
            case UserJoined():
                self._joined(event)
            case UserLeft():
                self._left(event)
            case UsersListed():
                self._users_listed(event)
            case RoomsListed():
                self._rooms_listed(event)
            case HistoryFetched():
                self._history(event)
            case CommandRejected():
                self._rejected(event)
            case ConnectionDropped():
                self._dropped(event)
            case ConnectionOpened():
                self._opened = event
            case UnknownCertificatePresented():
                self._certificate_unknown(event)
            case CertificateChanged():
                self._refuse(
                    trust.certificate_changed(event.address, event.pinned, event.presented),
                    f"the certificate of {event.address} has changed",
                    event.address,
                )
            case UnencryptedServerReached():
                self._unencrypted(event)

    def _welcomed_event(self, event: Welcomed) -> None:
        self._me = event.name
        self._online = True
        self._requests.clear()
        self._max_text_chars = event.max_text_chars
        if self._dialog is not None:
            self._dialog.close()
            self._dialog = None
        if not self._chat_shown:
            self._chat_shown = True
            self._view.show_chat()
        if not self._welcomed:
            self._welcomed = True
            self._remember_server(event.name)
        self._view.set_banner(None)
        if self._dropped_notice:
            self._tell_everywhere("Reconnected.")
        self._dropped_notice = False
        first_time = LOBBY.canonical not in self._conversations
        lobby = self._ensure_room(LOBBY)
        lobby.active = True
        if first_time and self._target is not None:
            self._system(
                lobby.key,
                f"Connected to {self._target.address} as {event.name}. Type /help for commands.",
            )
        self._announce_protection(lobby.key)
        lobby.set_members(event.users)
        if self._selected is None:
            self._select(lobby.key)
        else:
            self._members_changed(lobby)
        self._stale.add(_Panel.TITLE)
        self._request(ListRooms())
        self._send_outbox()

    def _remember_server(self, name: str) -> None:
        """Save the server and name that worked, for the next connect dialog."""
        if self._target is None or self._preferences is None:
            return
        t = self._target
        recent = with_recent(
            self._recent_servers(), ServerEntry(label=t.label, host=t.host, port=t.port)
        )
        self._preferences.save(LastConnection(host=t.host, port=t.port, name=name, recent=recent))

    def _dropped(self, event: ConnectionDropped) -> None:
        was_online = self._online
        self._online = False
        self._outbox.connection_lost()
        self._requests.clear()
        for conversation in self._conversations.values():
            conversation.loading_older = False
        self._stale.add(_Panel.OUTBOX)
        reason = FRIENDLY_REFUSALS.get(event.code or "", event.reason)
        if event.code == NameTaken.code and event.retry_in is not None:
            reason = "the server still holds your name from the lost connection"
        if event.retry_in is None:
            self._gave_up(event, reason)
            return
        seconds = max(1, round(event.retry_in))
        self._view.set_banner(f"{BANNER_RECONNECTING} ({reason}; next try in {seconds} s)")
        if was_online and not self._dropped_notice:
            self._dropped_notice = True
            self._tell_everywhere(f"Disconnected: {reason}", LineKind.ERROR)

    def _gave_up(self, event: ConnectionDropped, reason: str) -> None:
        """The session stopped trying: the person must choose (another name, a password)."""
        focus: Field = "host"
        ask_password = False
        if event.code in (NameTaken.code, InvalidName.code):
            focus = "name"
        elif event.code == AuthFailed.code:
            focus, ask_password = "password", True
            given = self._target is not None and self._target.password is not None
            reason = "Wrong password — try again" if given else "This server needs a password"
        self._stop(reason, focus, ask_password)

    def _stop(self, reason: str, focus: Field = "host", ask_password: bool = False) -> None:
        """No session any more: say why, in the window if it is open, and in the dialog."""
        self._session = None
        if self._chat_shown:
            self._view.set_banner(f"Disconnected: {reason}")
            self._tell_everywhere(f"Disconnected: {reason}", LineKind.ERROR)
        self._open_dialog(self._form, reason, focus, ask_password)

    # -- trust ----------------------------------------------------------------------------------

    def _certificate_unknown(self, event: UnknownCertificatePresented) -> None:
        self._ask(
            trust.first_contact(event.address, event.fingerprint, event.advertised),
            on_yes=lambda trusted: trusted.pin(event.address, event.fingerprint),
            declined=f"Not connected: you did not trust the certificate of {event.address}",
        )

    def _unencrypted(self, event: UnencryptedServerReached) -> None:
        if event.pinned is not None:  # it encrypted before: a downgrade, never accepted
            self._refuse(
                trust.encryption_dropped(event.address, event.pinned),
                f"{event.address} no longer encrypts",
                event.address,
            )
            return
        target = self._target
        self._ask(
            trust.unencrypted(
                event.address,
                announced_tls=target is not None and target.advertised_fingerprint is not None,
                password=target is not None and target.password is not None,
            ),
            on_yes=lambda trusted: trusted.allow_unencrypted(event.address),
            declined=f"Not connected: {event.address} does not encrypt",
        )

    def _refuse(self, alert: Alert, what: str, address: str) -> None:
        """A trusted server is not what it was: say so loudly, and how to undo the trust."""
        self._view.show_alert(alert)
        self._stop(f"Refused: {what}. If the operator confirms it, run: {forget_command(address)}")

    def _ask(
        self, question: Question, *, on_yes: Callable[[ServerTrust], None], declined: str
    ) -> None:
        """The session stopped at a server it cannot trust alone: ask the person."""
        self._session = None
        store = self._trust
        if store is None:  # nowhere to keep the answer: asking would loop
            self._stop(declined)
            return
        self._asked = question
        self._on_yes = lambda: on_yes(store)
        self._declined = declined
        if self._chat_shown:
            self._view.set_banner(f"Disconnected: {question.title}")
        self._view.ask(question)

    def answer(self, question: Question, yes: bool) -> None:
        """The person answered ``question`` (a stale one is ignored)."""
        if self._closed or question is not self._asked:
            return
        self._asked = None
        if not yes:
            self._stop(self._declined)
        else:
            try:
                self._on_yes()
            except (OSError, ValueError) as error:
                self._stop(f"Cannot remember your answer: {error}")
            else:
                if self._target is not None:
                    self._connect(self._target)
        self._flush()

    def _announce_protection(self, lobby: str) -> None:
        """After a welcome: the indicator, and a line in the lobby when it changed."""
        opened = self._opened
        if opened is None or opened == self._announced:
            return
        self._announced = opened
        encrypted = opened.fingerprint is not None
        self._view.set_security(trust.security_note(opened.fingerprint), warning=not encrypted)
        if encrypted:
            self._system(
                lobby, f"The connection is encrypted; server certificate {opened.fingerprint}"
            )
        else:
            self._system(
                lobby,
                "This connection is NOT encrypted: anyone on the network can read this chat.",
                LineKind.ERROR,
            )

    def _recent_servers(self) -> tuple[ServerEntry, ...]:
        last = self._preferences.load() if self._preferences is not None else None
        return () if last is None else last.recent

    def _message(self, message: Message) -> None:
        conversation = self._conversations.get(room_key(message.room))
        if conversation is None:
            return  # a message for a room just left
        own = self._is_me(message.sender)
        if own:
            self._settle(
                lambda c: (
                    isinstance(c, PostMessage) and c.room == message.room and c.text == message.text
                )
            )
        if conversation.newest_seq is not None and message.seq <= conversation.newest_seq:
            conversation.oldest_seq = message.seq  # the server's counter restarted
        conversation.newest_seq = message.seq
        if conversation.oldest_seq is None:
            conversation.oldest_seq = message.seq
        mentioned = not own and mentions(message.text, self._me)
        kind = LineKind.OWN if own else LineKind.MENTION if mentioned else LineKind.MESSAGE
        self._add(
            conversation.key, self._chat_line(kind, message.sender, message.text, message.sent_at)
        )
        if not own:
            self._arrived(conversation, mentioned=mentioned, ring=mentioned)

    def _direct(self, event: DirectSent) -> None:
        own = self._is_me(event.sender)
        peer = event.to if own else event.sender
        conversation = self._ensure_direct(peer)
        if own:
            self._settle(
                lambda c: (
                    isinstance(c, SendDirect)
                    and name_key(c.to) == name_key(event.to)
                    and c.text == event.text
                )
            )
        kind = LineKind.OWN if own else LineKind.DIRECT
        self._add(conversation.key, self._chat_line(kind, event.sender, event.text, event.sent_at))
        if not own:
            self._arrived(conversation, mentioned=True, ring=True)

    def _joined(self, event: UserJoined) -> None:
        key = room_key(event.room)
        if self._is_me(event.name):
            request = self._requests.answer(
                lambda c: isinstance(c, JoinRoom) and c.room == event.room
            )
            existing = self._conversations.get(key)
            conversation = self._ensure_room(event.room)
            conversation.active = True
            if existing is None or not existing.active:
                self._system(key, f"You joined {key}", at=event.at)
                self._stale.add(_Panel.ROOMS)
            if request is not None:
                self._select(key)
            self._request(ListRooms())
            return
        room = self._conversations.get(key)
        if room is None:
            return
        room.members.setdefault(name_key(event.name), event.name)
        self._system(key, f"{event.name} joined {key}", at=event.at)
        self._members_changed(room)

    def _left(self, event: UserLeft) -> None:
        key = room_key(event.room)
        conversation = self._conversations.get(key)
        if self._is_me(event.name):
            self._requests.answer(lambda c: isinstance(c, LeaveRoom) and c.room == event.room)
            if conversation is not None:
                self._close_conversation(conversation, f"You left {key}")
            self._request(ListRooms())
            return
        if conversation is None:
            return
        conversation.members.pop(name_key(event.name), None)
        self._system(key, self._departure(event), at=event.at)
        self._members_changed(conversation)

    @staticmethod
    def _departure(event: UserLeft) -> str:
        name, room = event.name, event.room.canonical
        return {
            LeaveReason.LEAVE: f"{name} left {room}",
            LeaveReason.QUIT: f"{name} quit",
            LeaveReason.DISCONNECTED: f"{name} lost the connection",
            LeaveReason.TIMEOUT: f"{name} timed out",
            LeaveReason.KICKED: f"{name} was removed from {room}",
        }[event.reason]

    def _users_listed(self, event: UsersListed) -> None:
        request = self._requests.answer(lambda c: isinstance(c, ListUsers) and c.room == event.room)
        conversation = self._conversations.get(room_key(event.room))
        if conversation is not None:
            conversation.set_members(event.users)
            self._members_changed(conversation)
        if request is not None and request.visible:
            where = request.conversation or self._selected
            if where is not None:
                names = ", ".join(event.users)
                self._system(where, f"In {event.room} ({len(event.users)}): {names}")

    def _rooms_listed(self, event: RoomsListed) -> None:
        request = self._requests.answer(lambda c: isinstance(c, ListRooms))
        self._server_rooms = {r.room.canonical: r.members for r in event.rooms}
        self._stale.add(_Panel.ROOMS)
        if request is not None and request.visible:
            where = request.conversation or self._selected
            if where is not None:
                listed = ", ".join(f"{r.room} ({r.members})" for r in event.rooms)
                self._system(where, f"Rooms: {listed or 'none'}")

    def _history(self, event: HistoryFetched) -> None:
        request = self._requests.answer(
            lambda c: isinstance(c, FetchHistory) and c.room == event.room
        )
        conversation = self._conversations.get(room_key(event.room))
        if conversation is None:
            return
        messages = list(event.messages)
        page_limit = (
            request.command.limit
            if request is not None and isinstance(request.command, FetchHistory)
            else None
        )
        if page_limit is not None:
            conversation.loading_older = False
        oldest, newest = conversation.oldest_seq, conversation.newest_seq
        if page_limit is None and newest is not None and messages and messages[-1].seq < newest:
            oldest = newest = None  # the server restarted without its history: start over
        older = [m for m in messages if oldest is not None and m.seq < oldest]
        newer = [m for m in messages if newest is None or m.seq > newest]
        if older:
            lines = [self._history_line(m) for m in older]
            conversation.grew(lines)
            self._flush_lines()  # keep the order: pending appends first
            self._view.prepend_lines(conversation.key, lines)
            conversation.oldest_seq = older[0].seq
        for message in newer:
            self._add(conversation.key, self._history_line(message))
        if newer:
            conversation.newest_seq = newer[-1].seq
            if oldest is None:
                conversation.oldest_seq = newer[0].seq
        if conversation.oldest_seq == 1 or (page_limit is not None and len(messages) < page_limit):
            conversation.complete = True

    def _rejected(self, event: CommandRejected) -> None:
        request = self._requests.reject()
        where = (request.conversation if request else None) or self._selected
        message = self._explain(event, request)
        self._settle_request(request)
        if request is not None and isinstance(request.command, FetchHistory):
            conversation = self._conversations.get(request.conversation or "")
            if conversation is not None:
                conversation.loading_older = False
                conversation.complete = True
        if where is not None:
            self._system(where, message, LineKind.ERROR)

    def _explain(self, event: CommandRejected, request: Request | None) -> str:
        command = request.command if request is not None else None
        detail = event.message[:1].upper() + event.message[1:]
        match command, event.code:
            case SendDirect(to=to, text=text), NoSuchUser.code:
                return f"Not delivered: nobody called {to} is online. ({_quote(text)})"
            case PostMessage(room=room, text=text), NotInRoom.code:
                return f"Not sent: you are not in {room}. ({_quote(text)})"
            case PostMessage(text=text) | SendDirect(text=text), _:
                return f"Not sent: {detail}. ({_quote(text)})"
            case JoinRoom(room=room), AlreadyInRoom.code:
                return f"You are already in {room}"
            case ListUsers(room=room), NoSuchRoom.code:
                return f"There is no room {room}"
        return f"{detail}"

    # -- intents from the view ------------------------------------------------------------------

    def submit(self, text: str) -> None:
        """Enter or the Send button: a line of text or a slash command."""
        if self._closed or not text.strip():
            return
        intent = slash.parse_line(text)
        if not isinstance(intent, slash.Mistake):
            self._remember(text)
        if self._do(intent):
            self._view.set_input("")
        self._flush()

    def _do(self, intent: slash.Intent) -> bool:
        """Carry out an intent; False keeps the input line as typed (nothing was done)."""
        match intent:
            case slash.Say(text=text):
                return self._say(text)
            case slash.Join(room=room):
                existing = self._conversations.get(room_key(room))
                if existing is not None and existing.active:
                    self._select(existing.key)
                    return True
                return self._request(JoinRoom(room=room), conversation=self._selected, needed=True)
            case slash.Leave(target=target):
                return self._leave(target)
            case slash.Msg(to=to, text=text):
                return self._msg(to, text)
            case slash.Users(room=room):
                return self._list_users(room)
            case slash.Rooms():
                return self._request(
                    ListRooms(), conversation=self._selected, visible=True, needed=True
                )
            case slash.Switch(target=target):
                found = self._find(target)
                if found is None:
                    return self._error_here(f"No open conversation called {target}")
                self._select(found.key)
                return True
            case slash.Help():
                where = self._selected
                if where is not None:
                    self._system(where, "Commands:")
                    for usage, meaning in slash.HELP:
                        self._system(where, f"  {usage:<20} {meaning}")
                    self._system(where, "Enter sends, Shift+Enter starts a new line, Up recalls.")
                return True
            case slash.Quit():
                self.quit()
                return True
            case slash.Mistake(message=message):
                return self._error_here(message)
        return False  # pragma: no cover

    def _say(self, text: str) -> bool:
        conversation = self._conversations.get(self._selected or "")
        if conversation is None:
            return self._error_here("Not connected yet")
        if not self._text_ok(text):
            return False
        if conversation.room is not None:
            if not conversation.active:
                return self._error_here(
                    f"You are not in {conversation.key}: /join {conversation.key} to go back"
                )
            command: PostMessage | SendDirect = PostMessage(text=text, room=conversation.room)
        else:
            command = SendDirect(to=conversation.peer, text=text)
        self._queue_line(conversation.key, command)
        return True

    def _msg(self, to: str, text: str) -> bool:
        if text and not self._text_ok(text):
            return False
        conversation = self._ensure_direct(to)
        self._select(conversation.key)
        if text:
            self._queue_line(conversation.key, SendDirect(to=to, text=text))
        return True

    def _leave(self, target: str | None) -> bool:
        conversation = (
            self._find(target) if target else self._conversations.get(self._selected or "")
        )
        if conversation is None:
            if target is not None and target.startswith("#"):
                try:
                    room = slash.room_argument(target)
                except InvalidRoom:
                    return self._error_here(f"{target!r} is not a room name")
                return self._request(LeaveRoom(room=room), conversation=self._selected, needed=True)
            return self._error_here(f"No open conversation called {target}")
        if conversation.room is None or not conversation.active:
            self._close_conversation(conversation, "")
            return True
        return self._request(
            LeaveRoom(room=conversation.room), conversation=conversation.key, needed=True
        )

    def _list_users(self, room: RoomName | None) -> bool:
        if room is None:
            current = self._conversations.get(self._selected or "")
            room = current.room if current is not None and current.room is not None else LOBBY
        return self._request(
            ListUsers(room=room), conversation=self._selected, visible=True, needed=True
        )

    def users_clicked(self) -> None:
        """The Users button: the member list of the current room, printed into its log."""
        if not self._closed:
            self._list_users(None)
            self._flush()

    def add_room_clicked(self) -> None:
        """The "+" button: start a /join for the person to complete."""
        self._view.set_input("/join #")

    def conversation_selected(self, key: str) -> None:
        """The person picked a tab."""
        if key in self._conversations and key != self._selected:
            self._select(key)
            self._flush()

    def room_activated(self, room: str) -> None:
        """A click in the room list: show the room, joining it first if needed."""
        try:
            name = RoomName.parse(room)
        except InvalidRoom:
            return
        self._do(slash.Join(room=name))
        self._flush()

    def member_activated(self, name: str) -> None:
        """A double click on a member: a direct conversation with them."""
        if name and not self._is_me(name):
            self._msg(name, "")
            self._flush()

    def scrolled_to_top(self, key: str) -> None:
        """The person scrolled to the top of a room's log: fetch an older page."""
        conversation = self._conversations.get(key)
        if (
            conversation is None
            or conversation.room is None
            or not conversation.active
            or conversation.loading_older
            or conversation.complete
            or conversation.oldest_seq is None
            or conversation.lines >= MAX_LOG_LINES
        ):
            return
        command = FetchHistory(
            room=conversation.room, before=conversation.oldest_seq, limit=HISTORY_PAGE
        )
        if self._request(command, conversation=key):
            conversation.loading_older = True

    def focus_changed(self, focused: bool) -> None:
        self._focused = focused
        if focused:
            self._unseen = 0
            self._stale.add(_Panel.TITLE)
            self._flush()

    def recall(self, step: int) -> None:
        """Up (-1) and Down (+1) walk through the lines typed before."""
        if not self._typed:
            return
        self._recall_at = max(0, min(len(self._typed), self._recall_at + step))
        text = self._typed[self._recall_at] if self._recall_at < len(self._typed) else ""
        self._view.set_input(text)

    # -- helpers --------------------------------------------------------------------------------

    def _is_me(self, name: str) -> bool:
        return bool(self._me) and name_key(name) == name_key(self._me)

    def _remember(self, text: str) -> None:
        if not self._typed or self._typed[-1] != text:
            self._typed.append(text)
            del self._typed[:-RECALL_LINES]
        self._recall_at = len(self._typed)

    def _text_ok(self, text: str) -> bool:
        try:
            check_text(text, self._max_text_chars)
        except InvalidText as error:
            self._error_here(f"Not sent: {error.message}")
            return False
        return True

    def _error_here(self, message: str) -> bool:
        """Show an error in the current conversation; returns False (input kept)."""
        if self._selected is not None:
            self._system(self._selected, message, LineKind.ERROR)
        return False

    def _request(
        self,
        command: ClientCommand,
        *,
        conversation: str | None = None,
        visible: bool = False,
        needed: bool = False,
    ) -> bool:
        """Send a command now. Offline, a person's request (``needed``) gets an error."""
        session = self._session
        if self._online and session is not None and session.send(command):
            self._requests.add(Request(command, conversation=conversation, visible=visible))
            return True
        if needed:
            self._error_here("Not connected — try again when the connection is back")
        return False

    def _queue_line(self, conversation: str, command: PostMessage | SendDirect) -> None:
        self._outbox.add(conversation, command)
        self._send_outbox()

    def _send_outbox(self) -> None:
        session = self._session
        if self._online and session is not None:
            for entry in self._outbox.waiting():
                if not session.send(entry.command):
                    break
                self._outbox.mark_sent(entry)
                self._requests.add(
                    Request(entry.command, conversation=entry.conversation, entry=entry)
                )
        self._stale.add(_Panel.OUTBOX)

    def _settle(self, matches: Callable[[ClientCommand], bool]) -> None:
        """The server echoed a line the person typed: it leaves the outbox."""
        self._settle_request(self._requests.answer(matches))

    def _settle_request(self, request: Request | None) -> None:
        """An answered (or rejected) request: a typed line it carried leaves the outbox."""
        if request is not None and request.entry is not None:
            self._outbox.settle(request.entry)
            self._stale.add(_Panel.OUTBOX)

    def _draw_outbox(self) -> None:
        waiting: list[OutboxEntry] = self._outbox.waiting()
        titles = {key: c.title for key, c in self._conversations.items()}
        self._view.set_outbox(
            [f"{titles.get(e.conversation, e.conversation)}: {e.text}" for e in waiting]
        )

    def _find(self, target: str) -> Conversation | None:
        if target.startswith("#"):
            try:
                return self._conversations.get(slash.room_argument(target).canonical)
            except InvalidRoom:
                return None
        return self._conversations.get(direct_key(target.lstrip("@")))

    def _ensure_room(self, room: RoomName) -> Conversation:
        key = room_key(room)
        conversation = self._conversations.get(key)
        if conversation is None:
            conversation = Conversation(key=key, title=key, room=room)
            self._conversations[key] = conversation
            self._view.add_conversation(key, conversation.label)
            self._stale.add(_Panel.ROOMS)
        return conversation

    def _ensure_direct(self, name: str) -> Conversation:
        key = direct_key(name)
        conversation = self._conversations.get(key)
        if conversation is None:
            conversation = Conversation(key=key, title="@" + name, peer=name)
            conversation.set_members(n for n in (self._me, name) if n)
            self._conversations[key] = conversation
            self._view.add_conversation(key, conversation.label)
        return conversation

    def _close_conversation(self, conversation: Conversation, notice: str) -> None:
        others = [key for key in self._conversations if key != conversation.key]
        if conversation.room is not None and not others:
            conversation.active = False
            conversation.members.clear()
            if notice:
                self._system(conversation.key, f"{notice}. Join a room with /join #name.")
            self._members_changed(conversation)
            return
        self._flush_lines()
        del self._conversations[conversation.key]
        self._pending.pop(conversation.key, None)
        self._view.remove_conversation(conversation.key)
        if self._selected == conversation.key:
            self._selected = None
            if others:
                self._select(others[0])
        self._stale.add(_Panel.ROOMS)

    def _select(self, key: str) -> None:
        conversation = self._conversations[key]
        self._selected = key
        conversation.unread = 0
        conversation.mentioned = False
        self._view.select_conversation(key)
        self._stale_labels.add(key)
        self._stale.add(_Panel.MEMBERS)

    def _members_changed(self, conversation: Conversation) -> None:
        if conversation.key == self._selected:
            self._stale.add(_Panel.MEMBERS)
        if conversation.room is not None:
            self._stale.add(_Panel.ROOMS)

    def _draw_members(self) -> None:
        conversation = self._conversations.get(self._selected or "")
        if conversation is not None:
            self._view.show_members(sorted(conversation.members.values(), key=sort_key))

    def _draw_rooms(self) -> None:
        rooms = dict(self._server_rooms)
        for c in self._conversations.values():
            if c.room is not None and c.active and c.members:
                rooms[c.key] = len(c.members)  # live, where we see the members
            elif c.room is not None and c.active:
                rooms.setdefault(c.key, 0)
        items = []
        for room in sorted(rooms):
            conversation = self._conversations.get(room)
            joined = conversation is not None and conversation.active
            items.append(RoomItem(room=room, label=f"{room} ({rooms[room]})", joined=joined))
        self._view.show_rooms(items)

    def _arrived(self, conversation: Conversation, *, mentioned: bool, ring: bool) -> None:
        """Someone else's message arrived: unread counts, title, bell."""
        if conversation.key != self._selected:
            conversation.unread += 1
            conversation.mentioned = conversation.mentioned or mentioned
            self._stale_labels.add(conversation.key)
        if not self._focused:
            self._unseen += 1
            self._stale.add(_Panel.TITLE)
            if ring:
                self._view.ring_bell()

    def _draw_title(self) -> None:
        title = APP_NAME
        if self._me and self._target is not None:
            title = f"{APP_NAME} — {self._me} on {self._target.address}"
            if self._opened is not None and self._opened.fingerprint is None:
                title += " (not encrypted)"
        if self._unseen and not self._focused:
            title = f"({self._unseen}) {title}"
        self._view.set_title(title)

    def _time(self, moment: datetime | None = None) -> str:
        return clock_time(moment if moment is not None else self._clock.now(), self._zone)

    def _chat_line(self, kind: LineKind, sender: str, text: str, at: datetime) -> LogLine:
        return LogLine(
            kind=kind,
            time=self._time(at),
            sender=sender,
            colour=name_colour(sender),
            spans=spans(text),
        )

    def _history_line(self, message: Message) -> LogLine:
        kind = LineKind.OWN if self._is_me(message.sender) else LineKind.MESSAGE
        return self._chat_line(kind, message.sender, message.text, message.sent_at)

    def _system(
        self, key: str, text: str, kind: LineKind = LineKind.SYSTEM, at: datetime | None = None
    ) -> None:
        self._add(key, LogLine(kind=kind, time=self._time(at), spans=(Span(text=text),)))

    def _tell_everywhere(self, text: str, kind: LineKind = LineKind.SYSTEM) -> None:
        """News about the connection, in every open conversation."""
        for conversation in self._conversations.values():
            self._system(conversation.key, text, kind)

    def _add(self, key: str, line: LogLine) -> None:
        self._pending.setdefault(key, []).append(line)
        conversation = self._conversations.get(key)
        if conversation is not None:
            conversation.grew((line,))

    def _flush_lines(self) -> None:
        pending, self._pending = self._pending, {}
        for key, lines in pending.items():
            if key in self._conversations:
                self._view.append_lines(key, lines)

    def _flush(self) -> None:
        """Draw what changed since the last flush: the new lines, then each panel once."""
        if self._closed:
            return
        self._flush_lines()
        labels, self._stale_labels = self._stale_labels, set()
        for key in labels:
            conversation = self._conversations.get(key)
            if conversation is not None:
                self._view.set_conversation_label(key, conversation.label)
        stale, self._stale = self._stale, set()
        for panel, draw in (
            (_Panel.MEMBERS, self._draw_members),
            (_Panel.ROOMS, self._draw_rooms),
            (_Panel.TITLE, self._draw_title),
            (_Panel.OUTBOX, self._draw_outbox),
        ):
            if panel in stale:
                draw()


def _quote(text: str, limit: int = 60) -> str:
    one_line = " ".join(text.split())
    return f"“{one_line[:limit]}…”" if len(one_line) > limit else f"“{one_line}”"
