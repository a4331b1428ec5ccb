"""Integration fixtures: the real ``localchat run-server`` command as a process, two test hosts
in network namespaces, client sessions with a listener that records their events, and a
factory of started :class:`TcpChatSession` objects closed at teardown (plain TCP, or TLS
against a pin store when given ``known_servers``). In-process servers come from
``tests/conftest.py``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from localchat.adapters.tcp.session import TcpChatSession
from localchat.adapters.tls.known_servers import KnownServers
from localchat.ports.session import ConnectTarget
from tests.cli_process import ServerProcess, safe_cli_env, start_server
from tests.integration.sessions import OpenSession, Recorder, open_fast
from tests.netns import NetnsHost, two_hosts


@pytest.fixture
def open_session() -> Iterator[OpenSession]:
    """``open_session(port, name, known_servers=None, **target)``: a started session."""
    sessions: list[TcpChatSession] = []

    def open_(
        port: int,
        name: str = "ada",
        *,
        known_servers: KnownServers | None = None,
        **target: Any,
    ) -> tuple[TcpChatSession, Recorder]:
        recorder = Recorder()
        session = open_fast(
            ConnectTarget(host="127.0.0.1", port=port, name=name, **target),
            recorder,
            known_servers=known_servers,
        )
        sessions.append(session)
        return session, recorder

    yield open_
    for session in sessions:
        session.close()


@pytest.fixture
def known(tmp_path: Path) -> KnownServers:
    """An empty pin store of this test's own."""
    return KnownServers(tmp_path / "known_servers")


@pytest.fixture
def server_process() -> Iterator[Callable[..., ServerProcess]]:
    """Factory: ``server_process(*args, memory_store=False, **env)`` runs ``localchat
    run-server ARGS`` with :func:`safe_cli_env` (``memory_store`` and the variables ``env``
    passed on); each one still running at teardown is killed."""
    started: list[ServerProcess] = []

    def start(*args: str, memory_store: bool = False, **env: str) -> ServerProcess:
        process = start_server(args, safe_cli_env(memory_store=memory_store, **env))
        started.append(process)
        return process

    yield start
    for process in started:
        process.kill()
        process.output()  # the pipe's reader ends with the process


@pytest.fixture
def hosts() -> Iterator[tuple[NetnsHost, NetnsHost]]:
    """(server host, client host): two network namespaces joined by a veth pair, removed at
    teardown (:func:`tests.netns.two_hosts`)."""
    with two_hosts() as pair:
        yield pair
