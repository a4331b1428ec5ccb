"""TLS over real sockets on 127.0.0.1: chat, trust on first use, mismatches, slow handshakes."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable

import pytest

from localchat.adapters.tcp.client import (
    ChatClient,
    NotTlsServer,
    ServerIdentityChanged,
    ServerRefused,
    TlsTrust,
    UnknownServer,
)
from localchat.adapters.tls.channel import TlsChannel, client_context
from localchat.adapters.tls.known_servers import KnownServers, ServerAddress
from localchat.adapters.wire import packets as p
from tests.fakes import OTHER_FINGERPRINT
from tests.helpers import wait_until
from tests.integration.support import next_packet
from tests.servers import RunningServer

StartServer = Callable[..., RunningServer]


def _trusting(known: KnownServers) -> TlsTrust:
    return TlsTrust(known_servers=known, accept_new=True)


def test_two_clients_chat_over_tls(start_server: StartServer, known: KnownServers) -> None:
    server = start_server(tls=True)
    ada = server.connect("ada", tls=_trusting(known))
    bob = server.connect("bob", tls=_trusting(known))
    text = "hello over TLS " + "é" * 3000
    bob.say(text)
    for client in (ada, bob):
        message = next_packet(client, p.ChatMessage)
        assert (message.sender, message.text, message.seq) == ("bob", text, 1)
    assert ada.fingerprint == server.fingerprint


def test_first_use_pins_then_trusts(start_server: StartServer, known: KnownServers) -> None:
    server = start_server(tls=True)
    first = server.connect("ada", tls=_trusting(known))
    assert first.newly_pinned
    assert known.get(ServerAddress.of("127.0.0.1", server.port)) == server.fingerprint
    again = server.connect("bob", tls=TlsTrust(known_servers=known))
    assert not again.newly_pinned


def test_first_use_without_consent_shows_the_fingerprint(
    start_server: StartServer, known: KnownServers
) -> None:
    server = start_server(tls=True)
    with pytest.raises(UnknownServer) as unknown:
        server.connect("ada", tls=TlsTrust(known_servers=known, advertised=server.fingerprint))
    assert unknown.value.fingerprint == server.fingerprint
    assert unknown.value.matches_advertisement is True
    assert str(server.fingerprint) in str(unknown.value)
    assert known.all() == {}
    # the person accepts: pin what was shown, connect again
    known.pin(unknown.value.address, unknown.value.fingerprint)
    server.connect("ada", tls=TlsTrust(known_servers=known))


def test_an_advertised_fingerprint_that_differs_is_never_pinned_silently(
    start_server: StartServer, known: KnownServers
) -> None:
    server = start_server(tls=True)
    trust = TlsTrust(known_servers=known, advertised=OTHER_FINGERPRINT, accept_new=True)
    with pytest.raises(UnknownServer, match="does NOT match") as unknown:
        server.connect("ada", tls=trust)
    assert unknown.value.matches_advertisement is False
    assert known.all() == {}


def test_a_changed_certificate_is_refused_loudly(
    start_server: StartServer, known: KnownServers
) -> None:
    server = start_server(tls=True)
    address = ServerAddress.of("127.0.0.1", server.port)
    known.pin(address, OTHER_FINGERPRINT)
    with pytest.raises(ServerIdentityChanged) as changed:
        server.connect("ada", tls=TlsTrust(known_servers=known, accept_new=True))
    assert changed.value.pinned == OTHER_FINGERPRINT
    assert changed.value.fingerprint == server.fingerprint
    assert "HAS CHANGED" in str(changed.value)
    assert f"localchat trust {address} --forget" in str(changed.value)
    assert known.get(address) == OTHER_FINGERPRINT  # nothing was re-pinned


def test_plain_client_on_the_tls_port_is_told_within_a_second(start_server: StartServer) -> None:
    server = start_server(tls=True)
    started = time.monotonic()
    with pytest.raises(ServerRefused) as refused:
        ChatClient.connect("127.0.0.1", server.port, name="ada", timeout=5)
    assert refused.value.code == "tls_required"
    assert "--no-tls" in refused.value.message
    assert time.monotonic() - started < 1.0


def test_tls_client_on_a_plain_port_is_told_within_a_second(
    start_server: StartServer, known: KnownServers
) -> None:
    server = start_server(tls=False)
    started = time.monotonic()
    with pytest.raises(NotTlsServer, match="does not speak TLS"):
        ChatClient.connect("127.0.0.1", server.port, name="ada", tls=_trusting(known), timeout=5)
    assert time.monotonic() - started < 1.0
    assert known.all() == {}


def test_stalled_handshakes_do_not_stall_others(
    start_server: StartServer, known: KnownServers
) -> None:
    server = start_server(tls=True, handshake_timeout=1.5)
    # one client says nothing at all, one stops in the middle of its ClientHello,
    # one sends a whole ClientHello and then never answers the server
    silent = socket.create_connection(("127.0.0.1", server.port))
    hello = TlsChannel(client_context(), server_side=False).start()
    halfway = socket.create_connection(("127.0.0.1", server.port))
    halfway.sendall(hello[: len(hello) // 2])
    mute = socket.create_connection(("127.0.0.1", server.port))
    mute.sendall(TlsChannel(client_context(), server_side=False).start())
    stalled = [silent, halfway, mute]

    started = time.monotonic()
    ada = server.connect("ada", tls=_trusting(known))
    bob = server.connect("bob", tls=_trusting(known))
    bob.say("not waiting for anyone")
    assert next_packet(ada, p.ChatMessage).text == "not waiting for anyone"
    assert time.monotonic() - started < 1.0

    # the stalled ones are closed once the handshake timeout has passed
    for sock in stalled:
        sock.settimeout(5)
        while sock.recv(4096):
            pass  # the server's handshake bytes, then EOF
        sock.close()
    closed_after = time.monotonic() - started
    assert closed_after > 1.0  # the handshake timeout, not at once
    assert closed_after < 5.0
    bob.say("still here")
    assert next_packet(ada, p.ChatMessage).text == "still here"


def test_a_broken_handshake_closes_that_connection_only(
    start_server: StartServer, known: KnownServers
) -> None:
    server = start_server(tls=True)
    ada = server.connect("ada", tls=_trusting(known))
    garbage = socket.create_connection(("127.0.0.1", server.port))
    garbage.sendall(b"\x16\x03\x01\x00\x05hello" + b"\x00" * 100)
    garbage.settimeout(5)
    while garbage.recv(4096):
        pass  # an alert, then EOF
    garbage.close()
    ada.say("fine")
    assert next_packet(ada, p.ChatMessage).text == "fine"


def test_many_handshakes_at_once(start_server: StartServer, known: KnownServers) -> None:
    server = start_server(tls=True)
    clients = [ChatClient.open("127.0.0.1", server.port, tls=_trusting(known)) for _ in range(20)]
    for index, client in enumerate(clients):
        client.send(p.Hello(name=f"user{index}", protocol=1))
    for client in clients:
        welcome = client.receive(timeout=5)
        assert isinstance(welcome, p.Welcome)
        server.clients.append(client)


def test_a_slow_reader_over_tls_is_dropped_alone(
    start_server: StartServer, known: KnownServers
) -> None:
    server = start_server(tls=True, max_outbound_bytes=64 * 1024)
    reader = server.connect("reader", tls=_trusting(known))
    sleeper = server.connect("sleeper", tls=_trusting(known))  # never reads again
    assert isinstance(reader.receive(timeout=5), p.Joined)
    text = "z" * 4000
    sent = 0
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        reader.say(text)
        sent += 1
        packet = reader.receive(timeout=5)
        if isinstance(packet, p.Left):
            break
        assert isinstance(packet, p.ChatMessage)
        assert packet.seq == sent
    else:
        pytest.fail("the sleeper was never dropped")
    assert packet == p.Left(room="#lobby", name="sleeper", at=packet.at, reason="disconnected")
    assert next_packet(reader, p.ChatMessage).seq == sent  # the echo that came after the departure
    reader.say("after")
    after = next_packet(reader, p.ChatMessage)
    assert (after.text, after.seq) == ("after", sent + 1)
    assert sleeper.fingerprint == server.fingerprint


def test_server_full_before_any_handshake_is_a_clear_refusal(
    start_server: StartServer, known: KnownServers
) -> None:
    server = start_server(tls=True, max_clients=1)
    waiting = socket.create_connection(("127.0.0.1", server.port))  # takes the one slot
    try:
        wait_until(lambda: server.transport.connection_count == 1, what="the waiting socket")
        with pytest.raises(ServerRefused) as refused:
            ChatClient.connect("127.0.0.1", server.port, name="ada", tls=_trusting(known))
        assert refused.value.code == "server_full"
    finally:
        waiting.close()
