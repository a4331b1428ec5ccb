"""TcpChatSession over TLS against real servers on 127.0.0.1: trust on first use, pins on
reconnect, a changed certificate refused once (never retried), servers without TLS."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from localchat.adapters.memory.store import InMemoryMessageStore
from localchat.adapters.tcp.client import TlsTrust
from localchat.adapters.tcp.session import TcpChatSession
from localchat.adapters.tls.certificate import ensure_self_signed
from localchat.adapters.tls.known_servers import KnownServers, ServerAddress
from localchat.adapters.wire import packets as p
from localchat.domain.commands import PostMessage
from localchat.domain.events import MessagePosted, Welcomed
from localchat.domain.names import LOBBY
from localchat.ports.session import (
    CertificateChanged,
    ConnectionDropped,
    ConnectionOpened,
    ConnectTarget,
    UnencryptedServerReached,
    UnknownCertificatePresented,
)
from tests.fakes import OTHER_FINGERPRINT
from tests.helpers import wait_until
from tests.integration.sessions import OpenSession, Recorder, open_fast
from tests.integration.support import next_packet
from tests.servers import RunningServer

StartServer = Callable[..., RunningServer]


@pytest.fixture
def open_tls(open_session: OpenSession, known: KnownServers) -> OpenSession:
    """Sessions over TLS, checked against ``known``."""
    return functools.partial(open_session, known_servers=known)


def stopped(session: TcpChatSession) -> bool:
    thread: threading.Thread = session._thread
    return not thread.is_alive()


def address(server: RunningServer) -> ServerAddress:
    return ServerAddress.of("127.0.0.1", server.port)


def test_first_contact_stops_with_the_fingerprint_and_a_pin_lets_the_next_one_in(
    start_server: StartServer, open_tls: OpenSession, known: KnownServers
) -> None:
    server = start_server(tls=True)
    session, events = open_tls(server.port, advertised_fingerprint=str(OTHER_FINGERPRINT))
    unknown = events.next(UnknownCertificatePresented)
    assert unknown == UnknownCertificatePresented(
        address=f"127.0.0.1:{server.port}",
        fingerprint=str(server.fingerprint),
        advertised=str(OTHER_FINGERPRINT),
    )
    wait_until(lambda: stopped(session), what="the session to stop")
    assert events.events.empty()  # no retry, no drop: the person decides
    assert known.all() == {}

    known.pin(address(server), server.fingerprint)
    _, events = open_tls(server.port)
    opened = events.next(ConnectionOpened)
    assert opened.fingerprint == str(server.fingerprint)
    events.next(Welcomed)
    _, bob = open_tls(server.port, "bob")
    bob.next(Welcomed)


def test_a_pinned_server_chats_over_tls(
    start_server: StartServer, open_tls: OpenSession, known: KnownServers
) -> None:
    server = start_server(tls=True)
    known.pin(address(server), server.fingerprint)
    observer = server.connect("obs", tls=TlsTrust(known_servers=known))
    ada, ada_events = open_tls(server.port)
    ada_events.next(Welcomed)
    assert ada.send(PostMessage(text="over TLS", room=LOBBY))
    posted = ada_events.next(MessagePosted)
    assert (posted.message.sender, posted.message.text) == ("ada", "over TLS")
    said = next_packet(observer, p.ChatMessage)
    assert (said.sender, said.text) == ("ada", "over TLS")


def test_a_different_certificate_is_refused_once_and_never_retried(
    start_server: StartServer, open_tls: OpenSession, known: KnownServers
) -> None:
    server = start_server(tls=True)
    known.pin(address(server), OTHER_FINGERPRINT)
    session, events = open_tls(server.port)
    changed = events.next(CertificateChanged)
    assert changed == CertificateChanged(
        address=f"127.0.0.1:{server.port}",
        pinned=str(OTHER_FINGERPRINT),
        presented=str(server.fingerprint),
    )
    wait_until(lambda: stopped(session), what="the session to stop")
    assert events.events.empty()
    assert known.get(address(server)) == OTHER_FINGERPRINT  # the pin is never replaced silently


def test_reconnects_reuse_the_pin_and_a_new_certificate_stops_them(
    start_server: StartServer, open_tls: OpenSession, known: KnownServers, tmp_path: Path
) -> None:
    store = InMemoryMessageStore()
    server = start_server(tls=True, store=store)
    port = server.port
    known.pin(address(server), server.fingerprint)
    session, events = open_tls(port)
    events.next(Welcomed)

    server.server.stop(timeout=2)
    assert events.next(ConnectionDropped).retry_in is not None
    restarted = start_server(tls=True, store=store, port=port)  # same certificate: silently
    opened = events.next(ConnectionOpened, timeout=10)
    assert opened.fingerprint == str(server.fingerprint)
    events.next(Welcomed)

    restarted.server.stop(timeout=2)
    assert events.next(ConnectionDropped).retry_in is not None
    other = ensure_self_signed(tmp_path / "other", "impostor")
    start_server(tls=True, store=store, port=port, tls_cert=other.cert_file, tls_key=other.key_file)
    changed = events.next(CertificateChanged, timeout=10)
    assert changed.presented == str(other.fingerprint)
    wait_until(lambda: stopped(session), what="the session to give up")
    leftover = []
    while not events.events.empty():
        leftover.append(events.events.get())
    assert not any(isinstance(e, ConnectionDropped | ConnectionOpened) for e in leftover)


def test_a_server_without_tls_is_used_only_once_the_person_agreed(
    start_server: StartServer, open_tls: OpenSession, known: KnownServers
) -> None:
    server = start_server()  # plain TCP (--no-tls)
    session, events = open_tls(server.port, password="never sent in clear")
    reached = events.next(UnencryptedServerReached)
    assert reached == UnencryptedServerReached(address=f"127.0.0.1:{server.port}", pinned=None)
    wait_until(lambda: stopped(session), what="the session to stop")

    known.allow_unencrypted(address(server))
    _, events = open_tls(server.port)
    assert events.next(ConnectionOpened).fingerprint is None
    events.next(Welcomed)


def test_a_pinned_server_answering_without_tls_is_a_downgrade(
    start_server: StartServer, open_tls: OpenSession, known: KnownServers
) -> None:
    server = start_server()
    known.pin(address(server), OTHER_FINGERPRINT)
    session, events = open_tls(server.port)
    assert events.next(UnencryptedServerReached).pinned == str(OTHER_FINGERPRINT)
    wait_until(lambda: stopped(session), what="the session to stop")


def test_a_plain_session_to_a_tls_server_gives_up_with_tls_required(
    start_server: StartServer,
) -> None:
    server = start_server(tls=True)
    events = Recorder()
    session = open_fast(ConnectTarget(host="127.0.0.1", port=server.port, name="ada"), events)
    try:
        dropped = events.next(ConnectionDropped)
        assert (dropped.code, dropped.retry_in) == ("tls_required", None)
    finally:
        session.close()
