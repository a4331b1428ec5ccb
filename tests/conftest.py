"""Shared fixtures: a real server on 127.0.0.1 port 0, clients, and an in-memory server."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from localchat.adapters.memory.store import InMemoryMessageStore
from localchat.adapters.memory.transport import MemoryServerTransport
from localchat.adapters.tcp.client import ChatClient
from localchat.adapters.tcp.transport import TcpServerTransport
from localchat.app.bootstrap import build_server, transport_options
from localchat.app.server import LocalChatServer
from localchat.app.settings import load_settings

TEST_DEFAULTS: dict[str, Any] = {"host": "127.0.0.1", "port": 0, "rate_limit": 0}


@dataclass
class RunningServer:
    """A started server with a TCP transport on 127.0.0.1 and a port chosen by the kernel."""

    server: LocalChatServer
    transport: TcpServerTransport
    clients: list[ChatClient] = field(default_factory=list)

    @property
    def port(self) -> int:
        return self.transport.port

    def connect(self, name: str, **kwargs: Any) -> ChatClient:
        """A registered client (closed at teardown). The welcome's history is consumed."""
        client = ChatClient.connect("127.0.0.1", self.port, name=name, **kwargs)
        self.clients.append(client)
        client.receive(timeout=5)  # the #lobby history that follows welcome
        return client

    def open(self) -> ChatClient:
        """A raw TCP connection, no hello sent."""
        client = ChatClient.open("127.0.0.1", self.port)
        self.clients.append(client)
        return client


@pytest.fixture
def start_server() -> Iterator[Callable[..., RunningServer]]:
    """Factory: ``start_server(**settings)`` starts a server; all are stopped at teardown."""
    running: list[RunningServer] = []

    def start(**overrides: Any) -> RunningServer:
        store = overrides.pop("store", None) or InMemoryMessageStore()
        settings = load_settings({**TEST_DEFAULTS, **overrides})
        transport = TcpServerTransport(transport_options(settings))
        server = build_server(settings, transports=[transport], store=store)
        server.start()
        instance = RunningServer(server, transport)
        running.append(instance)
        return instance

    yield start
    for instance in running:
        for client in instance.clients:
            client.close()
        instance.server.stop(timeout=2)


@pytest.fixture
def chat_server(start_server: Callable[..., RunningServer]) -> RunningServer:
    """A server with test defaults (no flood control)."""
    return start_server()


@pytest.fixture
def memory_server() -> Iterator[tuple[LocalChatServer, MemoryServerTransport]]:
    """A server with the in-memory transport and store: the core, end to end, no sockets."""
    settings = load_settings(TEST_DEFAULTS)
    transport = MemoryServerTransport()
    server = build_server(settings, transports=[transport], store=InMemoryMessageStore())
    server.start()
    yield server, transport
    server.stop(timeout=2)


@pytest.fixture(autouse=True)
def _isolated_user_data(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """A server started with the default store (history.db in the user's data directory)
    writes under a fresh ``XDG_DATA_HOME``, never in the real home, in this process and in
    the server processes tests start."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path_factory.mktemp("user-data")))
    monkeypatch.delenv("LOCALCHAT_STORE", raising=False)
