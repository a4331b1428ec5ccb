"""The last server, port and name used, and the servers that worked, so the connect dialog
can offer them again.

Kept as a small JSON file in the person's config directory (``platformdirs``). The
password is never written. A missing, unreadable or corrupt file just means no defaults:
preferences are a convenience and must never stop the client.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import platformdirs

from localchat.ports.discovery import ServerEntry
from localchat.ports.session import address_key

log = logging.getLogger(__name__)

RECENT_SERVERS = 8
"""Servers that worked, most recent first, offered in the connect dialog."""


@dataclass(frozen=True, slots=True, kw_only=True)
class LastConnection:
    host: str
    port: int
    name: str
    recent: tuple[ServerEntry, ...] = ()
    """Servers that worked (``label``, ``host``, ``port``), most recent first."""


def with_recent(recent: tuple[ServerEntry, ...], server: ServerEntry) -> tuple[ServerEntry, ...]:
    """``server`` first, then the others (another spelling of its address is the same one)."""
    key = address_key(server.host, server.port)
    others = tuple(e for e in recent if address_key(e.host, e.port) != key)
    return (server, *others)[:RECENT_SERVERS]


class PreferenceStore(Protocol):
    def load(self) -> LastConnection | None: ...

    def save(self, last: LastConnection) -> None: ...


def default_preferences_path() -> Path:
    return platformdirs.user_config_path("localchat") / "client.json"


class JsonPreferences:
    """:class:`PreferenceStore` in one JSON file, written atomically."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> LastConnection | None:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as error:
            log.warning("ignoring unreadable preferences %s: %s", self.path, error)
            return None
        if not isinstance(data, dict):
            return None
        host, port, name = data.get("host"), data.get("port"), data.get("name")
        if not (isinstance(host, str) and isinstance(port, int) and isinstance(name, str)):
            return None
        recent = data.get("recent")
        entries = tuple(
            entry
            for entry in map(_entry, recent if isinstance(recent, list) else [])
            if entry is not None
        )
        return LastConnection(host=host, port=port, name=name, recent=entries[:RECENT_SERVERS])

    def save(self, last: LastConnection) -> None:
        data = {
            "host": last.host,
            "port": last.port,
            "name": last.name,
            "recent": [{"label": e.label, "host": e.host, "port": e.port} for e in last.recent],
        }
        temporary = self.path.with_suffix(".tmp")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            temporary.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
            os.replace(temporary, self.path)
        except OSError as error:
            log.warning("cannot save preferences to %s: %s", self.path, error)


def _entry(data: Any) -> ServerEntry | None:
    """One remembered server, or None if the file was edited into something else."""
    if not isinstance(data, dict):
        return None
    label, host, port = data.get("label", ""), data.get("host"), data.get("port")
    if not (isinstance(label, str) and isinstance(host, str) and host and isinstance(port, int)):
        return None
    if not 0 < port < 65536:
        return None
    return ServerEntry(label=label, host=host, port=port)
