"""Pinned server fingerprints, like SSH's ``known_hosts``: one ``HOST:PORT FINGERPRINT`` a line.

Trust on first use: the first time a client reaches a server it shows the person the
fingerprint (and the one the server advertised on the network, if any) and, once accepted,
pins it here. Later, a different fingerprint at the same address is refused loudly: either
the server's certificate was replaced (then ``localchat trust HOST:PORT --forget``) or
someone is in the middle.

The key is the address as the person reached it (host lower-cased, IPv6 in brackets, port),
exactly as SSH keys by host name. The file is rewritten atomically; comments and unknown lines
are kept so a person may edit it by hand.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from localchat.adapters.tls.fingerprint import Fingerprint, InvalidFingerprint

FILE_NAME = "known_servers"
HEADER = (
    "# LocalChat: pinned server certificates (trust on first use, like ssh known_hosts).\n"
    "# One 'HOST:PORT SHA256:...' per line. To trust a server's new certificate, delete its\n"
    "# line or run: localchat trust HOST:PORT --forget\n"
)


class InvalidAddress(ValueError):
    """Not ``HOST:PORT``; ``str()`` says why, for a person."""


@dataclass(frozen=True, slots=True, order=True)
class ServerAddress:
    """Where a server was reached, in one spelling (the pin's key)."""

    host: str
    port: int

    def __post_init__(self) -> None:
        if not self.host or any(char.isspace() for char in self.host):
            raise InvalidAddress(f"{self.host!r} is not a host name or address")
        if not 0 < self.port < 65536:
            raise InvalidAddress(f"port {self.port} is not between 1 and 65535")

    @classmethod
    def of(cls, host: str, port: int) -> ServerAddress:
        return cls(host.strip().strip("[]").lower(), port)

    @classmethod
    def parse(cls, text: str) -> ServerAddress:
        """``HOST:PORT``, ``[IPV6]:PORT``."""
        host, separator, port = text.strip().rpartition(":")
        if not separator or not port.isdigit():
            raise InvalidAddress(f"{text!r} is not HOST:PORT")
        if host.count(":") and not host.startswith("["):
            raise InvalidAddress(f"{text!r}: write an IPv6 address in brackets, [ADDRESS]:PORT")
        return cls.of(host, int(port))

    def __str__(self) -> str:
        try:
            is_v6 = ipaddress.ip_address(self.host).version == 6
        except ValueError:
            is_v6 = False
        return f"[{self.host}]:{self.port}" if is_v6 else f"{self.host}:{self.port}"


class KnownServers:
    """The pin store, one text file. Each call re-reads it, so several programs may share it."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def get(self, address: ServerAddress) -> Fingerprint | None:
        return self._read().get(address)

    def pin(self, address: ServerAddress, fingerprint: Fingerprint) -> None:
        """Trust ``fingerprint`` at ``address`` from now on (replacing any earlier pin)."""
        self._rewrite(address, fingerprint)

    def forget(self, address: ServerAddress) -> bool:
        """Drop the pin for ``address``; False if there was none."""
        if address not in self._read():
            return False
        self._rewrite(address, None)
        return True

    def all(self) -> dict[ServerAddress, Fingerprint]:
        return self._read()

    def _lines(self) -> list[str]:
        try:
            return self.path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []

    @staticmethod
    def _entry(line: str) -> tuple[ServerAddress, Fingerprint] | None:
        fields = line.split()
        if len(fields) != 2 or line.lstrip().startswith("#"):
            return None
        try:
            return ServerAddress.parse(fields[0]), Fingerprint.parse(fields[1])
        except (InvalidAddress, InvalidFingerprint):
            return None

    def _read(self) -> dict[ServerAddress, Fingerprint]:
        pins: dict[ServerAddress, Fingerprint] = {}
        for line in self._lines():
            entry = self._entry(line)
            if entry is not None:
                pins[entry[0]] = entry[1]
        return pins

    def _rewrite(self, address: ServerAddress, fingerprint: Fingerprint | None) -> None:
        kept: list[str] = []
        for line in self._lines() or HEADER.splitlines():
            entry = self._entry(line)
            if entry is None or entry[0] != address:
                kept.append(line)
        if fingerprint is not None:
            kept.append(f"{address} {fingerprint}")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        temporary.write_text("\n".join(kept) + "\n", encoding="utf-8")
        os.replace(temporary, self.path)


def user_known_servers() -> KnownServers:
    """The person's pin store, in their configuration directory (platformdirs)."""
    return KnownServers(Path(platformdirs.user_config_dir("localchat")) / FILE_NAME)
