"""Real Tk windows and the person's attention: the log stays where the person scrolled and
follows again at the bottom; in the background the title counts new messages and a mention
or a direct message rings the bell."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Literal

from tests.integration.gui.window_manager import focus_the_desktop
from tests.integration.gui.windows import TkClient, spin
from tests.servers import RunningServer

if TYPE_CHECKING:  # only for type hints: without tkinter these tests skip, see conftest
    import tkinter
    from tkinter import ttk


def shows_the_end(text: tkinter.Text) -> bool:
    """Whether the log is scrolled to its very end (the newest line fully in view)."""
    return text.yview()[1] == 1.0


def top_line(text: tkinter.Text) -> str:
    return text.get("@0,0 linestart", "@0,0 lineend")


def turn_the_wheel(client: TkClient, text: tkinter.Text, button: str, *, until: str) -> None:
    """Turn the mouse wheel (X11's buttons 4 and 5) until the log shows its top or end."""
    edge = 0 if until == "top" else 1

    def turn() -> bool:
        text.event_generate(button)
        return text.yview()[edge] == float(edge)

    spin(client, until=turn, what=f"the wheel to reach the {until}")
    client.root.update()  # the view notices the scroll once idle


def drag_the_scrollbar(client: TkClient, scrollbar: ttk.Scrollbar, *, to: str) -> None:
    """Press on the scrollbar's thumb, drag it past the top or bottom end, let go."""
    client.root.update()
    x = scrollbar.winfo_width() // 2
    height = scrollbar.winfo_height()
    thumb = [y for y in range(height) if "thumb" in str(scrollbar.identify(x, y))]
    assert thumb, "the scrollbar shows a thumb"
    grab = thumb[len(thumb) // 2]
    target = grab - height if to == "top" else grab + height
    scrollbar.event_generate("<ButtonPress-1>", x=x, y=grab)
    scrollbar.event_generate("<B1-Motion>", x=x, y=target)
    scrollbar.event_generate("<ButtonRelease-1>", x=x, y=target)
    client.root.update()


def test_the_log_stays_where_the_person_scrolled_and_follows_again_at_the_bottom(
    chat_server: RunningServer, open_window: Callable[..., TkClient]
) -> None:
    ada = open_window(chat_server.port, "ada")
    spin(ada, until=ada.connected)
    writer = chat_server.connect("writer")
    log = ada.view._logs["#lobby"]
    text = log.text

    def arrives(line: str) -> None:
        writer.say(line)
        spin(ada, until=lambda: line in ada.log(), what=line)
        ada.root.update()

    for n in range(1, 61):
        writer.say(f"line {n:02}")
    spin(ada, until=lambda: "line 60" in ada.log(), what="the first lines")
    spin(ada, until=lambda: shows_the_end(text), what="the log to follow")

    def stays_put(line: str) -> None:
        reading = top_line(text)
        arrives(line)
        assert top_line(text) == reading, "a new line moved what the person was reading"
        assert not shows_the_end(text)

    def follows(line: str) -> None:
        arrives(line)
        assert shows_the_end(text), "the log stopped following at the bottom"

    turn_the_wheel(ada, text, "<Button-4>", until="top")
    stays_put("while ada reads back (wheel)")
    drag_the_scrollbar(ada, log.scrollbar, to="bottom")
    follows("ada is back at the bottom (scrollbar)")
    drag_the_scrollbar(ada, log.scrollbar, to="top")
    stays_put("while ada reads back (scrollbar)")
    turn_the_wheel(ada, text, "<Button-5>", until="end")
    follows("ada is back at the bottom (wheel)")


class BellRecorder:
    """Counts the bells a window rings, then rings it for real: a wrapper around the view's
    own ``root.bell``, the one seam through which the window makes a sound."""

    def __init__(self, root: tkinter.Tk) -> None:
        self.rung = 0
        self._bell = root.bell
        root.bell = self.ring  # type: ignore[method-assign]

    def ring(self, displayof: Literal[0] | tkinter.Misc | None = 0) -> None:
        self.rung += 1
        self._bell(displayof)


def focused(client: TkClient) -> bool:
    return client.root.focus_displayof() is not None


def click_into(client: TkClient) -> None:
    """The person clicks into the window (with no window manager on Xvfb: ``focus -force``)."""
    client.view.input.focus_force()
    spin(client, until=lambda: focused(client), what="the focus")
    client.root.update()  # the view notices once idle


def click_away(client: TkClient) -> None:
    """The person clicks on the desktop: the window loses the keyboard focus."""
    focus_the_desktop()
    spin(client, until=lambda: not focused(client), what="the window to lose the focus")
    client.root.update()


def test_in_the_background_the_title_counts_and_a_mention_or_direct_message_rings(
    chat_server: RunningServer, open_window: Callable[..., TkClient]
) -> None:
    ada = open_window(chat_server.port, "ada")
    spin(ada, until=ada.connected)
    bob = chat_server.connect("bob")
    bells = BellRecorder(ada.root)
    click_into(ada)
    title = ada.root.title()
    assert title == f"LocalChat — ada on 127.0.0.1:{chat_server.port} (not encrypted)"

    def counted(text: str, count: int, key: str = "#lobby") -> None:
        spin(ada, until=lambda: text in ada.log(key), what=text)
        assert ada.root.title() == f"({count}) {title}"

    click_away(ada)
    bob.say("anyone around?")
    counted("anyone around?", 1)
    assert bells.rung == 0, "a plain message is counted, not rung"
    bob.say("ada, can you review my patch?")
    counted("ada, can you review my patch?", 2)
    assert bells.rung == 1
    bob.direct("ada", "just between us")
    counted("just between us", 3, key="@bob")
    assert bells.rung == 2

    click_into(ada)
    assert ada.root.title() == title
    bob.say("welcome back, ada")
    spin(ada, until=lambda: "welcome back, ada" in ada.log(), what="bob's line")
    assert ada.root.title() == title
    assert bells.rung == 2, "no bell while the window has the focus"
