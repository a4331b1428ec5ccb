"""The TXT record of ``_localchat._tcp.local.``: what a server tells before anyone connects.

Keys are short and lower-case (RFC 6763 §6.4); values are UTF-8::

    txtvers=1   version of this record's layout
    proto=1     LocalChat protocol version (PROTOCOL.md)
    name=...    the server's name for people (at most 200 UTF-8 bytes)
    pw=0|1      whether hello needs a password
    tls=0|1     whether the port speaks TLS
    fp=<hex>    with TLS: the SHA-256 fingerprint of the certificate, 64 hex digits

Decoding is lenient in what it ignores (unknown keys, a broken ``fp`` drops only the
fingerprint) and strict in what it needs (``proto`` must be a number): a record from a
newer server still shows, a record that is not LocalChat's is refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from localchat.adapters.tls.fingerprint import Fingerprint, InvalidFingerprint
from localchat.domain.protocol import PROTOCOL_VERSION

SERVICE_TYPE = "_localchat._tcp.local."
TXT_VERSION = "1"
MAX_NAME_BYTES = 200
MAX_INSTANCE_BYTES = 63


class InvalidAdvert(ValueError):
    """A TXT record that does not describe a LocalChat server."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ServerAdvert:
    """What a server announces about itself."""

    name: str
    protocol: int = PROTOCOL_VERSION
    password: bool = False
    tls: bool = True
    fingerprint: Fingerprint | None = None


def _truncate_utf8(text: str, limit: int) -> str:
    return text.encode("utf-8")[:limit].decode("utf-8", errors="ignore")


def encode_txt(advert: ServerAdvert) -> dict[bytes, bytes]:
    """The TXT properties (as zeroconf takes them) for ``advert``."""
    properties = {
        b"txtvers": TXT_VERSION.encode(),
        b"proto": str(advert.protocol).encode(),
        b"name": _truncate_utf8(advert.name, MAX_NAME_BYTES).encode("utf-8"),
        b"pw": b"1" if advert.password else b"0",
        b"tls": b"1" if advert.tls else b"0",
    }
    if advert.tls and advert.fingerprint is not None:
        properties[b"fp"] = advert.fingerprint.hex.encode()
    return properties


def _text(properties: Mapping[bytes, bytes | None], key: bytes) -> str | None:
    value = properties.get(key)
    if value is None:
        return None
    return value.decode("utf-8", errors="replace")


def decode_txt(properties: Mapping[bytes, bytes | None], fallback_name: str) -> ServerAdvert:
    """Read a TXT record; ``fallback_name`` (the instance name) when it carries no name.

    Raises :class:`InvalidAdvert` if it is not a LocalChat record.
    """
    lowered = {key.lower(): value for key, value in properties.items()}
    protocol = _text(lowered, b"proto")
    if protocol is None or not protocol.isascii() or not protocol.isdigit():
        raise InvalidAdvert(f"no protocol version in the TXT record ({protocol!r})")
    tls = _text(lowered, b"tls") == "1"
    fingerprint = None
    raw = _text(lowered, b"fp")
    if tls and raw:
        try:
            fingerprint = Fingerprint.parse(raw)
        except InvalidFingerprint:
            fingerprint = None
    name = (_text(lowered, b"name") or "").strip() or fallback_name
    return ServerAdvert(
        name=name,
        protocol=int(protocol),
        password=_text(lowered, b"pw") == "1",
        tls=tls,
        fingerprint=fingerprint,
    )


def instance_name(name: str, host: str, port: int) -> str:
    """The DNS-SD instance label: the name plus where it runs, unique per host and port,
    cut to the 63 bytes a DNS label holds (the name gives way, the host and port stay)."""
    host = _truncate_utf8(host.replace(".", "-"), 30)
    suffix = f" ({host}:{port})" if name != host else f" ({port})"
    room = MAX_INSTANCE_BYTES - len(suffix.encode("utf-8"))
    return _truncate_utf8(name.replace(".", " "), max(room, 1)).rstrip() + suffix


def label_of(service_name: str) -> str:
    """The instance label of a full service name (``label._localchat._tcp.local.``)."""
    return service_name.removesuffix("." + SERVICE_TYPE)
