"""Pinned server fingerprints, like SSH's ``known_hosts``: one ``HOST:PORT FINGERPRINT`` a line.

Trust on first use: the first time a client reaches a server it shows the person the
fingerprint (and the one the server advertised on the network, if any) and, once accepted,
pins it here. Later, a different fingerprint at the same address is refused loudly: either
the server's certificate was replaced (then ``localchat trust HOST:PORT --forget``) or
someone is in the middle.

The key is the address as the person reached it (host lower-cased, IPv6 in brackets, port),
exactly as SSH keys by host name. The file is rewritten atomically; comments and unknown lines
are kept so a person may edit it by hand.

A server that does not speak TLS at all (``--no-tls``) can be remembered here too, as
``HOST:PORT unencrypted``: the person agreed once to talk to it without encryption. One line
per address, so trusting a certificate later replaces that answer, and ``--forget`` drops
either.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from localchat.adapters.tls.fingerprint import Fingerprint, InvalidFingerprint
from localchat.ports.session import address_key, host_port

FILE_NAME = "known_servers"


def forget_command(address: ServerAddress | str) -> str:
    """The command that drops what is recorded for ``address`` (said by every refusal)."""
    return f"localchat trust {address} --forget"


HEADER = (
    "# LocalChat: pinned server certificates (trust on first use, like ssh known_hosts).\n"
    "# One 'HOST:PORT SHA256:...' per line ('HOST:PORT unencrypted': a server without TLS\n"
    "# you agreed to use). To trust a server's new certificate, delete its line or run:\n"
    f"# {forget_command('HOST:PORT')}\n"
)
UNENCRYPTED = "unencrypted"
"""The second field of a line for a server the person agreed to use without TLS."""

Trusted = Fingerprint | None
"""What is recorded for an address: a pinned fingerprint, or ``None`` for "unencrypted"."""


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
        return cls(*address_key(host, port))

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
        return host_port(self.host, self.port)


class KnownServers:
    """The pin store, one text file. Each call re-reads it, so several programs may share it."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def get(self, address: ServerAddress) -> Fingerprint | None:
        """The fingerprint pinned for ``address``, if any."""
        return self._read().get(address)

    def pin(self, address: ServerAddress, fingerprint: Fingerprint) -> None:
        """Trust ``fingerprint`` at ``address`` from now on (replacing any earlier pin)."""
        self._rewrite(address, str(fingerprint))

    def allows_unencrypted(self, address: ServerAddress) -> bool:
        """The person agreed to talk to ``address`` without TLS (and nothing is pinned)."""
        entries = self._entries()
        return address in entries and entries[address] is None

    def allow_unencrypted(self, address: ServerAddress) -> None:
        """Remember that ``address`` may be used without TLS (replacing any pin)."""
        self._rewrite(address, UNENCRYPTED)

    def forget(self, address: ServerAddress) -> bool:
        """Drop what is recorded for ``address`` (pin or "unencrypted"); False if nothing."""
        if address not in self._entries():
            return False
        self._rewrite(address, None)
        return True

    def all(self) -> dict[ServerAddress, Fingerprint]:
        """Every pinned fingerprint."""
        return self._read()

    def _lines(self) -> list[str]:
        try:
            return self.path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []

    @staticmethod
    def _entry(line: str) -> tuple[ServerAddress, Trusted] | None:
        fields = line.split()
        if len(fields) != 2 or line.lstrip().startswith("#"):
            return None
        try:
            address = ServerAddress.parse(fields[0])
            if fields[1] == UNENCRYPTED:
                return address, None
            return address, Fingerprint.parse(fields[1])
        except (InvalidAddress, InvalidFingerprint):
            return None

    def _entries(self) -> dict[ServerAddress, Trusted]:
        entries: dict[ServerAddress, Trusted] = {}
        for line in self._lines():
            entry = self._entry(line)
            if entry is not None:
                entries[entry[0]] = entry[1]
        return entries

    def _read(self) -> dict[ServerAddress, Fingerprint]:
        return {a: f for a, f in self._entries().items() if f is not None}

    def _rewrite(self, address: ServerAddress, value: str | None) -> None:
        """Replace the line of ``address`` by ``HOST:PORT value`` (remove it for None)."""
        kept: list[str] = []
        for line in self._lines() or HEADER.splitlines():
            entry = self._entry(line)
            if entry is None or entry[0] != address:
                kept.append(line)
        if value is not None:
            kept.append(f"{address} {value}")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        temporary.write_text("\n".join(kept) + "\n", encoding="utf-8")
        os.replace(temporary, self.path)


class KnownServersTrust:
    """The person's trust decisions (:class:`~localchat.ports.session.ServerTrust`) written to
    a :class:`KnownServers` file; addresses and fingerprints as the session spells them."""

    def __init__(self, known_servers: KnownServers) -> None:
        self.known_servers = known_servers

    def pin(self, address: str, fingerprint: str) -> None:
        self.known_servers.pin(ServerAddress.parse(address), Fingerprint.parse(fingerprint))

    def allow_unencrypted(self, address: str) -> None:
        self.known_servers.allow_unencrypted(ServerAddress.parse(address))


def user_known_servers() -> KnownServers:
    """The person's pin store, in their configuration directory (platformdirs)."""
    return KnownServers(Path(platformdirs.user_config_dir("localchat")) / FILE_NAME)
