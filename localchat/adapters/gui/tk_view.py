"""The Tk window: widgets and bindings only (the one module that imports tkinter).

:class:`TkChatView` draws what the presenter tells it and forwards what the person does;
it decides nothing about chat. It pumps the presenter from the Tk main loop with
``root.after`` (session events reach the presenter on a queue, never Tk), and inserts each
batch of log lines with one ``Text.insert`` call, trimming a log beyond
:data:`~localchat.adapters.gui.presenter.MAX_LOG_LINES`.
"""

from __future__ import annotations

import logging
import threading
import tkinter as tk
from collections.abc import Callable, Sequence
from tkinter import font as tkfont
from tkinter import ttk
from typing import Any

from localchat.adapters.gui.connect import (
    FIELD_LABELS,
    ConnectForm,
    ConnectPresenter,
    Field,
    ServerRow,
)
from localchat.adapters.gui.formatting import LineKind, LogLine
from localchat.adapters.gui.presenter import MAX_LOG_LINES, ChatIntents, RoomItem
from localchat.adapters.gui.trust import Alert, Question

log = logging.getLogger(__name__)

POLL_MS = 25
DIALOG_REFRESH_MS = 250
BANNER_COLOURS = ("#fff3cd", "#5c4400")
DANGER = "#b00020"
WRAP = 520
FINGERPRINT_SAMPLE = "SHA256:" + ":".join(["DD"] * 32)
_KIND_TAGS = {
    LineKind.SYSTEM: ("system",),
    LineKind.ERROR: ("error",),
    LineKind.MENTION: ("line", "mention"),
    LineKind.DIRECT: ("line", "direct"),
    LineKind.OWN: ("line",),
    LineKind.MESSAGE: ("line",),
}


def _tk(widget: tk.Misc, *args: Any) -> Any:
    """A Tk widget command (typeshed leaves some ttk and Listbox methods untyped)."""
    return widget.tk.call(str(widget), *args)


def _selected_tab(notebook: ttk.Notebook) -> str:
    return str(_tk(notebook, "select"))


def _nearest(listbox: tk.Listbox, y: int) -> int:
    return int(_tk(listbox, "nearest", y))


class DisplayUnavailable(Exception):
    """No window can be opened (no display, or Tk refused); ``str()`` says why."""


class _Log:
    """One conversation's tab: a read-only text log with its scrollbar."""

    def __init__(self, view: TkChatView, key: str) -> None:
        self.key = key
        self.frame = ttk.Frame(view.notebook)
        self.text = tk.Text(
            self.frame,
            wrap="word",
            state="disabled",
            width=60,
            height=20,
            padx=6,
            pady=4,
            borderwidth=0,
            font=view.fonts["body"],
            cursor="arrow",
        )
        self.view = view
        self.colour_tags: set[str] = set()
        """The name-colour tags configured in this log so far."""
        self.follow = True
        """Keep the newest line in view (until the person scrolls up)."""
        self.text.bind("<Configure>", lambda e: self.show_end(), add=True)

        def scroll(*args: Any) -> None:  # the scrollbar dragged or clicked
            self.text.yview(*args)
            self.check_top()

        self.scrollbar = scrollbar = ttk.Scrollbar(self.frame, orient="vertical", command=scroll)
        self.text.configure(yscrollcommand=scrollbar.set)
        # Only the person's scrolling (up or down: reaching the bottom resumes following)
        # decides, never our own inserts.
        for event in (
            *("<Button-4>", "<Button-5>", "<MouseWheel>"),  # the wheel (X11, others)
            *("<Prior>", "<Next>", "<Control-Home>", "<Control-End>"),  # the keyboard
        ):
            self.text.bind(event, lambda e: self.text.after_idle(self.check_top), add=True)
        scrollbar.pack(side="right", fill="y")
        self.text.pack(side="left", fill="both", expand=True)
        view.style_log(self.text)

    def check_top(self) -> None:
        """After the person scrolled: follow new lines only if at the bottom; load older
        messages if at the top."""
        if not self.text.winfo_exists():
            return
        first, last = self.text.yview()
        self.follow = last >= 0.999
        if first <= 0.0:
            self.view.scrolled_to_top(self.key)

    def show_end(self) -> None:
        if self.follow:
            self.text.see("end")

    def line_count(self) -> int:
        return int(self.text.index("end-1c").split(".")[0])


