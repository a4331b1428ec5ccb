"""Fingerprints: one spelling shown everywhere, and what people paste is understood."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from localchat.adapters.tls.fingerprint import Fingerprint, InvalidFingerprint

DIGEST = bytes(range(32))


def test_shown_like_openssl_with_a_prefix() -> None:
    text = str(Fingerprint(DIGEST))
    assert text.startswith("SHA256:00:01:02:03:")
    assert text.endswith(":1E:1F")
    assert len(text) == len("SHA256:") + 32 * 3 - 1


def test_of_certificate_is_the_sha256_of_the_der_bytes() -> None:
    der = b"\x30\x82certificate bytes"
    assert Fingerprint.of_certificate(der).digest == hashlib.sha256(der).digest()


@pytest.mark.parametrize(
    "spelling",
    [
        str(Fingerprint(DIGEST)),
        str(Fingerprint(DIGEST)).lower(),
        str(Fingerprint(DIGEST)).removeprefix("SHA256:"),
        DIGEST.hex(),
        "  sha256:" + DIGEST.hex().upper() + "\n",
    ],
)
def test_parse_accepts_what_people_paste(spelling: str) -> None:
    assert Fingerprint.parse(spelling) == Fingerprint(DIGEST)


@pytest.mark.parametrize(
    "text", ["", "SHA256:", DIGEST.hex()[:-2], DIGEST.hex() + "00", "zz" * 32, "MD5:" + "00" * 16]
)
def test_parse_rejects_anything_else(text: str) -> None:
    with pytest.raises(InvalidFingerprint):
        Fingerprint.parse(text)


def test_a_digest_must_have_32_bytes() -> None:
    with pytest.raises(InvalidFingerprint):
        Fingerprint(b"\x00" * 20)


@given(st.binary(min_size=32, max_size=32))
def test_round_trip_through_both_spellings(digest: bytes) -> None:
    fingerprint = Fingerprint(digest)
    assert Fingerprint.parse(str(fingerprint)) == fingerprint
    assert Fingerprint.parse(fingerprint.hex) == fingerprint
