"""A line-based view: events printed to stdout, lines and slash commands read from stdin.

For machines without a display and for scripts. It drives the same
:class:`~localchat.adapters.gui.presenter.ChatPresenter` as the Tk window, which is the proof
that every decision lives in the presenter: this view only prints and reads.

One thread reads stdin into a queue; the main thread alternates between pumping the
presenter and handing it the lines read. Lines typed before the first connection are held
until it is up; at the end of input the view waits (a few seconds at most) for the server
to acknowledge the lines already typed, then quits, so ``printf 'hi\\n' | localchat
run-client --terminal ...`` delivers ``hi``.

A question (trust a new server? connect without encryption?) is a ``[y/N]`` prompt: the next
line answers it, a line held from before included, and only ``y`` or ``yes`` means yes.
Servers found on the network (or used before) are listed, numbered, at the address prompt.
"""

from __future__ import annotations

import queue
import threading
import time
from collections import deque
from collections.abc import Sequence
from typing import TextIO

from localchat.adapters.gui.connect import FIELD_LABELS, ConnectForm, ConnectPresenter, Field
from localchat.adapters.gui.formatting import LineKind, LogLine
from localchat.adapters.gui.presenter import ChatIntents, RoomItem
from localchat.adapters.gui.trust import Alert, Question
from localchat.ports.discovery import ServerEntry

POLL_SECONDS = 0.05
DRAIN_SECONDS = 5.0
"""At the end of input, how long to wait for typed lines to be acknowledged."""
ANSWER_WAIT_SECONDS = 5.0
"""How long a line waits for the server to answer the line before it."""
CONNECT_WAIT_SECONDS = 15.0
"""At the end of input, how long to wait for a first connection still being made."""

_MARKS = {LineKind.SYSTEM: "*", LineKind.ERROR: "!"}


class _TerminalDialog:
    """The connect dialog as prompts: one field per input line, Enter keeps the default."""

    def __init__(self, out: TextIO, dialog: ConnectPresenter) -> None:
        self._out = out
        self._dialog = dialog
        self._form = ConnectForm()
        self._fields: list[Field] = []
        self._answers: dict[str, str] = {}
        self.closed = False

    @property
    def wants_input(self) -> bool:
        return not self.closed and not self._form.busy and bool(self._fields)

    def show_form(self, form: ConnectForm) -> None:
        previous = self._form
        restart = not form.busy and (not self._fields or form.error != previous.error)
        self._form = form
        if form.busy:
            self._print(form.status)
            return
        if not restart:
            listed = (form.servers, form.discovery) != (previous.servers, previous.discovery)
            if listed and self._fields[:1] == ["host"]:
                self._list_servers()
                self._prompt()
            return
        if form.error:
            self._print(f"! {form.error}")
        order: list[Field] = ["host", "port", "name"]
        if form.ask_password:
            order.append("password")
        start = order.index(form.focus) if form.focus in order else 0
        self._fields = order[start:]
        self._answers = {"host": form.host, "port": form.port, "name": form.name, "password": ""}
        if self._fields[0] == "host":
            self._list_servers()
        self._prompt()

    def refresh(self) -> None:
        """Let the dialog poll for servers found on the network."""
        if not self.closed:
            self._dialog.refresh()

    def close(self) -> None:
        self.closed = True

    def answer(self, line: str) -> None:
        if not self._fields:
            return
        field = self._fields.pop(0)
        picked = self._picked(line) if field == "host" else None
        if picked is not None:
            self._answers["host"], self._answers["port"] = picked.host, str(picked.port)
            if self._fields[:1] == ["port"]:
                self._fields.pop(0)
        elif line.strip() or field == "password":
            self._answers[field] = line.strip()
        if self._fields:
            self._prompt()
            return
        a = self._answers
        self._dialog.submit(a["host"], a["port"], a["name"], a["password"])

    def _picked(self, line: str) -> ServerEntry | None:
        """A listed server chosen by its number."""
        text = line.strip()
        rows = self._form.servers
        if text.isdigit() and 1 <= int(text) <= len(rows):
            return rows[int(text) - 1].entry
        return None

    def _list_servers(self) -> None:
        rows = self._form.servers
        if rows:
            self._print("Servers (type a number to pick one):")
            for number, row in enumerate(rows, start=1):
                self._print(f"  [{number}] {row.text}")
        if self._form.discovery:
            self._print(f"* {self._form.discovery}")

    def _prompt(self) -> None:
        field = self._fields[0]
        default = "" if field == "password" else self._answers[field]
        hint = f" [{default}]" if default else ""
        self._print(f"{FIELD_LABELS[field]}{hint}:")

    def _print(self, text: str) -> None:
        self._out.write(text + "\n")
        self._out.flush()


