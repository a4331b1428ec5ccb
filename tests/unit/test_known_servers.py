"""The pin store: one line per server, kept across programs, comments preserved."""

from __future__ import annotations

from pathlib import Path

import pytest

from localchat.adapters.tls.fingerprint import Fingerprint
from localchat.adapters.tls.known_servers import (
    InvalidAddress,
    KnownServers,
    KnownServersTrust,
    ServerAddress,
    user_known_servers,
)

ONE = Fingerprint(b"\x01" * 32)
TWO = Fingerprint(b"\x02" * 32)


@pytest.mark.parametrize(
    ("text", "host", "port", "shown"),
    [
        ("192.168.1.5:5050", "192.168.1.5", 5050, "192.168.1.5:5050"),
        ("Chat-Box.local:5050", "chat-box.local", 5050, "chat-box.local:5050"),
        ("[FE80::1]:7000", "fe80::1", 7000, "[fe80::1]:7000"),
    ],
)
def test_addresses_have_one_spelling(text: str, host: str, port: int, shown: str) -> None:
    address = ServerAddress.parse(text)
    assert (address.host, address.port, str(address)) == (host, port, shown)
    assert ServerAddress.parse(str(address)) == address


@pytest.mark.parametrize("text", ["host", "host:", "host:port", ":5050", "fe80::1:5050", "h:0"])
def test_bad_addresses_are_refused(text: str) -> None:
    with pytest.raises(InvalidAddress):
        ServerAddress.parse(text)


def test_nothing_is_pinned_in_a_new_store(tmp_path: Path) -> None:
    store = KnownServers(tmp_path / "known_servers")
    assert store.get(ServerAddress.of("10.0.0.1", 5050)) is None
    assert store.all() == {}
    assert not store.forget(ServerAddress.of("10.0.0.1", 5050))


def test_pins_persist_per_address(tmp_path: Path) -> None:
    path = tmp_path / "config" / "known_servers"
    first = ServerAddress.of("10.0.0.1", 5050)
    second = ServerAddress.of("10.0.0.1", 5051)
    KnownServers(path).pin(first, ONE)
    KnownServers(path).pin(second, TWO)
    reopened = KnownServers(path)
    assert reopened.get(first) == ONE
    assert reopened.get(second) == TWO
    assert reopened.get(ServerAddress.of("10.0.0.2", 5050)) is None


def test_pinning_again_replaces_and_forget_removes(tmp_path: Path) -> None:
    store = KnownServers(tmp_path / "known_servers")
    address = ServerAddress.of("Host.Local", 5050)
    store.pin(address, ONE)
    store.pin(ServerAddress.of("host.local", 5050), TWO)
    assert store.all() == {address: TWO}
    assert store.forget(address)
    assert store.get(address) is None
    assert str(TWO) not in store.path.read_text()


def test_comments_and_hand_edits_survive_a_rewrite(tmp_path: Path) -> None:
    path = tmp_path / "known_servers"
    path.write_text(f"# mine\nnot a pin line\n10.0.0.9:5050 {ONE.hex}\n")
    store = KnownServers(path)
    assert store.get(ServerAddress.of("10.0.0.9", 5050)) == ONE
    store.pin(ServerAddress.of("10.0.0.1", 5050), TWO)
    text = path.read_text()
    assert text.startswith("# mine\nnot a pin line\n")
    assert f"10.0.0.1:5050 {TWO}" in text


def test_a_new_file_explains_itself(tmp_path: Path) -> None:
    store = KnownServers(tmp_path / "known_servers")
    store.pin(ServerAddress.of("10.0.0.1", 5050), ONE)
    assert "localchat trust HOST:PORT --forget" in store.path.read_text()


def test_the_user_store_lives_in_the_config_directory(tmp_path: Path) -> None:
    # conftest points XDG_CONFIG_HOME at a throw-away directory for every test
    assert user_known_servers().path.parts[-2:] == ("localchat", "known_servers")
    assert "config" in user_known_servers().path.parts


def test_a_server_without_tls_can_be_remembered_and_a_pin_replaces_that(tmp_path: Path) -> None:
    path = tmp_path / "known_servers"
    address = ServerAddress.of("10.0.0.7", 5050)
    store = KnownServers(path)
    assert not store.allows_unencrypted(address)
    store.allow_unencrypted(address)
    reopened = KnownServers(path)
    assert reopened.allows_unencrypted(address)
    assert reopened.get(address) is None  # "unencrypted" is no fingerprint
    assert reopened.all() == {}
    assert "10.0.0.7:5050 unencrypted" in path.read_text()
    assert not reopened.allows_unencrypted(ServerAddress.of("10.0.0.7", 5051))

    reopened.pin(address, ONE)  # the server turned TLS on and the person trusted it
    assert not reopened.allows_unencrypted(address)
    assert reopened.get(address) == ONE
    assert "unencrypted" not in path.read_text().split("\n", 4)[-1]


def test_forget_drops_an_unencrypted_answer_too(tmp_path: Path) -> None:
    store = KnownServers(tmp_path / "known_servers")
    address = ServerAddress.of("10.0.0.7", 5050)
    store.allow_unencrypted(address)
    assert store.forget(address)
    assert not store.allows_unencrypted(address)
    assert not store.forget(address)


def test_the_trust_port_adapter_writes_what_the_session_reads(tmp_path: Path) -> None:
    store = KnownServers(tmp_path / "known_servers")
    trust = KnownServersTrust(store)
    trust.pin("[FE80::1]:7000", str(ONE))
    assert store.get(ServerAddress.parse("[fe80::1]:7000")) == ONE
    trust.allow_unencrypted("chat.local:5050")
    assert store.allows_unencrypted(ServerAddress.of("chat.local", 5050))
