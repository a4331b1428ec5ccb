"""The ``localchat`` command (typer): parse, build settings, bootstrap, run. No chat logic.

Errors a person can fix (a bad setting, a busy port) are one line on stderr and exit code
2; nobody sees a traceback.
"""

from __future__ import annotations

import logging
import signal
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from localchat import __version__
from localchat.adapters.memory.store import DEFAULT_KEEP_PER_ROOM
from localchat.app import cli_lan
from localchat.app.bootstrap import (
    MEMORY_STORE,
    LanReach,
    build_server,
    lan_reach,
    server_certificate,
    server_name,
    store_path,
)
from localchat.app.cli_client import register as register_client_commands
from localchat.app.cli_store import register_store_commands
from localchat.app.cli_support import configure_logging, fail
from localchat.app.runtime_tuning import raise_open_file_limit, tune_collector_for_serving
from localchat.app.server import SHUTDOWN_SECONDS, LocalChatServer
from localchat.app.settings import LogLevel, Settings, SettingsError, load_settings
from localchat.app.stop_signals import StopSignals
from localchat.domain.protocol import PROTOCOL_VERSION
from localchat.ports.store import StoreError

app = typer.Typer(
    name="localchat",
    help="LocalChat: chat for a local network. Start a server with `localchat run-server`.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


MEMORY_HISTORY = f"the last {DEFAULT_KEEP_PER_ROOM:,} messages per room"


def _default(setting: str, note: str = "") -> str:
    """`` [default: ...]`` for an option's help, read from :class:`Settings`, which keeps
    every default (the options themselves default to None: unset flags leave the
    environment and the config file their say)."""
    value = Settings.model_fields[setting].default
    shown = f"{value:g}" if isinstance(value, float) else str(value)
    return f" [default: {shown}{note}]"


def _version(value: bool) -> None:
    if value:
        typer.echo(f"localchat {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    """LocalChat: chat for a local network."""


def _announce(server: LocalChatServer, reach: LanReach | None) -> None:
    for address in server.addresses():
        typer.echo(f"listening on {address}")
    if reach is not None and reach.every_interface and reach.addresses:
        typer.echo("people on your network can connect to:")
        for address in reach.addresses:
            typer.echo(f"  {address}:{reach.transport.port}")
    sys.stdout.flush()


def _announce_store(path: Path | None) -> None:
    if path is None:
        typer.echo(f"message history: in memory only ({MEMORY_HISTORY})")
    else:
        typer.echo(f"message history: {path}")


@app.command("run-server")
def run_server(
    host: Annotated[
        str | None,
        typer.Option(help="Address to listen on." + _default("host", ", every interface")),
    ] = None,
    port: Annotated[
        int | None, typer.Option(help="TCP port; 0 picks a free one." + _default("port"))
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option("--config", help="TOML file with settings (flags and env win over it)."),
    ] = None,
    transport: Annotated[
        str | None,
        typer.Option(help="Transport(s) to serve, comma-separated." + _default("transport")),
    ] = None,
    max_clients: Annotated[
        int | None, typer.Option(help="Registered users at once." + _default("max_clients"))
    ] = None,
    password: Annotated[
        str | None,
        typer.Option(
            help="Password clients must send. Prefer the LOCALCHAT_PASSWORD variable, "
            "which stays out of your shell history.",
        ),
    ] = None,
    handshake_timeout: Annotated[
        float | None,
        typer.Option(
            help="Seconds a new connection has to send hello." + _default("handshake_timeout")
        ),
    ] = None,
    ping_interval: Annotated[
        float | None,
        typer.Option(help="Seconds of client silence before a ping." + _default("ping_interval")),
    ] = None,
    idle_timeout: Annotated[
        float | None,
        typer.Option(help="Seconds of client silence before a drop." + _default("idle_timeout")),
    ] = None,
    rate_limit: Annotated[
        float | None,
        typer.Option(
            help="Frames per second per client after the burst; 0 = off." + _default("rate_limit")
        ),
    ] = None,
    rate_burst: Annotated[
        int | None, typer.Option(help="Frames a client may send at once." + _default("rate_burst"))
    ] = None,
    max_frame_bytes: Annotated[
        int | None, typer.Option(help="Largest frame accepted." + _default("max_frame_bytes"))
    ] = None,
    max_outbound_bytes: Annotated[
        int | None,
        typer.Option(
            help="Per-client send buffer; a client behind by more is dropped."
            + _default("max_outbound_bytes")
        ),
    ] = None,
    max_text_chars: Annotated[
        int | None, typer.Option(help="Longest message text." + _default("max_text_chars"))
    ] = None,
    log_level: Annotated[
        LogLevel | None, typer.Option(help="debug, info, warning or error." + _default("log_level"))
    ] = None,
    tls: Annotated[
        bool | None,
        typer.Option(
            "--tls/--no-tls",
            help="Encrypt with TLS (a self-signed certificate is made on first start). "
            "--no-tls sends everything in clear text. [default: --tls]",
        ),
    ] = None,
    tls_cert: Annotated[
        Path | None, typer.Option(help="Your own PEM certificate (with --tls-key).")
    ] = None,
    tls_key: Annotated[Path | None, typer.Option(help="The PEM private key of --tls-cert.")] = None,
    advertise: Annotated[
        bool | None,
        typer.Option(
            "--advertise/--no-advertise",
            help="Announce the server on the local network (mDNS) so clients find it. "
            "[default: --advertise]",
        ),
    ] = None,
    name: Annotated[
        str | None, typer.Option(help="Server name shown to people. [default: the host name]")
    ] = None,
    store: Annotated[
        str | None,
        typer.Option(
            help="SQLite file for the message history. "
            "[default: history.db in your data directory, printed at start-up]"
        ),
    ] = None,
    no_store: Annotated[
        bool,
        typer.Option(
            "--no-store",
            help=f"Keep history in memory only ({MEMORY_HISTORY}; lost at exit).",
        ),
    ] = False,
) -> None:
    """Run a LocalChat server until Ctrl+C (or SIGTERM).

    Settings come from flags, then LOCALCHAT_* environment variables, then --config, then
    defaults. Clients connect with `localchat run-client`.
    """
    # Every flag named like its setting passes as it is (None: not given); two are renamed.
    flags = {key: value for key, value in locals().items() if key in Settings.model_fields}
    overrides = {**flags, "server_name": name, "store": MEMORY_STORE if no_store else store}
    if no_store and store is not None:
        raise fail("--store and --no-store exclude each other")
    try:
        settings = load_settings(overrides, config_file=config)
        certificate = server_certificate(settings)
        server = build_server(settings, certificate=certificate)
    except (SettingsError, StoreError) as error:
        raise fail(str(error)) from None
    configure_logging(settings.log_level)
    raise_open_file_limit()

    with StopSignals() as stop:  # before any thread starts: see stop_signals.py
        try:
            server.start()
        except OSError as error:  # the server closed its store
            raise fail(
                f"cannot listen on {settings.host}:{settings.port}: {error.strerror or error}"
            ) from None
        advertiser = None
        try:
            _announce_store(store_path(settings))
            reach = lan_reach(server)  # lists the network interfaces: once
            _announce(server, reach)
            cli_lan.announce_tls(certificate)
            advertiser = cli_lan.start_advertising(settings, server, certificate, reach)
            tune_collector_for_serving()
            logging.getLogger("localchat").info(
                "server %r ready (protocol %d, max %d clients)",
                server_name(settings),
                PROTOCOL_VERSION,
                settings.max_clients,
            )
            signum = stop.wait()
            logging.getLogger("localchat").info("%s: shutting down", signal.Signals(signum).name)
        finally:  # also after an error: clients are told, the store is closed
            deadline = time.monotonic() + SHUTDOWN_SECONDS
            if advertiser is not None:
                advertiser.close()  # the goodbye announcements come out of the same budget
            server.stop(max(0.5, deadline - time.monotonic()))


register_client_commands(app)
register_store_commands(app)
cli_lan.register(app)


def main() -> None:
    """Console-script entry point."""
    app()
