"""Transports: how clients reach the chat core.

A transport owns connections and their wire format. Inbound, it turns what a client sends
into commands and hands them to the :class:`CommandSink` (the dispatcher), in batches.
Outbound, the dispatcher calls :meth:`ServerTransport.deliver` with each event and its
recipients, then :meth:`ServerTransport.flush` once per batch, always from the dispatcher
thread; the transport encodes each event once and must never block there.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from localchat.domain.commands import Command
from localchat.domain.events import Event
from localchat.domain.model import SessionId


@dataclass(frozen=True, slots=True)
class Reply:
    """A transport's own answer to one of its client's frames (a ``pong``, a wire error).

    The chat core never sees it. It is submitted in line with the client's commands and
    handed back to the transport's :meth:`ServerTransport.deliver` in that order, after the
    answers to the frames before it: a client reads its answers in the order of its
    requests, which is how it matches an error (which names no request) to its cause.
    ``closes``: the transport ends the connection once it has sent ``payload``.
    """

    payload: bytes
    closes: bool = False


Inbound = Command | Reply
"""What a transport submits for a session."""

Outbound = Event | Reply
"""What the dispatcher hands back to a transport."""


class CommandSink(Protocol):
    """The dispatcher as transports see it. Every method is thread-safe."""

    def open_session(self, transport: ServerTransport) -> SessionId:
        """A new connection arrived: allocate its session id, owned by ``transport``."""
        ...

    def submit(self, batch: Sequence[tuple[SessionId, Inbound]]) -> None:
        """Queue commands (and replies), in order, for the dispatcher."""
        ...

    def backlog(self) -> int:
        """Commands submitted and not run yet, from every transport.

        A transport stops reading new frames while this is high, so the server's memory
        stays bounded whatever its clients send (flood control limits each client; this
        limits all of them together, also with flood control off).
        """
        ...


class ServerTransport(Protocol):
    """One way for clients to reach the server (TCP, in-memory, WebSocket, IRC...)."""

    name: str

    def start(self, sink: CommandSink) -> None:
        """Start serving; return once clients can connect."""
        ...

    def addresses(self) -> list[str]:
        """Where clients can reach this transport, for people (e.g. ``127.0.0.1:5050``)."""
        ...

    def deliver(self, event: Outbound, recipients: Sequence[SessionId]) -> None:
        """Queue ``event`` for each recipient it still serves. Dispatcher thread only."""
        ...

    def flush(self) -> None:
        """Send what :meth:`deliver` queued since the last flush. Dispatcher thread only."""
        ...

    def shutdown(self, timeout: float) -> None:
        """Stop accepting, tell every client ``shutting_down``, close; within ``timeout`` s."""
        ...


@dataclass(frozen=True, slots=True, kw_only=True)
class TransportOptions:
    """What every transport factory receives (the plug-in contract).

    A factory registered under the ``localchat.transports`` entry-point group is called as
    ``factory(options)`` and returns a :class:`ServerTransport`. Only TLS has a default:
    the composition root fills every other field from the settings, which keep the
    defaults.
    """

    host: str
    port: int
    server_software: str
    max_frame_bytes: int
    max_outbound_bytes: int
    handshake_timeout: float
    ping_interval: float
    idle_timeout: float
    rate_limit: float
    rate_burst: int
    max_pending: int
    tls_cert_file: str | None = None
    """PEM certificate (chain) for native transports that offer TLS; None = plain TCP."""
    tls_key_file: str | None = None
    """PEM private key matching ``tls_cert_file``."""


class TransportFactory(Protocol):
    def __call__(self, options: TransportOptions) -> ServerTransport: ...
