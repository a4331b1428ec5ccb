"""``localchat run-client --terminal`` as a real process against a real server, scripted
through stdin: the same presenter as the window, behind the line-based view."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from localchat.adapters.tcp.client import TlsTrust
from localchat.adapters.tls.known_servers import KnownServers
from localchat.adapters.wire import packets as p
from tests.cli_process import TerminalProcess, safe_cli_env, start_terminal
from tests.integration.support import next_packet
from tests.servers import RunningServer


@pytest.fixture
def run_terminal(tmp_path: Path) -> Iterator[Callable[..., TerminalProcess]]:
    """Factory: ``run_terminal(*args, **env)`` starts ``run-client --terminal`` with a private
    config directory; each one still running at teardown is killed."""
    started: list[TerminalProcess] = []
    env = safe_cli_env(XDG_CONFIG_HOME=str(tmp_path / "config"))

    def run(*args: str, **extra_env: str) -> TerminalProcess:
        client = start_terminal(args, {**env, **extra_env})
        started.append(client)
        return client

    yield run
    for client in started:
        client.kill()


def test_a_scripted_session_chats_joins_and_quits_cleanly(
    chat_server: RunningServer, run_terminal: Callable[..., TerminalProcess], tmp_path: Path
) -> None:
    observer = chat_server.connect("obs")
    tess = run_terminal("--host", "127.0.0.1", "--port", str(chat_server.port), "--name", "tess")
    assert next_packet(observer, p.Joined, timeout=10).name == "tess"
    tess.type("hello from tess", "/join dev", "in dev now")
    said = next_packet(observer, p.ChatMessage, timeout=10)
    assert (said.sender, said.text, said.room) == ("tess", "hello from tess", "#lobby")
    tess.saw("You joined #dev")
    tess.saw("#dev <tess> in dev now")

    observer.say("hi tess")
    tess.saw("#lobby <obs> hi tess")
    observer.direct("tess", "a secret")
    tess.saw("@obs <obs> a secret")

    tess.type("/quit")
    left = next_packet(observer, p.Left, timeout=10)
    assert (left.name, left.reason) == ("tess", "quit")
    code, errors = tess.finish()
    assert code == 0
    assert "Traceback" not in errors

    saved = json.loads((tmp_path / "config" / "localchat" / "client.json").read_text())
    assert saved == {
        "host": "127.0.0.1",
        "port": chat_server.port,
        "name": "tess",
        "recent": [{"label": "", "host": "127.0.0.1", "port": chat_server.port}],
    }


def test_without_flags_it_asks_with_the_last_values_as_defaults(
    chat_server: RunningServer, run_terminal: Callable[..., TerminalProcess], tmp_path: Path
) -> None:
    config = tmp_path / "config" / "localchat"
    config.mkdir(parents=True)
    (config / "client.json").write_text(
        json.dumps({"host": "127.0.0.1", "port": chat_server.port, "name": "zoë"})
    )
    observer = chat_server.connect("obs")
    client = run_terminal()
    client.saw("Server address [127.0.0.1]:")
    client.type("")
    client.saw(f"Port [{chat_server.port}]:")
    client.type("")
    client.saw("Your name [zoë]:")
    client.type("", "/quit")
    assert next_packet(observer, p.Joined, timeout=10).name == "zoë"
    assert client.finish()[0] == 0


def test_a_taken_name_asks_for_another(
    chat_server: RunningServer, run_terminal: Callable[..., TerminalProcess]
) -> None:
    observer = chat_server.connect("tess")
    client = run_terminal("--host", "127.0.0.1", "--port", str(chat_server.port), "--name", "Tess")
    client.saw("! That name is taken — choose another")
    client.saw("Your name [Tess]:")
    client.type("tess2", "/quit")
    assert next_packet(observer, p.Joined, timeout=10).name == "tess2"
    code, errors = client.finish()
    assert (code, errors) == (0, "")


def test_an_unreachable_server_is_one_readable_line(
    chat_server: RunningServer, run_terminal: Callable[..., TerminalProcess]
) -> None:
    port = chat_server.port
    chat_server.server.stop(timeout=1)
    client = run_terminal("--host", "127.0.0.1", "--port", str(port), "--name", "tess")
    client.saw(f"Cannot connect to 127.0.0.1:{port}: nobody is listening there.")
    client.end_input()
    code, errors = client.finish()
    assert code == 1
    assert "Traceback" not in errors
    assert not any("Traceback" in line for line in client.lines)


def test_the_password_comes_from_the_environment(
    start_server: Callable[..., RunningServer], run_terminal: Callable[..., TerminalProcess]
) -> None:
    server = start_server(password="sesame")
    observer = server.connect("obs", password="sesame")
    client = run_terminal(
        "--host",
        "127.0.0.1",
        "--port",
        str(server.port),
        "--name",
        "tess",
        LOCALCHAT_PASSWORD="sesame",
    )
    client.type("inside")
    said = next_packet(observer, p.ChatMessage, timeout=10)
    assert said.text == "inside"
    client.end_input()
    assert client.finish()[0] == 0


def test_over_tls_the_first_connection_asks_on_stdin_and_the_next_one_does_not(
    start_server: Callable[..., RunningServer],
    run_terminal: Callable[..., TerminalProcess],
    tmp_path: Path,
) -> None:
    server = start_server(tls=True)
    fingerprint = server.fingerprint
    trust = TlsTrust(known_servers=KnownServers(tmp_path / "observer_pins"), accept_new=True)
    observer = server.connect("obs", tls=trust)
    flags = ["--tls", "--host", "127.0.0.1", "--port", str(server.port), "--name", "tess"]

    tess = run_terminal(*flags)
    tess.saw("*** New server: check its identity")
    tess.saw(f"***     {fingerprint}")
    tess.saw("Trust this server and connect? [y/N]:")
    assert next((line for line in tess.lines if "Connected to" in line), None) is None
    tess.type("y", "hello over TLS")
    said = next_packet(observer, p.ChatMessage, timeout=10)
    assert (said.sender, said.text) == ("tess", "hello over TLS")
    tess.saw(f"#lobby * The connection is encrypted; server certificate {fingerprint}")
    tess.type("/quit")
    assert tess.finish()[0] == 0
    pins = (tmp_path / "config" / "localchat" / "known_servers").read_text()
    assert f"127.0.0.1:{server.port} {fingerprint}" in pins

    again = run_terminal(*flags)
    again.type("no question this time", "/quit")
    said = next_packet(observer, p.ChatMessage, timeout=10)
    assert said.text == "no question this time"
    code, errors = again.finish()
    assert (code, errors) == (0, "")
    assert not any("[y/N]" in line for line in again.lines)


def test_no_to_the_fingerprint_goes_back_to_the_address_prompt(
    start_server: Callable[..., RunningServer], run_terminal: Callable[..., TerminalProcess]
) -> None:
    server = start_server(tls=True)
    tess = run_terminal("--tls", "--host", "127.0.0.1", "--port", str(server.port), "--name", "t")
    tess.saw("Trust this server and connect? [y/N]:")
    tess.type("n")
    tess.saw("! Not connected: you did not trust the certificate of 127.0.0.1:")
    tess.saw("Server address [127.0.0.1]:")
    tess.end_input()
    code, errors = tess.finish()
    assert code == 1
    assert "Traceback" not in errors


def test_a_server_without_tls_is_asked_about_once_and_shown_as_not_encrypted(
    chat_server: RunningServer, run_terminal: Callable[..., TerminalProcess]
) -> None:
    observer = chat_server.connect("obs")
    flags = ["--tls", "--host", "127.0.0.1", "--port", str(chat_server.port), "--name", "pat"]
    pat = run_terminal(*flags)
    pat.type("yes", "in clear text", "/quit")  # a script: the answer comes before the question
    pat.saw("*** This server does not encrypt")
    pat.saw("Connect without encryption? [y/N]:")
    said = next_packet(observer, p.ChatMessage, timeout=10)
    assert said.text == "in clear text"
    pat.saw("#lobby ! This connection is NOT encrypted: anyone on the network can read this")
    assert pat.finish()[0] == 0

    again = run_terminal(*flags)
    again.type("/quit")
    assert next_packet(observer, p.Joined, timeout=10).name == "pat"
    assert again.finish()[0] == 0
    assert not any("[y/N]" in line for line in again.lines)
