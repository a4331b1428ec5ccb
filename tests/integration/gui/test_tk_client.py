"""Real Tk windows against a real server: type, press Enter, see it in the other window."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from localchat.adapters.gui.presenter import BANNER_RECONNECTING, MAX_LOG_LINES
from localchat.adapters.memory.store import InMemoryMessageStore
from localchat.adapters.wire import packets as p
from tests.cli_process import LOCALCHAT, safe_cli_env
from tests.helpers import display_unavailable, wait_until
from tests.integration.gui.window_manager import ask_to_close
from tests.integration.gui.windows import TkClient, spin, two_windows
from tests.servers import RunningServer


def test_a_line_typed_in_one_window_appears_in_the_other(
    chat_server: RunningServer, open_window: Callable[..., TkClient]
) -> None:
    ada, bob = two_windows(chat_server, open_window)
    assert ada.root.focus_get() is ada.view.input

    ada.type("hello bob, see https://example.org 😀")
    spin(ada, bob, until=lambda: "hello bob, see https://example.org 😀" in bob.log())
    assert ada.view.input.get("1.0", "end-1c") == ""
    assert ada.root.focus_get() is ada.view.input
    line = next(t for t in bob.log().splitlines() if "hello bob" in t)
    assert line.endswith("ada: hello bob, see https://example.org 😀")
    ranges = bob.view._logs["#lobby"].text.tag_ranges("url")
    assert ranges, "the URL is styled"

    # Shift+Enter starts a new line; Enter sends both lines as one message.
    entry = ada.view.input
    entry.insert("end", "first line")
    entry.event_generate("<Shift-Return>")
    entry.insert("end", "second line")
    entry.event_generate("<Return>")
    spin(ada, bob, until=lambda: "first line\nsecond line" in bob.log())

    # Up recalls the previous line.
    entry.event_generate("<Up>")
    assert entry.get("1.0", "end-1c") == "first line\nsecond line"


def test_the_users_button_prints_the_member_list(
    chat_server: RunningServer, open_window: Callable[..., TkClient]
) -> None:
    ada, bob = two_windows(chat_server, open_window)
    assert ada.view.members_list.get(0, "end") == ("ada", "bob")
    ada.view.users_button.invoke()
    spin(ada, bob, until=lambda: "In #lobby (2): ada, bob" in ada.log())


def test_rooms_tabs_and_unread_counts(
    chat_server: RunningServer, open_window: Callable[..., TkClient]
) -> None:
    ada, bob = two_windows(chat_server, open_window)
    ada.type("/join #dev")
    spin(ada, bob, until=lambda: ada.view.selected_key() == "#dev", what="ada in #dev")
    assert ada.view.conversation_keys() == ["#lobby", "#dev"]

    # bob joins by clicking the room in the room list
    bob.view.users_button.invoke()  # any request; then refresh the room list with /rooms
    bob.type("/rooms")
    spin(ada, bob, until=lambda: "#dev (1)" in bob.view.rooms_list.get(0, "end"))
    index = list(bob.view.rooms_list.get(0, "end")).index("#dev (1)")
    x, y, _, height = bob.view.rooms_list.bbox(index)
    bob.view.rooms_list.event_generate("<ButtonRelease-1>", x=x + 2, y=y + height // 2)
    spin(ada, bob, until=lambda: bob.view.selected_key() == "#dev", what="bob in #dev")
    spin(ada, bob, until=lambda: "bob joined #dev" in ada.log("#dev"))

    ada.type("only in dev")
    spin(ada, bob, until=lambda: "only in dev" in bob.log("#dev"))
    assert "only in dev" not in bob.log("#lobby")

    # bob switches to the lobby tab; news in #dev shows as an unread count on its tab
    lobby_tab = bob.view.notebook.tabs()[0]
    bob.view.notebook.select(lobby_tab)
    spin(ada, bob, until=lambda: bob.view.selected_key() == "#lobby")
    ada.type("are you there, bob?")
    spin(ada, bob, until=lambda: "are you there" in bob.log("#dev"))
    dev_tab = bob.view.notebook.tabs()[1]
    assert bob.view.notebook.tab(dev_tab, "text") == "#dev (1!)"
    bob.type("in the lobby")
    spin(ada, bob, until=lambda: "in the lobby" in ada.log("#lobby"))

    # a double click on a member opens a direct conversation
    names = list(ada.view.members_list.get(0, "end"))
    x, y, _, height = ada.view.members_list.bbox(names.index("bob"))
    for kind in ("<ButtonPress-1>", "<ButtonRelease-1>", "<ButtonPress-1>"):
        ada.view.members_list.event_generate(kind, x=x + 2, y=y + height // 2)
    spin(ada, bob, until=lambda: ada.view.selected_key() == "@bob")
    ada.type("just for you")
    spin(
        ada,
        bob,
        until=lambda: (
            "@bob" in bob.view.conversation_keys() or "@ada" in bob.view.conversation_keys()
        ),
    )
    assert "just for you" in bob.log("@ada")


def press(key: str) -> Callable[[TkClient], None]:
    """The person presses ``key`` while typing in the input line."""

    def leave(client: TkClient) -> None:
        client.view.input.focus_force()
        client.root.update()
        client.view.input.event_generate(key)

    return leave


def click_the_close_button(client: TkClient) -> None:
    """The person clicks the window's X (the window manager's part done by hand)."""
    ask_to_close(client.root)


@pytest.mark.parametrize(
    "leave",
    [press("<Escape>"), press("<Control-q>"), click_the_close_button],
    ids=["escape", "ctrl-q", "close-button"],
)
def test_leaving_says_bye_and_closes_the_window(
    chat_server: RunningServer,
    open_window: Callable[..., TkClient],
    leave: Callable[[TkClient], None],
) -> None:
    observer = chat_server.connect("obs")
    ada = open_window(chat_server.port, "ada")
    spin(ada, until=ada.connected)
    assert isinstance(observer.receive(timeout=5), p.Joined)
    leave(ada)
    spin(ada, until=lambda: ada.closed, what="the window to close")
    left = observer.receive(timeout=5)
    assert isinstance(left, p.Left)
    assert (left.name, left.reason) == ("ada", "quit")  # "quit" only after a bye


def test_a_server_restart_shows_the_banner_reconnects_and_delivers_what_was_typed(
    start_server: Callable[..., RunningServer], open_window: Callable[..., TkClient]
) -> None:
    store = InMemoryMessageStore()
    server = start_server(store=store)
    port = server.port
    ada, bob = two_windows(server, open_window)
    ada.type("/join #dev")
    spin(ada, bob, until=lambda: ada.view.selected_key() == "#dev")

    server.server.stop(timeout=2)
    spin(ada, bob, until=ada.view.banner.winfo_ismapped, what="the banner")
    assert ada.view.banner.cget("text").startswith(BANNER_RECONNECTING)
    ada.view.notebook.select(ada.view.notebook.tabs()[0])
    spin(ada, until=lambda: ada.view.selected_key() == "#lobby")
    ada.type("typed while the server was down")
    spin(ada, until=ada.view.outbox.winfo_ismapped, what="the outbox")
    assert "typed while the server was down" in ada.view.outbox.cget("text")

    start_server(store=store, port=port)
    spin(
        ada,
        bob,
        until=lambda: not ada.view.banner.winfo_ismapped() and not bob.view.banner.winfo_ismapped(),
        timeout=10,
        what="both to reconnect",
    )
    spin(ada, bob, until=lambda: "typed while the server was down" in bob.log(), timeout=10)
    assert not ada.view.outbox.winfo_ismapped()
    assert "#dev" in ada.view.conversation_keys()
    ada.type("/switch #dev")
    ada.type("dev survived")
    spin(ada, until=lambda: "dev survived" in ada.log("#dev"), what="ada still in #dev")


def test_the_backlog_shows_on_join_and_older_pages_load_at_the_top(
    chat_server: RunningServer, open_window: Callable[..., TkClient]
) -> None:
    writer = chat_server.connect("writer")
    for n in range(1, 121):
        writer.say(f"message number {n:03}")
    for _ in range(120):
        assert isinstance(writer.receive(timeout=5), p.ChatMessage)
    ada = open_window(chat_server.port, "ada")
    spin(ada, until=lambda: "message number 120" in ada.log())
    assert "message number 071" in ada.log()
    assert "message number 070" not in ada.log()
    text = ada.view._logs["#lobby"].text
    spin(ada, until=lambda: text.yview()[1] == 1.0, what="the log to follow the newest line")

    def scroll_up() -> bool:
        text.event_generate("<Button-4>")  # the mouse wheel, on X11
        return "message number 001" in ada.log()

    spin(ada, until=scroll_up, what="scrolling back to the first message")
    log = ada.log()
    assert "message number 001" in log
    numbers = [int(line[-3:]) for line in log.splitlines() if "message number" in line]
    assert numbers == list(range(1, 121))


def test_a_flood_is_capped_and_the_window_keeps_up(
    chat_server: RunningServer, open_window: Callable[..., TkClient]
) -> None:
    ada = open_window(chat_server.port, "ada")
    spin(ada, until=ada.connected)
    flooder = chat_server.connect("flood")
    total = MAX_LOG_LINES + 500
    for n in range(1, total + 1):
        flooder.say(f"flood {n}")
    spin(ada, until=lambda: f"flood {total}" in ada.log()[-40:], timeout=30)
    assert ada.view._logs["#lobby"].line_count() <= MAX_LOG_LINES
    assert "flood 1\n" not in ada.log()


def test_the_dialog_connects_and_a_taken_name_reopens_it(
    chat_server: RunningServer, open_window: Callable[..., TkClient]
) -> None:
    chat_server.connect("ada")
    window = open_window(None, "ada")
    spin(window, until=lambda: window.view.dialog is not None)
    dialog = window.view.dialog
    assert dialog is not None
    assert window.root.state() == "withdrawn"
    dialog.fields["port"].delete(0, "end")
    dialog.fields["port"].insert(0, str(chat_server.port))
    dialog.connect_button.invoke()
    spin(window, until=lambda: dialog.error.cget("text") != "", what="the refusal")
    assert dialog.error.cget("text") == "That name is taken — choose another"
    assert str(dialog.fields["name"].cget("state")) == "normal"
    dialog.fields["name"].delete(0, "end")
    dialog.fields["name"].insert(0, "ada2")
    dialog.fields["name"].focus_force()
    dialog.fields["name"].event_generate("<Return>")
    spin(window, until=window.connected, what=f"the chat window {dialog.error.cget('text')}")
    assert window.root.title() == (
        f"LocalChat — ada2 on 127.0.0.1:{chat_server.port} (not encrypted)"
    )
    assert window.view.security.cget("text").startswith("NOT ENCRYPTED")


def test_run_client_opens_a_window_and_escape_exits_with_0(
    chat_server: RunningServer, display: None, tmp_path: Path
) -> None:
    """The real command in its own process, driven by real key presses (xdotool)."""
    if shutil.which("xdotool") is None:
        display_unavailable("xdotool is not installed (apt-get install xdotool)")
    observer = chat_server.connect("obs")
    env = safe_cli_env(XDG_CONFIG_HOME=str(tmp_path))
    command = [*LOCALCHAT, "run-client", "--host", "127.0.0.1"]
    process = subprocess.Popen(
        [*command, "--port", str(chat_server.port), "--name", "winnie"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        joined = observer.receive(timeout=15)
        assert isinstance(joined, p.Joined)
        assert joined.name == "winnie"

        def window() -> str:
            found = subprocess.run(
                ["xdotool", "search", "--name", "winnie on 127"],
                check=False,
                capture_output=True,
                text=True,
            )
            return found.stdout.split()[0] if found.stdout.split() else ""

        window_id = wait_until(window, timeout=10, what="the window")
        subprocess.run(["xdotool", "windowfocus", "--sync", window_id], check=True, timeout=10)
        subprocess.run(["xdotool", "type", "--delay", "5", "typed for real"], check=True)
        subprocess.run(["xdotool", "key", "Return"], check=True)
        said = observer.receive(timeout=10)
        assert isinstance(said, p.ChatMessage)
        assert (said.sender, said.text) == ("winnie", "typed for real")
        subprocess.run(["xdotool", "key", "Escape"], check=True)
        left = observer.receive(timeout=10)
        assert isinstance(left, p.Left)
        assert (left.name, left.reason) == ("winnie", "quit")
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
        _, errors = process.communicate(timeout=5)
    assert "Traceback" not in errors
