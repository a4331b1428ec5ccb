"""The ``localchat`` command: version, help, settings precedence, and errors a person can fix
(one line on stderr, exit code 2, no traceback).

Errors found before the server starts are checked in-process with typer's runner (fast);
the real console script runs where it matters: a busy port, precedence as the process
sees it, transports, and one bad setting end to end.
"""

from __future__ import annotations

import os
import signal
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from localchat import __version__
from localchat.adapters.tcp.client import ChatClient, ServerRefused
from localchat.adapters.wire import packets as p
from localchat.app.settings import Settings, load_settings
from tests import cli_process
from tests.cli_process import ServerProcess, assert_one_line_error, invoke, safe_cli_env
from tests.integration.support import next_packet

OPTIONS = [
    "--host",
    "--port",
    "--config",
    "--transport",
    "--max-clients",
    "--password",
    "--handshake-timeout",
    "--ping-interval",
    "--idle-timeout",
    "--rate-limit",
    "--rate-burst",
    "--max-frame-bytes",
    "--max-outbound-bytes",
    "--log-level",
]


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A port on 127.0.0.1 that something already listens on."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield listener.getsockname()[1]


# -- version and help ---------------------------------------------------------------------------


def test_version_from_the_console_script() -> None:
    done = cli_process.run(["--version"], safe_cli_env(memory_store=True))
    assert (done.returncode, done.stdout, done.stderr) == (0, f"localchat {__version__}\n", "")


def test_help_mentions_every_option() -> None:
    code, stdout, _ = invoke("run-server", "--help")
    assert code == 0
    for option in OPTIONS:
        assert option in stdout, option
    assert "LOCALCHAT_PASSWORD" in stdout


# -- bad settings: one line, exit code 2 --------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--port", "-1"], ["port"]),
        (["--port", "65536"], ["port"]),
        (["--ping-interval", "10", "--idle-timeout", "10"], ["idle_timeout", "ping_interval"]),
        (["--idle-timeout", "5"], ["idle_timeout", "ping_interval"]),
        (["--transport", "carrier-pigeon"], ["carrier-pigeon", "memory", "tcp"]),
        (["--transport", "tcp,carrier-pigeon"], ["carrier-pigeon", "installed"]),
        (["--max-clients", "0"], ["max_clients"]),
        (["--max-frame-bytes", "100"], ["max_frame_bytes"]),
        (["--max-text-chars", "20000"], ["max_frame_bytes", "max_text_chars"]),
        (["--rate-limit", "-1"], ["rate_limit"]),
        (["--handshake-timeout", "0"], ["handshake_timeout"]),
        (["--max-outbound-bytes", "10"], ["max_outbound_bytes"]),
    ],
    ids=lambda value: " ".join(value) if isinstance(value, list) else None,
)
def test_a_bad_flag_is_one_line(args: list[str], expected: list[str]) -> None:
    assert_one_line_error(*invoke("run-server", *args), *expected)


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"LOCALCHAT_PORT": "abc"}, ["port"]),
        ({"LOCALCHAT_IDLE_TIMEOUT": "1"}, ["idle_timeout"]),
        ({"LOCALCHAT_TRANSPORT": "nope"}, ["nope", "tcp"]),
    ],
    ids=lambda value: next(iter(value)) if isinstance(value, dict) else None,
)
def test_a_bad_environment_variable_is_one_line(env: dict[str, str], expected: list[str]) -> None:
    assert_one_line_error(*invoke("run-server", env=env), *expected)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("port = \n", ["not valid TOML"]),
        ("[server\nport = 1\n", ["not valid TOML"]),
        ('colour = "red"\n', ["unknown setting", "colour"]),
        ('[server]\nport = 0\nflavour = "mint"\n', ["unknown setting", "flavour"]),
        ('max_clients = "five"\n', ["max_clients"]),
        ("server = 5\n", ["[server] must be a table"]),
        ("ping-interval = 100\n", ["idle_timeout"]),
    ],
    ids=["no_value", "broken_table", "unknown_key", "unknown_key_in_table", "wrong_type",
         "server_not_a_table", "inconsistent"],
)  # fmt: skip
def test_a_bad_config_file_is_one_line(tmp_path: Path, content: str, expected: list[str]) -> None:
    config = tmp_path / "localchat.toml"
    config.write_text(content, encoding="utf-8")
    assert_one_line_error(*invoke("run-server", "--config", str(config)), *expected)


