"""The last server, port and name used, so the connect dialog can offer them again.

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
from typing import Protocol

import platformdirs

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class LastConnection:
    host: str
    port: int
    name: str


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
        return LastConnection(host=host, port=port, name=name)

    def save(self, last: LastConnection) -> None:
        data = {"host": last.host, "port": last.port, "name": last.name}
        temporary = self.path.with_suffix(".tmp")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            temporary.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
            os.replace(temporary, self.path)
        except OSError as error:
            log.warning("cannot save preferences to %s: %s", self.path, error)