class TkConnectDialog:
    """The connect dialog's widgets (a :class:`~localchat.adapters.gui.connect.ConnectView`)."""

    def __init__(self, root: tk.Tk, presenter: ConnectPresenter, *, over_window: bool) -> None:
        self.presenter = presenter
        self.window = tk.Toplevel(root)
        self.window.title("Connect to LocalChat")
        self.window.resizable(False, False)
        if over_window:
            self.window.transient(root)
        body = ttk.Frame(self.window, padding=14)
        body.pack(fill="both", expand=True)
        self.servers = tk.Listbox(
            body, height=5, width=60, activestyle="none", exportselection=False
        )
        self._servers_label = ttk.Label(body, text="Servers (double-click to connect):")
        self._rows: tuple[ServerRow, ...] = ()
        self.servers.bind("<ButtonRelease-1>", self._server_clicked)
        self.servers.bind("<Double-Button-1>", self._server_double_clicked)
        self.discovery = ttk.Label(body, foreground="#555555", wraplength=WRAP, justify="left")
        self.fields: dict[Field, ttk.Entry] = {}
        self._field_rows: dict[Field, tuple[ttk.Label, ttk.Entry]] = {}
        for row, (field, label) in enumerate(FIELD_LABELS.items(), start=3):
            caption = ttk.Label(body, text=label)
            entry = ttk.Entry(body, width=30, show="•" if field == "password" else "")
            caption.grid(row=row, column=0, sticky="w", pady=3, padx=(0, 8))
            entry.grid(row=row, column=1, sticky="ew", pady=3)
            self.fields[field] = entry
            self._field_rows[field] = (caption, entry)
        self.error = ttk.Label(body, foreground=DANGER, wraplength=WRAP, justify="left")
        self.error.grid(row=7, column=0, columnspan=2, sticky="w", pady=(6, 0))
        self.status = ttk.Label(body, foreground="#555555", wraplength=WRAP)
        self.status.grid(row=8, column=0, columnspan=2, sticky="w")
        buttons = ttk.Frame(body)
        buttons.grid(row=9, column=0, columnspan=2, sticky="e", pady=(10, 0))
        self.cancel_button = ttk.Button(buttons, text="Cancel", command=presenter.cancel)
        self.connect_button = ttk.Button(buttons, text="Connect", command=self.submit)
        self.cancel_button.pack(side="right", padx=(6, 0))
        self.connect_button.pack(side="right")
        self.window.bind("<Return>", lambda e: self.submit())
        self.window.bind("<Escape>", lambda e: presenter.cancel())
        self.window.protocol("WM_DELETE_WINDOW", presenter.cancel)
        self._shown: ConnectForm | None = None
        self._closed = False
        self._refresh()

    @property
    def closed(self) -> bool:
        return self._closed

    def submit(self) -> None:
        f = self.fields
        self.presenter.submit(
            f["host"].get(), f["port"].get(), f["name"].get(), f["password"].get()
        )

    def show_form(self, form: ConnectForm) -> None:
        if self._closed:
            return
        shown, self._shown = self._shown, form
        for field in ("host", "port", "name"):
            value = getattr(form, field)
            if shown is None or value != getattr(shown, field):  # never clobber typing
                entry = self.fields[field]
                entry.configure(state="normal")
                entry.delete(0, "end")
                entry.insert(0, value)
        caption, password = self._field_rows["password"]
        if form.ask_password:
            caption.grid()
            password.grid()
        else:
            caption.grid_remove()
            password.grid_remove()
        self._show_servers(form.servers)
        self.discovery.configure(text=form.discovery)
        if form.discovery:
            self.discovery.grid(row=2, column=0, columnspan=2, sticky="w", pady=(0, 8))
        else:
            self.discovery.grid_remove()
        self.error.configure(text=form.error)
        self.status.configure(text=form.status)
        state = "disabled" if form.busy else "normal"
        for entry in self.fields.values():
            entry.configure(state=state)
        self.connect_button.configure(state=state)
        if not form.busy and (shown is None or form.error != shown.error or shown.busy):
            target = self.fields[form.focus]
            target.focus_set()
            target.select_range(0, "end")

    def _show_servers(self, rows: tuple[ServerRow, ...]) -> None:
        if rows == self._rows:
            return
        self._rows = rows
        self.servers.delete(0, "end")
        for row in rows:
            self.servers.insert("end", row.text)
            if not row.found:
                self.servers.itemconfigure("end", foreground="#555555")
        if rows:
            self._servers_label.grid(row=0, column=0, columnspan=2, sticky="w")
            self.servers.grid(row=1, column=0, columnspan=2, sticky="ew", pady=(2, 8))
        else:
            self._servers_label.grid_remove()
            self.servers.grid_remove()

    def _server_clicked(self, event: tk.Event[Any]) -> None:
        index = _nearest(self.servers, event.y)
        if 0 <= index < len(self._rows):
            self.presenter.server_chosen(self._rows[index].entry)

    def _server_double_clicked(self, event: tk.Event[Any]) -> None:
        index = _nearest(self.servers, event.y)
        if 0 <= index < len(self._rows):
            f = self.fields
            self.presenter.server_activated(
                self._rows[index].entry, f["name"].get(), f["password"].get()
            )

    def _refresh(self) -> None:
        if not self._closed:
            self.presenter.refresh()
            self._refresh_id = self.window.after(DIALOG_REFRESH_MS, self._refresh)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self.window.after_cancel(self._refresh_id)
            self.window.destroy()


