"""``localchat trust`` and ``localchat discover``: the LAN commands (TLS pins, mDNS).

Registered on the main typer app by :func:`register`. No logic beyond parsing and
printing: pins live in :mod:`localchat.adapters.tls.known_servers`, discovery in
:mod:`localchat.adapters.mdns`.
"""

from __future__ import annotations

from typing import Annotated

import typer

from localchat.adapters.tcp.client import ChatClient, ClientError
from localchat.adapters.tls.fingerprint import Fingerprint, InvalidFingerprint
from localchat.adapters.tls.known_servers import (
    InvalidAddress,
    ServerAddress,
    user_known_servers,
)

EXIT_USAGE = 2
EXIT_MISMATCH = 1


def _fail(message: str, code: int = EXIT_USAGE) -> typer.Exit:
    typer.echo(f"localchat: {message}", err=True)
    return typer.Exit(code)


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
        raise _fail(str(error)) from None
    known = user_known_servers()
    if forget:
        if known.forget(server):
            typer.echo(
                f"forgot the certificate pinned for {server}; the next connection asks again"
            )
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
        raise _fail(f"cannot get the certificate of {server}: {error}", EXIT_MISMATCH) from None
    pinned = known.get(server)
    typer.echo(f"{server} presents {presented}")
    if pinned is None:
        if accept:
            known.pin(server, presented)
            typer.echo(f"pinned it in {known.path}")
        else:
            typer.echo("not pinned yet; compare it with the server's, then run again with --accept")
    elif pinned == presented:
        typer.echo("it is the pinned certificate: trusted")
    else:
        raise _fail(
            f"WARNING: this is NOT the certificate pinned for {server} ({pinned}). Someone may "
            f"be intercepting the connection, or the server got a new certificate. If the "
            f"operator confirms it, run: localchat trust {server} --forget",
            EXIT_MISMATCH,
        )


def register(app: typer.Typer) -> None:
    """Add the LAN commands to the ``localchat`` app."""
    app.command("trust")(trust)