def test_a_missing_config_file_is_one_line(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.toml"
    assert_one_line_error(
        *invoke("run-server", "--config", str(missing)), str(missing), "does not exist"
    )


def test_a_bad_setting_from_the_console_script(tmp_path: Path) -> None:
    config = tmp_path / "localchat.toml"
    config.write_text("max_clients = -3\n", encoding="utf-8")
    done = cli_process.run(["run-server", "--config", str(config)], safe_cli_env(memory_store=True))
    assert_one_line_error(done.returncode, done.stdout, done.stderr, "max_clients")


def test_a_busy_port_is_one_line(busy_port: int) -> None:
    done = cli_process.run(
        ["run-server", "--host", "127.0.0.1", "--port", str(busy_port)],
        safe_cli_env(memory_store=True),
    )
    assert_one_line_error(
        done.returncode, done.stdout, done.stderr, f"127.0.0.1:{busy_port}", "in use"
    )


# -- precedence: flags > LOCALCHAT_* > --config > defaults ---------------------------------------


def test_defaults() -> None:
    settings = load_settings({})
    assert (settings.host, settings.port, settings.transport) == ("0.0.0.0", 5050, "tcp")
    assert settings.transport_names == ["tcp"]
    assert (settings.max_clients, settings.password) == (1000, None)
    assert (settings.handshake_timeout, settings.ping_interval, settings.idle_timeout) == (
        10.0,
        30.0,
        90.0,
    )
    assert (settings.rate_limit, settings.rate_burst) == (10.0, 20)
    assert (settings.max_frame_bytes, settings.max_outbound_bytes) == (65_536, 1_048_576)
    assert settings.log_level == "info"


@pytest.mark.parametrize("layout", ["flat", "server_table"])
def test_precedence_of_the_sources(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, layout: str
) -> None:
    body = 'port = 1111\nmax-clients = 7\nrate_limit = 3.5\npassword = "from-file"\n'
    config = tmp_path / "localchat.toml"
    config.write_text(body if layout == "flat" else "[server]\n" + body, encoding="utf-8")
    for name in [k for k in os.environ if k.startswith("LOCALCHAT_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("LOCALCHAT_PORT", "2222")
    monkeypatch.setenv("LOCALCHAT_MAX_CLIENTS", "8")
    monkeypatch.setenv("LOCALCHAT_PASSWORD", "from-env")

    def settings(flags: dict[str, object]) -> Settings:
        return load_settings(flags, config_file=config)

    given = settings({"port": 3333, "host": None})  # None: a flag the person did not give
    assert given.port == 3333  # flag beats env and file
    assert given.max_clients == 8  # env beats file
    assert given.password_value == "from-env"
    assert given.rate_limit == 3.5  # file beats default
    assert given.rate_burst == 20  # default
    assert given.host == "0.0.0.0"
    assert settings({"password": "from-flag"}).password_value == "from-flag"
    monkeypatch.delenv("LOCALCHAT_PORT")
    monkeypatch.delenv("LOCALCHAT_PASSWORD")
    assert settings({}).port == 1111
    assert settings({}).password_value == "from-file"


def test_a_flag_beats_the_environment_in_the_real_process(
    server_process: Callable[..., ServerProcess], busy_port: int
) -> None:
    server = server_process(
        "--host", "127.0.0.1", "--port", "0", memory_store=True, LOCALCHAT_PORT=str(busy_port)
    )
    host, port = server.address()
    assert (host, port != busy_port) == ("127.0.0.1", True)
    assert server.stop() == 0


def test_the_environment_beats_the_config_file_in_the_real_process(
    server_process: Callable[..., ServerProcess], busy_port: int, tmp_path: Path
) -> None:
    """The file's host applies (it beats the default, 0.0.0.0); its busy port does not (the
    environment's 0 beats it); the password comes from LOCALCHAT_PASSWORD."""
    config = tmp_path / "localchat.toml"
    config.write_text(f'host = "127.0.0.1"\nport = {busy_port}\n', encoding="utf-8")
    server = server_process(
        "--config",
        str(config),
        memory_store=True,
        LOCALCHAT_PORT="0",
        LOCALCHAT_PASSWORD="open sesame",
    )
    host, port = server.address()
    assert host == "127.0.0.1"
    assert port != busy_port
    with pytest.raises(ServerRefused) as refused:
        ChatClient.connect(host, port, name="ada")
    assert refused.value.code == "auth_failed"
    with ChatClient.connect(host, port, name="ada", password="open sesame") as ada:
        assert ada.welcome is not None
    assert server.stop() == 0


# -- transports ---------------------------------------------------------------------------------


def test_the_memory_transport_starts_in_process_only(
    server_process: Callable[..., ServerProcess],
) -> None:
    server = server_process("--transport", "memory", memory_store=True)
    line = server.wait_for_line("listening on ")
    assert line == "listening on memory (in-process only)"
    assert server.stop(signal.SIGINT) == 0


def test_two_transports_serve_one_server(server_process: Callable[..., ServerProcess]) -> None:
    server = server_process(
        "--host", "127.0.0.1", "--port", "0", "--transport", "memory,tcp", memory_store=True
    )
    server.wait_for_line("listening on memory")
    host, port = server.address()
    with (
        ChatClient.connect(host, port, name="ada") as ada,
        ChatClient.connect(host, port, name="bob") as bob,
    ):
        bob.say("over tcp")
        for client in (ada, bob):
            packet = next_packet(client, p.ChatMessage)
            assert (packet.sender, packet.text) == ("bob", "over tcp")
    assert server.stop() == 0