class _Notice:
    """A small window over the others: a title, text, buttons (for questions and alerts)."""

    def __init__(self, root: tk.Tk, title: str, *, over: tk.Wm | None, danger: bool) -> None:
        self.mono = tkfont.nametofont("TkFixedFont", root=root)
        body_font = tkfont.nametofont("TkDefaultFont", root=root)
        self.wrap = max(
            WRAP, body_font.measure(FINGERPRINT_SAMPLE), self.mono.measure(FINGERPRINT_SAMPLE)
        )
        """As wide as a fingerprint on one line: people compare them pair by pair."""
        self.window = tk.Toplevel(root)
        self.window.title(title)
        self.window.resizable(False, False)
        if over is not None:
            self.window.transient(over)
        self.body = ttk.Frame(self.window, padding=16)
        self.body.pack(fill="both", expand=True)
        heading = tkfont.nametofont("TkHeadingFont", root=root).actual()
        self.heading = tk.Label(
            self.body,
            text=title,
            font=(heading["family"], max(11, abs(int(heading["size"]))), "bold"),
            fg=DANGER if danger else "#000000",
            anchor="w",
            justify="left",
            wraplength=self.wrap,
        )
        self.heading.pack(fill="x", pady=(0, 8))
        self.buttons = ttk.Frame(self.body)
        self.closed = False

    def paragraph(self, text: str, **options: Any) -> tk.Label:
        label = tk.Label(
            self.body, text=text, anchor="w", justify="left", wraplength=self.wrap, **options
        )
        label.pack(fill="x", pady=(0, 8))
        return label

    def button(self, text: str, command: Callable[[], None]) -> ttk.Button:
        button = ttk.Button(self.buttons, text=text, command=command)
        button.pack(side="right", padx=(6, 0))
        return button

    def show(self, focus: tk.Misc) -> None:
        self.buttons.pack(fill="x", pady=(8, 0))
        self.window.lift()
        focus.focus_set()

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.window.destroy()


class TkQuestion(_Notice):
    """A yes/no :class:`~localchat.adapters.gui.trust.Question`; the safe answer has the
    focus, so a stray Enter or Space never trusts anything."""

    def __init__(
        self,
        root: tk.Tk,
        question: Question,
        on_answer: Callable[[bool], None],
        *,
        over: tk.Wm | None,
    ) -> None:
        super().__init__(root, question.title, over=over, danger=bool(question.warning))
        self.question = question
        self._on_answer = on_answer
        self.paragraph(question.text)
        self.fingerprint: tk.Entry | None = None
        if question.fingerprint:  # selectable, so it can be copied and compared
            self.fingerprint = tk.Entry(
                self.body,
                width=len(question.fingerprint) + 2,
                font=self.mono,
                justify="center",
                relief="flat",
            )
            self.fingerprint.insert(0, question.fingerprint)
            self.fingerprint.configure(state="readonly")
            self.fingerprint.pack(fill="x", pady=(0, 8))
        if question.after:
            self.paragraph(question.after)
        self.warning = (
            self.paragraph(question.warning, fg=DANGER, font=self.heading.cget("font"))
            if question.warning
            else None
        )
        self.no_button = self.button(question.no, lambda: self.answer(False))
        self.yes_button = self.button(question.yes, lambda: self.answer(True))
        self.window.bind("<Escape>", lambda e: self.answer(False))
        self.window.protocol("WM_DELETE_WINDOW", lambda: self.answer(False))
        self.show(self.no_button)

    def answer(self, yes: bool) -> None:
        if not self.closed:
            self.close()
            self._on_answer(yes)


