"""The server's certificate: a self-signed one made on first start, or the person's own.

Why self-signed by default: on a LAN there is rarely a domain name or a certificate
authority, and people should get encryption without setting anything up. Clients pin the
fingerprint on first use (:mod:`.known_servers`) instead of asking an authority.

The key is ECDSA P-256: made in milliseconds, and its handshakes cost far less CPU than RSA's
(the server does one per connection, on its single I/O thread). The key file is written
with mode 0600 before any byte of the key goes in, and both files are replaced atomically,
so a crash never leaves half a key behind.
"""

from __future__ import annotations

import datetime
import os
import ssl
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from localchat.adapters.tls.fingerprint import Fingerprint

CERT_FILE = "server-cert.pem"
KEY_FILE = "server-key.pem"
VALID_DAYS = 10 * 365


class CertificateError(Exception):
    """The certificate or key cannot be used; ``str()`` is one line for a person."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ServerCertificate:
    """Where the server's certificate and key are, and the certificate's fingerprint."""

    cert_file: Path
    key_file: Path
    fingerprint: Fingerprint
    created: bool = False
    """True when this start made the files (the first start)."""


def ensure_self_signed(directory: Path, common_name: str) -> ServerCertificate:
    """The self-signed certificate kept in ``directory``; made there on first use."""
    cert_file = directory / CERT_FILE
    key_file = directory / KEY_FILE
    if cert_file.exists() and key_file.exists():
        return load_certificate(cert_file, key_file)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        key = ec.generate_private_key(ec.SECP256R1())
        cert_pem = _self_signed(key, common_name).public_bytes(serialization.Encoding.PEM)
        key_pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        _write_atomically(key_file, key_pem, mode=0o600)
        _write_atomically(cert_file, cert_pem, mode=0o644)
    except OSError as error:
        raise CertificateError(
            f"cannot create a TLS certificate in {directory}: {error.strerror or error}"
        ) from None
    loaded = load_certificate(cert_file, key_file)
    return ServerCertificate(
        cert_file=loaded.cert_file,
        key_file=loaded.key_file,
        fingerprint=loaded.fingerprint,
        created=True,
    )


def load_certificate(cert_file: Path, key_file: Path) -> ServerCertificate:
    """Check that the files hold a usable certificate and matching key; read the fingerprint."""
    try:
        ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(cert_file, key_file)
        pem = cert_file.read_text(encoding="ascii")
    except FileNotFoundError as error:
        raise CertificateError(f"TLS file {error.filename} does not exist") from None
    except ssl.SSLError as error:
        raise CertificateError(
            f"cannot use TLS certificate {cert_file} with key {key_file}: "
            f"{error.reason or error} (is the key the certificate's, PEM, unencrypted?)"
        ) from None
    except (OSError, UnicodeDecodeError) as error:
        raise CertificateError(f"cannot read TLS certificate {cert_file}: {error}") from None
    return ServerCertificate(
        cert_file=cert_file, key_file=key_file, fingerprint=fingerprint_of_pem(pem)
    )


def fingerprint_of_pem(pem: str) -> Fingerprint:
    """The fingerprint of the first (leaf) certificate in a PEM text."""
    end = pem.find(ssl.PEM_FOOTER)
    if end < 0:
        raise CertificateError("no PEM certificate found")
    return Fingerprint.of_certificate(ssl.PEM_cert_to_DER_cert(pem[: end + len(ssl.PEM_FOOTER)]))


def _self_signed(key: ec.EllipticCurvePrivateKey, common_name: str) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name[:64] or "localchat")])
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=VALID_DAYS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )


def _write_atomically(path: Path, data: bytes, *, mode: int) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
