"""Render the LocalChat window with a scripted conversation and save it as a PNG.

Usage: ``python scripts/screenshot.py [OUTPUT]`` (``make screenshot`` writes
``docs/screenshot.png``). Starts its own Xvfb (so the picture does not depend on the
desktop it runs on), a server on 127.0.0.1, a few scripted people, and the real client
window; the picture is taken with Pillow once the conversation is on screen.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

SIZE = (1100, 660)


@contextmanager
def virtual_display() -> Iterator[str]:
    """A fresh Xvfb; yields its DISPLAY value."""
    read_end, write_end = os.pipe()
    xvfb = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write_end), "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
        pass_fds=(write_end,),
        stderr=subprocess.DEVNULL,
    )
    os.close(write_end)
    try:
        with os.fdopen(read_end) as pipe:
            number = pipe.readline().strip()
        if not number:
            raise SystemExit("screenshot: Xvfb did not start (is it installed?)")
        yield f":{number}"
    finally:
        xvfb.terminate()
        xvfb.wait(timeout=5)


def wait_for(condition: Callable[[], object], pump: Callable[[], None], what: str) -> None:
    deadline = time.monotonic() + 15
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"screenshot: timed out waiting for {what}")
        pump()
        time.sleep(0.02)


def capture(root: Any, output: Path) -> None:
    """Save the window's pixels (Pillow reads them from the X display)."""
    from PIL import ImageGrab

    root.update()
    box = (
        root.winfo_rootx(),
        root.winfo_rooty(),
        root.winfo_rootx() + root.winfo_width(),
        root.winfo_rooty() + root.winfo_height(),
    )
    image = ImageGrab.grab(bbox=box, xdisplay=os.environ["DISPLAY"])
    output.parent.mkdir(parents=True, exist_ok=True)
    image.save(output)


def _tls_server(scratch: Path) -> tuple[Any, int, Any]:
    """A started server on 127.0.0.1 over TLS, as people run it, with a throw-away
    certificate pinned in a throw-away file: (server, port, pins)."""
    from localchat.adapters.memory.store import InMemoryMessageStore
    from localchat.adapters.tcp.transport import TcpServerTransport
    from localchat.adapters.tls.certificate import ensure_self_signed
    from localchat.adapters.tls.known_servers import KnownServers, ServerAddress
    from localchat.app.bootstrap import build_server, server_certificate, transport_options
    from localchat.app.settings import load_settings

    own = ensure_self_signed(scratch, "screenshot")
    settings = load_settings(
        {
            "host": "127.0.0.1",
            "port": 0,
            "rate_limit": 0,
            "advertise": False,
            "tls_cert": own.cert_file,
            "tls_key": own.key_file,
        }
    )
    transport = TcpServerTransport(transport_options(settings, server_certificate(settings)))
    server = build_server(settings, transports=[transport], store=InMemoryMessageStore())
    server.start()
    known = KnownServers(scratch / "known_servers")
    known.pin(ServerAddress.of("127.0.0.1", transport.port), own.fingerprint)
    return server, transport.port, known


def render(output: Path) -> None:
    from localchat.adapters.gui.connect import ConnectForm
    from localchat.adapters.gui.presenter import ChatPresenter
    from localchat.adapters.gui.tk_view import TkChatView
    from localchat.adapters.system_clock import SystemClock
    from localchat.adapters.tcp.client import ChatClient, TlsTrust
    from localchat.adapters.tcp.session import open_tcp_session
    from localchat.ports.session import ConnectTarget

    scratch = Path(tempfile.mkdtemp(prefix="localchat-screenshot-"))
    server, port, known = _tls_server(scratch)
    people: list[ChatClient] = []
    try:

        def person(name: str) -> ChatClient:
            client = ChatClient.connect(
                "127.0.0.1", port, name=name, tls=TlsTrust(known_servers=known)
            )
            people.append(client)
            return client

        grace, linus = person("Grace"), person("linus")
        grace.say("Morning all! The build is green again.")
        linus.say("Nice. Release notes are at https://example.org/notes/0.1")
        grace.join("#dev")

        view = TkChatView.open()
        view.root.geometry(f"{SIZE[0]}x{SIZE[1]}+0+0")
        presenter = ChatPresenter(
            view, functools.partial(open_tcp_session, known_servers=known), clock=SystemClock()
        )
        view.attach(presenter)
        presenter.start(ConnectTarget(host="127.0.0.1", port=port, name="ada"), ConnectForm())
        wait_for(lambda: "#lobby" in view.conversation_keys(), view.root.update, "the window")

        margaret = person("Margaret")
        linus.say("ada, can you look at the flaky test before lunch?")
        margaret.say("Shift+Enter makes a new line,\nEnter sends.")
        presenter.submit("On it. Give me ten minutes.")
        grace.say("Thanks ada!", room="#dev")
        linus.direct("ada", "Coffee later?")
        wait_for(
            lambda: (
                "@linus" in view.conversation_keys()
                and "Coffee later?" in view.log_text("@linus")
                and "On it." in view.log_text("#lobby")
            ),
            view.root.update,
            "the conversation",
        )
        presenter.conversation_selected("#lobby")
        for _ in range(20):
            view.root.update()
            time.sleep(0.02)
        capture(view.root, output)
        presenter.quit()
    finally:
        for client in people:
            client.close()
        server.stop(timeout=2)
        shutil.rmtree(scratch, ignore_errors=True)
    print(f"wrote {output}")  # noqa: T201 - a command-line tool


def main() -> None:
    output = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshot.png")
    with virtual_display() as display:
        os.environ["DISPLAY"] = display
        render(output)


if __name__ == "__main__":
    main()
