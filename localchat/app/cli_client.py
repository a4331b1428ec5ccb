"""``localchat run-client``: compose the desktop client and run it. No chat logic.

The composition root of the client: the TCP session (TLS checked against the person's
pinned certificates, unless ``--no-tls``), the presenter, the preferences file, servers found
by mDNS for the connect dialog (unless ``--no-discover``) and a view (the Tk window, or with
``--terminal`` the line-based view). The password comes from the dialog or
``LOCALCHAT_PASSWORD``, never from a flag (it would sit in the shell history and the process
list). Whatever goes wrong is one readable line: no traceback.
"""

from __future__ import annotations

import functools
import os
import signal
import sys
from types import FrameType
from typing import Annotated

import typer

from localchat.adapters.gui.connect import ConnectForm
from localchat.adapters.gui.discovery_feed import DiscoveryFeed
from localchat.adapters.gui.preferences import JsonPreferences, default_preferences_path
from localchat.adapters.gui.presenter import ChatPresenter, ChatView
from localchat.adapters.gui.terminal_view import TerminalChatView
from localchat.adapters.mdns.discovery import LanDiscovery
from localchat.adapters.system_clock import SystemClock
from localchat.adapters.tcp.session import open_tcp_session
from localchat.adapters.tls.known_servers import KnownServersTrust, user_known_servers
from localchat.app.cli_support import configure_logging, fail
from localchat.ports.discovery import ServerDirectory
from localchat.ports.session import DEFAULT_PORT, ConnectTarget

PASSWORD_VARIABLE = "LOCALCHAT_PASSWORD"
EXIT_NO_DISPLAY = 2


def initial_form(
    host: str | None, port: int | None, name: str | None, preferences: JsonPreferences
) -> ConnectForm:
    """The dialog pre-filled: flags first, then the last values used, then defaults."""
    last = preferences.load()
    return ConnectForm(
        host=host or (last.host if last else "127.0.0.1"),
        port=str(port or (last.port if last else DEFAULT_PORT)),
        name=name or (last.name if last else ""),
        focus="host" if host is None else "name",
    )


def password_from_environment() -> str | None:
    """The server password from :data:`PASSWORD_VARIABLE`, None when unset or empty."""
    return os.environ.get(PASSWORD_VARIABLE) or None


def build_presenter(
    view: ChatView,
    preferences: JsonPreferences,
    *,
    tls: bool,
    directory: ServerDirectory | None,
) -> ChatPresenter:
    """The presenter wired to TCP sessions: over TLS with the person's pins, or plain."""
    known = user_known_servers()
    return ChatPresenter(
        view,
        functools.partial(open_tcp_session, known_servers=known if tls else None),
        clock=SystemClock(),
        preferences=preferences,
        directory=directory,
        trust=KnownServersTrust(known),
        fallback_password=password_from_environment(),
    )


def run_client(
    host: Annotated[
        str | None, typer.Option(help="Server address. Without it (or --name) a dialog asks.")
    ] = None,
    port: Annotated[int | None, typer.Option(help="Server port. [default: 5050]")] = None,
    name: Annotated[str | None, typer.Option(help="Your name in the chat.")] = None,
    terminal: Annotated[
        bool,
        typer.Option(
            "--terminal", help="No window: print the chat, read lines and /commands from stdin."
        ),
    ] = False,
    tls: Annotated[
        bool,
        typer.Option(
            "--tls/--no-tls",
            envvar="LOCALCHAT_TLS",
            help="Encrypt with TLS and check the server's certificate (trust on first use). "
            "--no-tls talks plain TCP without asking, for servers run with --no-tls.",
        ),
    ] = True,
    discover: Annotated[
        bool,
        typer.Option(
            "--discover/--no-discover",
            envvar="LOCALCHAT_DISCOVER",
            help="List the servers found on the network (mDNS) in the connect dialog.",
        ),
    ] = True,
) -> None:
    """Chat: open the LocalChat window (or, with --terminal, chat on stdin/stdout).

    The password, when the server has one, is asked in the dialog or read from the
    LOCALCHAT_PASSWORD environment variable. The first connection to a server shows its
    certificate fingerprint and asks whether to trust it; see `localchat trust`.
    """
    configure_logging("warning")
    if port is not None and not 1 <= port <= 65535:
        raise fail("--port must be from 1 to 65535")
    preferences = JsonPreferences(default_preferences_path())
    form = initial_form(host, port, name, preferences)
    target = None
    if host and name:
        target = ConnectTarget(
            host=host,
            port=port or DEFAULT_PORT,
            name=name,
            password=password_from_environment(),
        )
    directory = DiscoveryFeed(LanDiscovery()) if discover else None
    try:
        if terminal:
            view = TerminalChatView(sys.stdin, sys.stdout)
            presenter = build_presenter(view, preferences, tls=tls, directory=directory)
            presenter.start(target, form)
            code = view.run(presenter)
        else:
            code = _run_window(target, form, preferences, tls=tls, directory=directory)
    finally:
        if directory is not None:
            directory.close()
    raise typer.Exit(code)


def _run_window(
    target: ConnectTarget | None,
    form: ConnectForm,
    preferences: JsonPreferences,
    *,
    tls: bool,
    directory: DiscoveryFeed | None,
) -> int:
    try:
        from localchat.adapters.gui.tk_view import DisplayUnavailable, TkChatView
    except ImportError:
        raise fail(
            "Tk is not installed for this Python (on Debian/Ubuntu: "
            "apt install python3-tk); use --terminal to chat without a window",
            EXIT_NO_DISPLAY,
        ) from None
    try:
        window = TkChatView.open()
    except DisplayUnavailable as error:
        raise fail(f"{error}; use --terminal to chat without a window", EXIT_NO_DISPLAY) from None
    presenter = build_presenter(window, preferences, tls=tls, directory=directory)

    def interrupted(signum: int, frame: FrameType | None) -> None:
        window.request_quit()

    signal.signal(signal.SIGINT, interrupted)
    signal.signal(signal.SIGTERM, interrupted)
    presenter.start(target, form)
    window.run(presenter)
    return 0


def register(app: typer.Typer) -> None:
    """Add ``run-client`` to the ``localchat`` command."""
    app.command("run-client")(run_client)
