"""TlsChannel back to back in memory: handshake, data both ways, plain-text detection."""

from __future__ import annotations

import ssl
import warnings

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from localchat.adapters.tls.certificate import ServerCertificate
from localchat.adapters.tls.channel import (
    TlsChannel,
    client_context,
    looks_like_tls,
    server_context,
)
from localchat.adapters.wire.framing import encode_frame


def _server(certificate: ServerCertificate) -> TlsChannel:
    return TlsChannel(
        server_context(str(certificate.cert_file), str(certificate.key_file)), server_side=True
    )


def _pair(certificate: ServerCertificate) -> tuple[TlsChannel, TlsChannel]:
    """A connected (client, server) pair."""
    server = _server(certificate)
    client = TlsChannel(client_context(), server_side=False)
    to_server = client.start()
    while not (client.established and server.established):
        server.receive(to_server)
        to_client = server.take_output()
        client.receive(to_client)
        to_server = client.take_output()
    if to_server:
        server.receive(to_server)
    return client, server


def test_handshake_shows_the_server_fingerprint(test_certificate: ServerCertificate) -> None:
    client, _ = _pair(test_certificate)
    assert client.peer_fingerprint() == test_certificate.fingerprint
    assert client.version in ("TLSv1.2", "TLSv1.3")


@settings(max_examples=25, deadline=None)
@given(st.lists(st.binary(min_size=1, max_size=3000), min_size=1, max_size=5), st.data())
def test_data_crosses_in_order_in_any_chunking(
    test_certificate: ServerCertificate, messages: list[bytes], data: st.DataObject
) -> None:
    client, server = _pair(test_certificate)
    wire = b"".join(client.encrypt(message) for message in messages)
    received = b""
    while wire:
        cut = data.draw(st.integers(1, len(wire)))
        received += server.receive(wire[:cut])
        wire = wire[cut:]
    assert received == b"".join(messages)
    assert client.receive(server.encrypt(b"back")) == b"back"


def test_a_close_notify_is_seen_as_the_end(test_certificate: ServerCertificate) -> None:
    client, server = _pair(test_certificate)
    assert server.receive(client.close_notify()) == b""
    assert server.peer_closed


def test_garbage_is_an_ssl_error(test_certificate: ServerCertificate) -> None:
    server = _server(test_certificate)
    with pytest.raises(ssl.SSLError):
        server.receive(b"\x16\x03\x01\x00\x05hello" + b"\x00" * 50)


def test_tls_1_1_is_refused(test_certificate: ServerCertificate) -> None:
    old = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    old.check_hostname = False
    old.verify_mode = ssl.CERT_NONE
    old.set_ciphers("DEFAULT:@SECLEVEL=0")  # let this OpenSSL offer TLS 1.1 at all
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        old.minimum_version = ssl.TLSVersion.TLSv1
        old.maximum_version = ssl.TLSVersion.TLSv1_1
    client = TlsChannel(old, server_side=False)
    server = _server(test_certificate)
    with pytest.raises(ssl.SSLError, match=r"(?i)version|protocol"):
        server.receive(client.start())
    assert server.take_output()[:1] == b"\x15"  # an alert tells the client why
    assert not server.established


def test_first_bytes_tell_tls_from_a_plain_frame() -> None:
    assert looks_like_tls(TlsChannel(client_context(), server_side=False).start()[0])
    assert not looks_like_tls(encode_frame(b'{"type":"hello"}')[0])
    assert not looks_like_tls(b"GET / HTTP/1.1"[0])
