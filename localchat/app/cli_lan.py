"""``localchat trust`` and ``localchat discover``: the LAN commands (TLS pins, mDNS), and
what ``run-server`` prints about TLS and announces by mDNS.

Registered on the main typer app by :func:`register`. No logic beyond parsing and
printing: pins live in :mod:`localchat.adapters.tls.known_servers`, discovery in
:mod:`localchat.adapters.mdns`.
"""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from localchat.adapters.mdns.advertiser import MdnsAdvertiser, NothingToAdvertise
from localchat.adapters.mdns.discovery import LanDiscovery
from localchat.adapters.tcp.client import (
    ChatClient,
    ClientError,
    NotTlsServer,
    ServerIdentityChanged,
    TlsTrust,
    UnknownServer,
)
from localchat.adapters.tls.certificate import ServerCertificate
from localchat.adapters.tls.fingerprint import Fingerprint, InvalidFingerprint
from localchat.adapters.tls.known_servers import (
    InvalidAddress,
    ServerAddress,
    forget_command,
    user_known_servers,
)
from localchat.app.bootstrap import LanReach, build_advertiser, server_name
from localchat.app.cli_support import fail
from localchat.app.server import LocalChatServer
from localchat.app.settings import Settings
from localchat.ports.discovery import NOTHING_FOUND_REASONS, DiscoveredServer

EXIT_MISMATCH = 1


def trust(
    address: Annotated[str, typer.Argument(help="The server, as HOST:PORT.")],
    forget: Annotated[
        bool, typer.Option("--forget", help="Forget the pinned certificate of this server.")
    ] = False,
    accept: Annotated[
        bool,
        typer.Option(
            "--accept", help="Pin the certificate the server presents now (if none is pinned)."
        ),
    ] = False,
    fingerprint: Annotated[
        str | None,
        typer.Option(
            help="Pin this fingerprint (SHA256:...) without connecting, e.g. one the operator "
            "read to you."
        ),
    ] = None,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the server.")] = 5.0,
) -> None:
    """Show, pin or forget a server's TLS certificate fingerprint (trust on first use).

    Without options: connect, show the fingerprint the server presents and whether it is
    the pinned one. Exit code 1 if it differs from the pinned one.
    """
    try:
        server = ServerAddress.parse(address)
        given = None if fingerprint is None else Fingerprint.parse(fingerprint)
    except (InvalidAddress, InvalidFingerprint) as error:
        raise fail(str(error)) from None
    known = user_known_servers()
    if forget:
        unencrypted = known.allows_unencrypted(server)
        if known.forget(server):
            what = "that you use it without encryption" if unencrypted else "the certificate pinned"
            typer.echo(f"forgot {what} for {server}; the next connection asks again")
        else:
            typer.echo(f"no certificate was pinned for {server}")
        return
    if given is not None:
        known.pin(server, given)
        typer.echo(f"pinned {given} for {server}")
        return
    try:
        presented = ChatClient.server_fingerprint(server.host, server.port, timeout=timeout)
    except (ClientError, OSError) as error:
        problem = f"cannot get the certificate of {server}: {error}"
        if isinstance(error, NotTlsServer) and known.allows_unencrypted(server):
            problem += (
                "; you chose earlier to use it without encryption (to be asked again: "
                f"{forget_command(server)})"
            )
        raise fail(problem, EXIT_MISMATCH) from None
    typer.echo(f"{server} presents {presented}")
    try:
        newly_pinned = TlsTrust(known_servers=known, accept_new=accept).check(server, presented)
    except UnknownServer:
        typer.echo("not pinned yet; compare it with the server's, then run again with --accept")
        return
    except ServerIdentityChanged as changed:
        raise fail(str(changed), EXIT_MISMATCH) from None
    if newly_pinned:
        typer.echo(f"pinned it in {known.path}")
    else:
        typer.echo("it is the pinned certificate: trusted")


NOTHING_FOUND = (
    f"no LocalChat server found. {NOTHING_FOUND_REASONS} You can still connect by address "
    "(HOST:PORT)."
)


def discover(
    timeout: Annotated[float, typer.Option(help="Seconds to listen for servers.")] = 3.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    interface: Annotated[
        list[str] | None,
        typer.Option(help="Look only through this local address (repeatable). [default: all]"),
    ] = None,
) -> None:
    """List LocalChat servers on the local network (mDNS/DNS-SD).

    Only servers that answer are listed, once each, with their best address first.
    """
    if timeout <= 0:
        raise fail("--timeout must be more than 0")
    try:
        with LanDiscovery(interfaces=interface) as discovery:
            for _ in discovery.watch(timeout=timeout):
                pass  # each change; what counts is the list when the time is up
            servers = discovery.servers()
    except OSError as error:
        raise fail(f"cannot look for servers: {error}", EXIT_MISMATCH) from None
    if as_json:
        typer.echo(json.dumps([_json(server) for server in servers], indent=2, ensure_ascii=False))
    elif servers:
        typer.echo(_table(servers))
    if not servers:
        typer.echo(f"localchat: {NOTHING_FOUND}", err=True)


def _json(server: DiscoveredServer) -> dict[str, object]:
    return {
        "name": server.name,
        "address": server.host,
        "port": server.port,
        "tls": server.tls,
        "password": server.password,
        "fingerprint": server.fingerprint,
        "addresses": list(server.addresses),
        "protocol": server.protocol,
        "key": server.key,
    }


def _table(servers: tuple[DiscoveredServer, ...]) -> str:
    rows = [("NAME", "ADDRESS", "PORT", "TLS", "PASSWORD")]
    rows += [
        (
            server.name,
            server.host if ":" not in server.host else f"[{server.host}]",
            str(server.port),
            "yes" if server.tls else "NO",
            "yes" if server.password else "no",
        )
        for server in servers
    ]
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


def announce_tls(certificate: ServerCertificate | None) -> None:
    """Say how clients can check they reach this server, or warn that nothing is encrypted."""
    if certificate is None:
        typer.echo(
            "localchat: WARNING: TLS is off (--no-tls): messages, names and the password "
            "cross the network in clear text, and anyone on it can read or change them. "
            "Use this only on a network you trust (or for benchmarks).",
            err=True,
        )
        return
    made = " (new: made on this first start)" if certificate.created else ""
    typer.echo(f"TLS certificate fingerprint{made}: {certificate.fingerprint}")
    typer.echo("  clients see it on first connect; it should match")
    sys.stdout.flush()


def start_advertising(
    settings: Settings,
    server: LocalChatServer,
    certificate: ServerCertificate | None,
    reach: LanReach | None,
) -> MdnsAdvertiser | None:
    """Announce the server by mDNS unless ``--no-advertise`` (``reach``: its
    :func:`~localchat.app.bootstrap.lan_reach`); say what happened."""
    if not settings.advertise:
        return None
    try:
        advertiser = build_advertiser(settings, server, certificate, reach)
        advertiser.start()
    except NothingToAdvertise as error:
        typer.echo(f"not announced on the local network: {error}")
        return None
    except OSError as error:
        typer.echo(f"not announced on the local network: mDNS failed: {error}", err=True)
        return None
    typer.echo(
        f"announced on the local network as {server_name(settings)!r} "
        f"(mDNS on {', '.join(advertiser.addresses)}; --no-advertise turns it off)"
    )
    sys.stdout.flush()
    return advertiser


def register(app: typer.Typer) -> None:
    """Add the LAN commands to the ``localchat`` app."""
    app.command("trust")(trust)
    app.command("discover")(discover)