class TkAlert(_Notice):
    """A loud :class:`~localchat.adapters.gui.trust.Alert` with one button."""

    def __init__(self, root: tk.Tk, alert: Alert, *, over: tk.Wm | None) -> None:
        super().__init__(root, alert.title, over=over, danger=True)
        self.alert = alert
        self.text = self.paragraph(alert.text)
        self.close_button = self.button("Close", self.close)
        self.window.bind("<Escape>", lambda e: self.close())
        self.window.protocol("WM_DELETE_WINDOW", self.close)
        self.show(self.close_button)


class TkChatView:
    """The main window (a :class:`~localchat.adapters.gui.presenter.ChatView`)."""

    @classmethod
    def open(cls) -> TkChatView:
        """A new window on the display; raises :class:`DisplayUnavailable`."""
        try:
            root = tk.Tk(className="LocalChat")
        except tk.TclError as error:
            raise DisplayUnavailable(f"cannot open a window ({error})") from None
        return cls(root)

    def __init__(self, root: tk.Tk) -> None:
        self.root = root
        self.closed = False
        self._intents: ChatIntents | None = None
        self._poll_id: str | None = None
        self._quit_requested = threading.Event()
        self._logs: dict[str, _Log] = {}
        self._keys_by_frame: dict[str, str] = {}
        self._rooms: list[RoomItem] = []
        self._focused = True
        self.dialog: TkConnectDialog | None = None
        self.question: TkQuestion | None = None
        self.alert: TkAlert | None = None
        self.fonts = self._make_fonts()
        root.report_callback_exception = self._callback_failed
        root.withdraw()
        root.title("LocalChat")
        root.geometry("940x580")
        root.minsize(560, 360)
        self._build()
        self._bind()

    # -- building -------------------------------------------------------------------------------

    def _make_fonts(self) -> dict[str, tkfont.Font]:
        base = tkfont.nametofont("TkDefaultFont", root=self.root).actual()
        family, size = base["family"], max(10, abs(int(base["size"])))
        return {
            "body": tkfont.Font(root=self.root, family=family, size=size),
            "bold": tkfont.Font(root=self.root, family=family, size=size, weight="bold"),
            "italic": tkfont.Font(root=self.root, family=family, size=size, slant="italic"),
            "small": tkfont.Font(root=self.root, family=family, size=size - 1),
        }

    def style_log(self, text: tk.Text) -> None:
        text.tag_configure("time", foreground="#8a8a8a", font=self.fonts["small"])
        text.tag_configure("line", lmargin2=52)
        text.tag_configure("system", foreground="#666666", font=self.fonts["italic"], lmargin2=52)
        text.tag_configure("error", foreground=DANGER, lmargin2=52)
        text.tag_configure("mention", background="#fff4c2")
        text.tag_configure("direct", background="#eef4ff")
        text.tag_configure("url", foreground="#1a55c9", underline=True)
        text.tag_configure("continued", lmargin1=52, lmargin2=52)

    def _build(self) -> None:
        root = self.root
        self.banner = tk.Label(
            root,
            bg=BANNER_COLOURS[0],
            fg=BANNER_COLOURS[1],
            anchor="w",
            padx=10,
            pady=4,
            font=self.fonts["bold"],
        )
        self._banner_shown = False
        self.security = tk.Label(root, anchor="w", padx=10, pady=2, font=self.fonts["small"])
        self._security_colours = (self.security.cget("bg"), "#2e6b30")
        self._security_shown = False
        self._bottom = bottom = ttk.Frame(root, padding=(8, 4, 8, 8))
        bottom.pack(side="bottom", fill="x")
        self.outbox = tk.Label(
            root, fg="#8a5a00", anchor="w", justify="left", wraplength=880, padx=10
        )
        self.input = tk.Text(bottom, height=2, wrap="word", font=self.fonts["body"], undo=True)
        self.send_button = ttk.Button(bottom, text="Send", command=self._send)
        self.users_button = ttk.Button(bottom, text="Users", command=self._users)
        self.users_button.pack(side="right", padx=(4, 0))
        self.send_button.pack(side="right", padx=(4, 0))
        self.input.pack(side="left", fill="x", expand=True)

        self.panes = ttk.PanedWindow(root, orient="horizontal")
        self.panes.pack(side="top", fill="both", expand=True, padx=8, pady=(8, 0))
        left = ttk.Frame(self.panes)
        header = ttk.Frame(left)
        header.pack(fill="x")
        ttk.Label(header, text="Rooms", font=self.fonts["bold"]).pack(side="left")
        self.add_room_button = ttk.Button(header, text="+", width=2, command=self._add_room)
        self.add_room_button.pack(side="right")
        self.rooms_list = tk.Listbox(left, width=18, activestyle="none", exportselection=False)
        self.rooms_list.pack(fill="both", expand=True, pady=(4, 0))
        self.notebook = ttk.Notebook(self.panes)
        right = ttk.Frame(self.panes)
        ttk.Label(right, text="Members", font=self.fonts["bold"]).pack(anchor="w")
        self.members_list = tk.Listbox(right, width=18, activestyle="none", exportselection=False)
        self.members_list.pack(fill="both", expand=True, pady=(4, 0))
        self.panes.add(left, weight=0)
        self.panes.add(self.notebook, weight=1)
        self.panes.add(right, weight=0)

    def _bind(self) -> None:
        root = self.root
        self.input.bind("<Return>", self._on_return)
        self.input.bind("<KP_Enter>", self._on_return)
        self.input.bind("<Shift-Return>", self._on_shift_return)
        self.input.bind("<Up>", self._on_up)
        self.input.bind("<Down>", self._on_down)
        root.bind("<Escape>", lambda e: self._quit())
        root.bind("<Control-q>", lambda e: self._quit())
        root.bind("<Control-Q>", lambda e: self._quit())
        root.protocol("WM_DELETE_WINDOW", self._quit)
        root.bind("<FocusIn>", lambda e: self._focus_later(), add=True)
        root.bind("<FocusOut>", lambda e: self._focus_later(), add=True)
        self.notebook.bind("<<NotebookTabChanged>>", self._on_tab)
        self.rooms_list.bind("<ButtonRelease-1>", self._on_room_click)
        self.members_list.bind("<Double-Button-1>", self._on_member_double_click)

    def _callback_failed(self, kind: type[BaseException], error: BaseException, tb: Any) -> None:
        """A bug in a callback: log it (the traceback at debug level), keep the window."""
        log.error("the window hit an internal error: %s: %s", kind.__name__, error)
        log.debug("details", exc_info=(kind, error, tb))

    # -- running --------------------------------------------------------------------------------

    def attach(self, intents: ChatIntents) -> None:
        """Start forwarding intents to, and pumping, the presenter."""
        self._intents = intents
        self._poll_id = self.root.after(POLL_MS, self._poll)

    def run(self, intents: ChatIntents) -> None:
        self.attach(intents)
        self.root.mainloop()

    def request_quit(self) -> None:
        """Ask for a clean exit from any thread (e.g. a signal handler)."""
        self._quit_requested.set()

    def _poll(self) -> None:
        if self.closed or self._intents is None:
            return
        if self._quit_requested.is_set():
            self._intents.quit()
            return
        more = self._intents.pump()
        if not self.closed:
            delay = 1 if more else POLL_MS
            self._poll_id = self.root.after(delay, self._poll)

    # -- intents --------------------------------------------------------------------------------

    def _send(self) -> None:
        if self._intents is not None:
            self._intents.submit(self.input.get("1.0", "end-1c"))
        self.input.focus_set()

    def _users(self) -> None:
        if self._intents is not None:
            self._intents.users_clicked()
        self.input.focus_set()

    def _add_room(self) -> None:
        if self._intents is not None:
            self._intents.add_room_clicked()

    def _quit(self) -> None:
        if self._intents is not None:
            self._intents.quit()
        else:
            self.close()

    def _on_return(self, event: tk.Event[Any]) -> str:
        self._send()
        return "break"

    def _on_shift_return(self, event: tk.Event[Any]) -> str:
        self.input.insert("insert", "\n")
        return "break"

    def _on_up(self, event: tk.Event[Any]) -> str | None:
        if self._intents is None or self.input.index("insert").split(".")[0] != "1":
            return None
        self._intents.recall(-1)
        return "break"

    def _on_down(self, event: tk.Event[Any]) -> str | None:
        last_line = self.input.index("end-1c").split(".")[0]
        if self._intents is None or self.input.index("insert").split(".")[0] != last_line:
            return None
        self._intents.recall(+1)
        return "break"

    def _on_tab(self, event: tk.Event[Any]) -> None:
        key = self._keys_by_frame.get(_selected_tab(self.notebook))
        if key is not None and self._intents is not None:
            self._intents.conversation_selected(key)

    def _on_room_click(self, event: tk.Event[Any]) -> None:
        index = _nearest(self.rooms_list, event.y)
        if 0 <= index < len(self._rooms) and self._intents is not None:
            self.rooms_list.selection_clear(0, "end")
            self._intents.room_activated(self._rooms[index].room)

    def _on_member_double_click(self, event: tk.Event[Any]) -> None:
        index = _nearest(self.members_list, event.y)
        if index >= 0 and self._intents is not None:
            self._intents.member_activated(self.members_list.get(index))

    def scrolled_to_top(self, key: str) -> None:
        if self._intents is not None:
            self._intents.scrolled_to_top(key)

    def _focus_later(self) -> None:
        self.root.after_idle(self._check_focus)

    def _check_focus(self) -> None:
        if self.closed:
            return
        try:
            focused = self.root.focus_displayof() is not None
        except (KeyError, tk.TclError):
            focused = True
        if focused != self._focused:
            self._focused = focused
            if self._intents is not None:
                self._intents.focus_changed(focused)

    # -- ChatView: windows ----------------------------------------------------------------------

    def show_connect_dialog(self, dialog: ConnectPresenter) -> None:
        if self.dialog is not None:
            self.dialog.close()
        visible = self.root.state() != "withdrawn"
        self.dialog = TkConnectDialog(self.root, dialog, over_window=visible)
        dialog.attach(self.dialog)

    def show_chat(self) -> None:
        self.root.deiconify()
        self.input.focus_set()

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            if self._poll_id is not None:
                self.root.after_cancel(self._poll_id)
            if self.dialog is not None:
                self.dialog.close()
            self.root.destroy()

    def _over(self) -> tk.Wm | None:
        """The window a question or alert belongs to: the dialog, else the main window."""
        if self.dialog is not None and not self.dialog.closed:
            return self.dialog.window
        return self.root if self.root.state() != "withdrawn" else None

    def ask(self, question: Question) -> None:
        if self.question is not None:
            self.question.close()

        def answered(yes: bool) -> None:
            if self._intents is not None:
                self._intents.answer(question, yes)

        self.question = TkQuestion(self.root, question, answered, over=self._over())

    def show_alert(self, alert: Alert) -> None:
        if self.alert is not None:
            self.alert.close()
        self.alert = TkAlert(self.root, alert, over=self._over())

    # -- ChatView: conversations ----------------------------------------------------------------

    def add_conversation(self, key: str, label: str) -> None:
        log = _Log(self, key)
        self._logs[key] = log
        self._keys_by_frame[str(log.frame)] = key
        self.notebook.add(log.frame, text=label)

    def remove_conversation(self, key: str) -> None:
        log = self._logs.pop(key)
        del self._keys_by_frame[str(log.frame)]
        self.notebook.forget(log.frame)
        log.frame.destroy()

    def select_conversation(self, key: str) -> None:
        _tk(self.notebook, "select", str(self._logs[key].frame))

    def set_conversation_label(self, key: str, label: str) -> None:
        _tk(self.notebook, "tab", str(self._logs[key].frame), "-text", label)

    def _line_args(self, line: LogLine) -> list[Any]:
        """Alternating text and tag tuples for one ``Text.insert`` call."""
        base = _KIND_TAGS[line.kind]
        args: list[Any] = [f"{line.time}  ", ("time", *base)]
        if line.sender:
            colour_tag = "c" + line.colour
            args += [line.sender, (colour_tag, *base), ": ", base]
        continued = False  # after a newline inside the message: indent under the text
        for span in line.spans:
            tags = ("url", *base) if span.url else base
            first, *rest = span.text.split("\n")
            if first:
                args += [first, (*tags, "continued") if continued else tags]
            for part in rest:
                continued = True
                args += ["\n" + part, (*tags, "continued")]
        args += ["\n", base]
        return args

    def _insert(self, key: str, index: str, lines: Sequence[LogLine]) -> int:
        """Insert lines at ``index`` in one call; returns how many text lines were added."""
        log = self._logs[key]
        text = log.text
        args: list[Any] = []
        added = 0
        for line in lines:
            if line.colour and "c" + line.colour not in log.colour_tags:
                log.colour_tags.add("c" + line.colour)
                text.tag_configure(
                    "c" + line.colour, foreground=line.colour, font=self.fonts["bold"]
                )
            args += self._line_args(line)
            added += line.height
        text.configure(state="normal")
        text.insert(index, *args)
        return added

    def append_lines(self, key: str, lines: Sequence[LogLine]) -> None:
        log = self._logs[key]
        self._insert(key, "end-1c", lines)
        excess = log.line_count() - MAX_LOG_LINES
        if excess > 0:
            log.text.delete("1.0", f"{excess + 1}.0")
        log.text.configure(state="disabled")
        log.show_end()

    def prepend_lines(self, key: str, lines: Sequence[LogLine]) -> None:
        text = self._logs[key].text
        top = int(text.index("@0,0").split(".")[0])
        added = self._insert(key, "1.0", lines)
        text.configure(state="disabled")
        text.yview(f"{top + added}.0")  # what the person was reading stays in place

    # -- ChatView: panels and status ------------------------------------------------------------

    def show_members(self, names: Sequence[str]) -> None:
        self.members_list.delete(0, "end")
        for name in names:
            self.members_list.insert("end", name)

    def show_rooms(self, rooms: Sequence[RoomItem]) -> None:
        self._rooms = list(rooms)
        self.rooms_list.delete(0, "end")
        for index, item in enumerate(rooms):
            self.rooms_list.insert("end", item.label)
            self.rooms_list.itemconfigure(index, foreground="#000000" if item.joined else "#777777")

    def set_title(self, title: str) -> None:
        self.root.title(title)

    def set_banner(self, text: str | None) -> None:
        if text is None:
            if self._banner_shown:
                self.banner.pack_forget()
                self._banner_shown = False
            return
        self.banner.configure(text=text)
        if not self._banner_shown:
            self.banner.pack(side="top", fill="x", before=self.panes)
            self._banner_shown = True

    def set_security(self, text: str, *, warning: bool) -> None:
        if not self._security_shown:  # under the input line, from the first report
            self._security_shown = True
            self._bottom.configure(padding=(8, 4, 8, 4))
            self.security.pack(side="bottom", fill="x", before=self._bottom)
        background, calm = self._security_colours
        if warning:
            self.security.configure(text=text, bg=DANGER, fg="#ffffff", font=self.fonts["bold"])
        else:
            self.security.configure(text=text, bg=background, fg=calm, font=self.fonts["small"])

    def set_outbox(self, lines: Sequence[str]) -> None:
        if not lines:
            self.outbox.pack_forget()
            return
        listed = "; ".join(lines)
        self.outbox.configure(text=f"Waiting to be sent ({len(lines)}): {listed}")
        self.outbox.pack(side="bottom", fill="x", before=self.panes)

    def set_input(self, text: str) -> None:
        self.input.delete("1.0", "end")
        self.input.insert("1.0", text)
        self.input.mark_set("insert", "end-1c")
        self.input.focus_set()

    def ring_bell(self) -> None:
        self.root.bell()

    # -- for tests and the screenshot script ----------------------------------------------------

    def log_text(self, key: str) -> str:
        return self._logs[key].text.get("1.0", "end-1c")

    def conversation_keys(self) -> list[str]:
        return [
            self._keys_by_frame[str(tab)]
            for tab in self.root.tk.splitlist(_tk(self.notebook, "tabs"))
        ]

    def selected_key(self) -> str | None:
        return self._keys_by_frame.get(_selected_tab(self.notebook))
