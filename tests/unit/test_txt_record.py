"""The TXT record: what a server announces survives the trip; foreign records are refused."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from localchat.adapters.mdns.txt import (
    MAX_INSTANCE_BYTES,
    MAX_NAME_BYTES,
    SERVICE_TYPE,
    InvalidAdvert,
    ServerAdvert,
    decode_txt,
    encode_txt,
    instance_name,
    label_of,
)
from localchat.adapters.tls.fingerprint import Fingerprint

FINGERPRINT = Fingerprint(bytes(range(32)))


def test_the_record_holds_every_field() -> None:
    advert = ServerAdvert(
        name="Team room", protocol=1, password=True, tls=True, fingerprint=FINGERPRINT
    )
    assert encode_txt(advert) == {
        b"txtvers": b"1",
        b"proto": b"1",
        b"name": b"Team room",
        b"pw": b"1",
        b"tls": b"1",
        b"fp": FINGERPRINT.hex.encode(),
    }


def test_no_fingerprint_without_tls() -> None:
    advert = ServerAdvert(name="x", tls=False, fingerprint=FINGERPRINT)
    assert b"fp" not in encode_txt(advert)
    assert encode_txt(advert)[b"tls"] == b"0"


@given(
    name=st.text(min_size=1, max_size=60).filter(lambda n: n.strip() == n and n),
    protocol=st.integers(0, 999),
    password=st.booleans(),
    tls=st.booleans(),
    digest=st.none() | st.binary(min_size=32, max_size=32),
)
def test_round_trip(
    name: str, protocol: int, password: bool, tls: bool, digest: bytes | None
) -> None:
    advert = ServerAdvert(
        name=name,
        protocol=protocol,
        password=password,
        tls=tls,
        fingerprint=None if digest is None or not tls else Fingerprint(digest),
    )
    assert decode_txt(encode_txt(advert), "fallback") == advert


def test_long_names_are_cut_at_a_character_boundary() -> None:
    encoded = encode_txt(ServerAdvert(name="é" * 300))[b"name"]
    assert len(encoded) <= MAX_NAME_BYTES
    assert encoded.decode("utf-8") == "é" * (MAX_NAME_BYTES // 2)


def test_decoding_is_lenient_where_it_can_be() -> None:
    advert = decode_txt(
        {b"PROTO": b"2", b"tls": b"1", b"fp": b"broken", b"future": b"x", b"pw": None},
        "Instance label",
    )
    assert advert == ServerAdvert(
        name="Instance label", protocol=2, password=False, tls=True, fingerprint=None
    )


@pytest.mark.parametrize(
    "properties", [{}, {b"proto": b"one"}, {b"proto": None}, {b"proto": b"-1"}]
)
def test_records_without_a_protocol_version_are_not_ours(
    properties: dict[bytes, bytes | None],
) -> None:
    with pytest.raises(InvalidAdvert):
        decode_txt(properties, "x")


def test_instance_names_fit_a_dns_label_and_keep_host_and_port() -> None:
    name = instance_name("Ünïcode room " * 10, "chat-box", 5050)
    assert len(name.encode("utf-8")) <= MAX_INSTANCE_BYTES
    assert name.endswith(" (chat-box:5050)")
    assert instance_name("chat-box", "chat-box", 5050) == "chat-box (5050)"
    assert "." not in instance_name("a.b", "host.example", 1)


def test_label_of_a_service_name() -> None:
    assert label_of(f"Team room (vm:5050).{SERVICE_TYPE}") == "Team room (vm:5050)"
