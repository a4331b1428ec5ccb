"""Fixtures for integration tests that run the real ``localchat`` command."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.integration.support import ServerProcess


@pytest.fixture
def server_process() -> Iterator[Callable[..., ServerProcess]]:
    """Factory: ``server_process(*args, env=...)`` runs ``localchat run-server``; each one
    still running at teardown is killed."""
    started: list[ServerProcess] = []

    def start(*args: str, env: dict[str, str] | None = None) -> ServerProcess:
        process = ServerProcess(*args, env=env)
        started.append(process)
        return process

    yield start
    for process in started:
        process.kill()
