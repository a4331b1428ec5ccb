"""The identity of a server's certificate: the SHA-256 of its DER bytes.

With self-signed certificates there is no authority to vouch for a server, so people compare
(and clients pin) this fingerprint instead, like SSH host keys. One spelling is shown
everywhere, the one ``openssl x509 -fingerprint -sha256`` prints, with a prefix naming the
hash: ``SHA256:AB:CD:...`` (32 colon-separated upper-case byte pairs). :meth:`Fingerprint.parse`
also accepts what people paste: any case, with or without the prefix or the colons.
"""

from __future__ import annotations

import hashlib
import string
from dataclasses import dataclass

PREFIX = "SHA256:"
DIGEST_BYTES = 32


class InvalidFingerprint(ValueError):
    """Text that is not a SHA-256 fingerprint; ``str()`` says why, for a person."""


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """A SHA-256 certificate fingerprint (the 32 digest bytes)."""

    digest: bytes

    def __post_init__(self) -> None:
        if len(self.digest) != DIGEST_BYTES:
            raise InvalidFingerprint(f"a SHA-256 fingerprint has {DIGEST_BYTES} bytes")

    @classmethod
    def of_certificate(cls, der: bytes) -> Fingerprint:
        """The fingerprint of a DER-encoded certificate."""
        return cls(hashlib.sha256(der).digest())

    @classmethod
    def parse(cls, text: str) -> Fingerprint:
        """Read a fingerprint as shown, as printed by openssl, or as 64 bare hex digits."""
        value = text.strip()
        if value[: len(PREFIX)].upper() == PREFIX:
            value = value[len(PREFIX) :]
        hex_digits = value.replace(":", "")
        if len(hex_digits) != 2 * DIGEST_BYTES or not all(
            char in string.hexdigits for char in hex_digits
        ):
            raise InvalidFingerprint(
                f"{text!r} is not a SHA-256 fingerprint (expected 64 hex digits, "
                "like SHA256:AB:CD:...)"
            )
        return cls(bytes.fromhex(hex_digits))

    @property
    def hex(self) -> str:
        """64 lower-case hex digits: the compact form used in DNS-SD TXT records."""
        return self.digest.hex()

    def __str__(self) -> str:
        return PREFIX + ":".join(f"{byte:02X}" for byte in self.digest)