class TerminalChatView:
    """:class:`~localchat.adapters.gui.presenter.ChatView` on a pair of text streams."""

    def __init__(self, stdin: TextIO, stdout: TextIO) -> None:
        self._in = stdin
        self._out = stdout
        self._lines: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        self._held: deque[str] = deque()
        """Lines read and not yet submitted: one goes at a time, once the server has
        answered the one before (so a script's ``/join`` is done before its next line)."""
        self._dialog: _TerminalDialog | None = None
        self._chat_shown = False
        self._closed = False
        self._selected: str | None = None
        self._banner: str | None = None
        self._outbox: list[str] = []
        self._question: Question | None = None

    # -- running --------------------------------------------------------------------------------

    def run(self, presenter: ChatIntents) -> int:
        """Serve until the person quits or input ends; 0 if a chat ever started, else 1."""
        reader = threading.Thread(target=self._read, name="localchat-stdin", daemon=True)
        reader.start()
        input_ended: float | None = None
        last_submit = 0.0
        try:
            while not self._closed:
                presenter.pump()
                if self._dialog is not None:
                    self._dialog.refresh()
                if self._question is not None and self._held:
                    self._answer(presenter, self._held.popleft())
                    continue
                now = time.monotonic()
                ready = self._chat_shown and (
                    not presenter.awaiting_answers or now - last_submit > ANSWER_WAIT_SECONDS
                )
                if self._held and ready:
                    presenter.submit(self._held.popleft())
                    last_submit = now
                    continue
                ended = input_ended is not None and not self._held
                if ended and self._done(presenter, now - (input_ended or now)):
                    presenter.quit()
                    continue
                try:
                    read = self._lines.get(timeout=POLL_SECONDS)
                except queue.Empty:
                    continue
                if read is None:
                    input_ended = time.monotonic()
                elif self._question is not None:
                    self._answer(presenter, read)
                elif self._dialog is not None and self._dialog.wants_input:
                    self._dialog.answer(read)
                else:
                    self._held.append(read)
        except KeyboardInterrupt:
            presenter.quit()
        return 0 if self._chat_shown else 1

    def _done(self, presenter: ChatIntents, since_end: float) -> bool:
        """Input ended: may we leave? Not before the lines typed are acknowledged, nor while
        the first connection is still being made (each within a time limit)."""
        if self._question is not None or (self._dialog is not None and self._dialog.wants_input):
            return True  # a question or the dialog waits for answers that will never come
        if not self._chat_shown:
            return since_end > CONNECT_WAIT_SECONDS
        return not presenter.unacknowledged or since_end > DRAIN_SECONDS

    def _answer(self, presenter: ChatIntents, line: str) -> None:
        question, self._question = self._question, None
        if question is not None:
            presenter.answer(question, line.strip().lower() in ("y", "yes"))

    def _read(self) -> None:
        for line in self._in:
            self._lines.put(line.rstrip("\r\n"))
        self._lines.put(None)

    def _print(self, text: str) -> None:
        self._out.write(text + "\n")
        self._out.flush()

    # -- ChatView -------------------------------------------------------------------------------

    def show_connect_dialog(self, dialog: ConnectPresenter) -> None:
        self._dialog = _TerminalDialog(self._out, dialog)
        dialog.attach(self._dialog)

    def show_chat(self) -> None:
        self._chat_shown = True

    def close(self) -> None:
        self._closed = True

    def add_conversation(self, key: str, label: str) -> None:
        pass  # every line names its conversation

    def remove_conversation(self, key: str) -> None:
        pass

    def select_conversation(self, key: str) -> None:
        if key != self._selected:
            self._selected = key
            self._print(f"--- now talking in {key} ---")

    def set_conversation_label(self, key: str, label: str) -> None:
        pass  # no tabs: unread counts show in a window only

    def append_lines(self, key: str, lines: Sequence[LogLine]) -> None:
        for line in lines:
            self._print(self.format(key, line))

    def prepend_lines(self, key: str, lines: Sequence[LogLine]) -> None:
        self.append_lines(key, lines)

    def show_members(self, names: Sequence[str]) -> None:
        pass  # /users prints them on request

    def show_rooms(self, rooms: Sequence[RoomItem]) -> None:
        pass  # /rooms prints them on request

    def set_title(self, title: str) -> None:
        pass

    def set_banner(self, text: str | None) -> None:
        if text is not None and text != self._banner:
            self._print(f"*** {text}")
        self._banner = text

    def set_security(self, text: str, *, warning: bool) -> None:
        pass  # no status line here: the presenter also says it in the log

    def ask(self, question: Question) -> None:
        self._question = question
        self._print(f"*** {question.title}")
        self._lines_of(question.text, "***")
        if question.fingerprint:
            self._print(f"***     {question.fingerprint}")
        self._lines_of(question.after, "***")
        if question.warning:
            self._print(f"!!! {question.warning}")
        self._print(f"{question.prompt} [y/N]:")

    def show_alert(self, alert: Alert) -> None:
        self._print(f"!!! {alert.title}")
        self._lines_of(alert.text, "!!!")

    def _lines_of(self, text: str, mark: str) -> None:
        for line in text.splitlines():
            self._print(f"{mark} {line}".rstrip())

    def set_outbox(self, lines: Sequence[str]) -> None:
        if lines and list(lines) != self._outbox:
            self._print(f"*** waiting to be sent: {len(lines)} line(s)")
        self._outbox = list(lines)

    def set_input(self, text: str) -> None:
        pass  # a terminal's input line belongs to the terminal

    def ring_bell(self) -> None:
        pass

    @staticmethod
    def format(key: str, line: LogLine) -> str:
        """``[10:04] #lobby <ada> text``; system lines ``*``, errors ``!``."""
        text = line.text.replace("\n", "\n    ")
        mark = _MARKS.get(line.kind)
        who = f"{mark}" if mark else f"<{line.sender}>"
        return f"[{line.time}] {key} {who} {text}"
