"""Server settings: defaults < config file (TOML) < environment (``LOCALCHAT_*``) < flags.

pydantic-settings reads the environment and the file; the CLI passes only the flags a
person actually gave, so precedence falls out of the source order. Every rule a value must
meet is declared here, so a bad value is one clear line at start-up, never a traceback.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from localchat.adapters.wire.connection import ConnectionLimits
from localchat.adapters.wire.framing import DEFAULT_MAX_FRAME_BYTES
from localchat.app.services import DEFAULT_MAX_CLIENTS
from localchat.domain.commands import DEFAULT_HISTORY_LIMIT, MAX_HISTORY_LIMIT
from localchat.domain.text import DEFAULT_MAX_TEXT_CHARS
from localchat.ports.session import DEFAULT_PORT

LogLevel = Literal["debug", "info", "warning", "error"]
MIB = 1024 * 1024
_LIMITS = ConnectionLimits()
"""The per-connection defaults of the wire codec (PROTOCOL.md §7), read, not repeated."""


class SettingsError(Exception):
    """Settings cannot be used; ``str()`` is one line for a person."""


class Settings(BaseSettings):
    """Everything an operator can set. Field names are the TOML keys and, upper-cased with
    the ``LOCALCHAT_`` prefix, the environment variables."""

    model_config = SettingsConfigDict(
        env_prefix="LOCALCHAT_", extra="forbid", validate_default=True, frozen=True
    )

    host: str = Field("0.0.0.0", description="address to listen on; 0.0.0.0 = every interface")
    port: int = Field(DEFAULT_PORT, ge=0, le=65535, description="TCP port; 0 picks a free one")
    transport: str = Field("tcp", description="transport name(s), comma-separated")
    max_clients: int = Field(DEFAULT_MAX_CLIENTS, ge=1, description="registered users at once")
    password: SecretStr | None = Field(None, description="required in hello when set")
    handshake_timeout: float = Field(
        _LIMITS.handshake_timeout, gt=0, description="seconds to send hello"
    )
    ping_interval: float = Field(
        _LIMITS.ping_interval, gt=0, description="seconds of silence before a ping"
    )
    idle_timeout: float = Field(
        _LIMITS.idle_timeout, gt=0, description="seconds of silence before a drop"
    )
    rate_limit: float = Field(
        _LIMITS.rate_limit, ge=0, description="frames/s per client after the burst; 0=off"
    )
    rate_burst: int = Field(
        _LIMITS.rate_burst, ge=1, description="frames a client may send at once"
    )
    max_frame_bytes: int = Field(
        DEFAULT_MAX_FRAME_BYTES, ge=1024, le=16 * MIB, description="largest frame"
    )
    max_outbound_bytes: int = Field(MIB, ge=64 * 1024, description="per-client send buffer")
    max_text_chars: int = Field(DEFAULT_MAX_TEXT_CHARS, ge=1, description="longest message text")
    history_on_join: int = Field(
        DEFAULT_HISTORY_LIMIT, ge=0, le=MAX_HISTORY_LIMIT, description="messages sent on join"
    )
    server_name: str = Field("", description="a name for people; default: the host name")
    log_level: LogLevel = Field("info", description="debug, info, warning or error")
    tls: bool = Field(True, description="serve the native TCP transport over TLS")
    tls_cert: Path | None = Field(
        None, description="PEM certificate; default: a self-signed one made on first start"
    )
    tls_key: Path | None = Field(None, description="PEM private key of tls_cert")
    advertise: bool = Field(True, description="announce the server on the LAN (mDNS/DNS-SD)")
    store: str | None = Field(
        None,
        description="SQLite history file; ':memory:' keeps history in memory only; "
        "default: history.db in the user's data directory",
    )

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        if self.idle_timeout <= self.ping_interval:
            raise ValueError(
                f"idle_timeout ({self.idle_timeout:g}) must be longer than "
                f"ping_interval ({self.ping_interval:g}), or clients are dropped before a ping"
            )
        # A message frame holds at most 4 UTF-8 bytes per character plus its fields.
        needed = 4 * self.max_text_chars + 1024
        if self.max_frame_bytes < needed:
            raise ValueError(
                f"max_frame_bytes ({self.max_frame_bytes}) must be at least {needed} "
                f"so a message of max_text_chars ({self.max_text_chars}) always fits"
            )
        return self

    @model_validator(mode="after")
    def _tls_files(self) -> Settings:
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("tls_cert and tls_key go together: give both or neither")
        if not self.tls and self.tls_cert is not None:
            raise ValueError("tls_cert is set but TLS is off (--no-tls): drop one of them")
        return self

    @property
    def transport_names(self) -> list[str]:
        return [name.strip() for name in self.transport.split(",") if name.strip()]

    @property
    def password_value(self) -> str | None:
        return None if self.password is None else self.password.get_secret_value()


class _TomlSource(PydanticBaseSettingsSource):
    """Values from an already-read TOML table."""

    def __init__(self, settings_cls: type[BaseSettings], values: dict[str, Any]) -> None:
        super().__init__(settings_cls)
        self._values = values

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return self._values.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(self._values)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as file:
            data = tomllib.load(file)
    except FileNotFoundError:
        raise SettingsError(f"config file {path} does not exist") from None
    except OSError as error:
        raise SettingsError(f"cannot read config file {path}: {error.strerror}") from None
    except tomllib.TOMLDecodeError as error:
        raise SettingsError(f"config file {path} is not valid TOML: {error}") from None
    # Accept both a flat file and a [server] table.
    table = data.get("server", data)
    if not isinstance(table, dict):
        raise SettingsError(f"config file {path}: [server] must be a table")
    return {key.replace("-", "_"): value for key, value in table.items()}


def _describe(error: ValidationError, origin: str) -> str:
    first = error.errors(include_url=False)[0]
    field = ".".join(str(part) for part in first["loc"]) or "settings"
    message = first["msg"].removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        return f"unknown setting {field!r}{origin}"
    return f"invalid setting {field}{origin}: {message}" if field != "settings" else message


def load_settings(
    overrides: dict[str, Any] | None = None, *, config_file: Path | None = None
) -> Settings:
    """Build settings from flags (``overrides``), the environment and ``config_file``.

    Raises :class:`SettingsError` with one readable line.
    """
    file_values = _read_toml(config_file) if config_file is not None else {}
    given = {key: value for key, value in (overrides or {}).items() if value is not None}

    class _Configured(Settings):
        @classmethod
        def settings_customise_sources(
            cls,
            settings_cls: type[BaseSettings],
            init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource,
            dotenv_settings: PydanticBaseSettingsSource,
            file_secret_settings: PydanticBaseSettingsSource,
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            return (init_settings, env_settings, _TomlSource(settings_cls, file_values))

    origin = f" (in {config_file} or the environment)" if config_file else ""
    try:
        configured = _Configured(**given)
    except ValidationError as error:
        raise SettingsError(_describe(error, origin)) from None
    # A plain Settings (already validated): an instance of this call's local class would
    # neither pickle nor compare equal to the same settings loaded twice.
    return Settings.model_construct(**configured.model_dump())
