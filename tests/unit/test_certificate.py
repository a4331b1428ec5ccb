"""The server certificate: made once, reused, and checked when it is the person's own."""

from __future__ import annotations

import ssl
import stat
from pathlib import Path

import pytest

from localchat.adapters.tls.certificate import (
    CERT_FILE,
    KEY_FILE,
    CertificateError,
    ensure_self_signed,
    fingerprint_of_pem,
    load_certificate,
)
from localchat.adapters.tls.fingerprint import Fingerprint


def test_made_on_first_use_then_reused(tmp_path: Path) -> None:
    first = ensure_self_signed(tmp_path / "tls", "room")
    again = ensure_self_signed(tmp_path / "tls", "room")
    assert first.created
    assert not again.created
    assert again.fingerprint == first.fingerprint
    assert first.cert_file == tmp_path / "tls" / CERT_FILE


def test_the_key_is_private(tmp_path: Path) -> None:
    made = ensure_self_signed(tmp_path, "room")
    assert stat.S_IMODE(made.key_file.stat().st_mode) == 0o600
    assert not list(tmp_path.glob(".*tmp"))


def test_fingerprint_is_that_of_the_der_certificate(tmp_path: Path) -> None:
    made = ensure_self_signed(tmp_path, "room")
    der = ssl.PEM_cert_to_DER_cert(made.cert_file.read_text())
    assert made.fingerprint == Fingerprint.of_certificate(der)
    assert fingerprint_of_pem(made.cert_file.read_text()) == made.fingerprint


def test_a_key_of_another_certificate_is_refused(tmp_path: Path) -> None:
    one = ensure_self_signed(tmp_path / "one", "one")
    two = ensure_self_signed(tmp_path / "two", "two")
    with pytest.raises(CertificateError, match="cannot use TLS certificate"):
        load_certificate(one.cert_file, two.key_file)


def test_missing_files_are_named(tmp_path: Path) -> None:
    with pytest.raises(CertificateError, match="does not exist"):
        load_certificate(tmp_path / "cert.pem", tmp_path / KEY_FILE)


def test_an_unwritable_directory_is_one_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(CertificateError, match="cannot create a TLS certificate"):
        ensure_self_signed(blocker / "tls", "room")
