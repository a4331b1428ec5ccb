"""Shared fixtures: a real server on 127.0.0.1 port 0, clients, and an in-memory server.

Network safety: servers bind 127.0.0.1, never advertise on the LAN (mDNS), and speak plain
TCP unless a test asks for ``tls=True`` (then with a throw-away certificate). Every test gets
its own XDG data and config directories, so nothing reads or writes the person's real ones
(certificates, pinned fingerprints). Subprocess tests start from
:func:`tests.cli_process.safe_cli_env`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from localchat.adapters.memory.store import InMemoryMessageStore
from localchat.adapters.memory.transport import MemoryServerTransport
from localchat.adapters.tcp.transport import TcpServerTransport
from localchat.adapters.tls.certificate import ServerCertificate, ensure_self_signed
from localchat.app.bootstrap import build_server, server_certificate, transport_options
from localchat.app.server import LocalChatServer
from localchat.app.settings import load_settings
from tests.servers import TEST_DEFAULTS, RunningServer


@pytest.fixture(autouse=True)
def _private_user_dirs(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Point platformdirs (XDG) at throw-away directories for this test, in this process and
    in the processes it starts: a server with the default store, certificate or pins writes
    there, never in the real home."""
    base = tmp_path_factory.mktemp("xdg")
    monkeypatch.setenv("XDG_DATA_HOME", str(base / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(base / "config"))
    monkeypatch.delenv("LOCALCHAT_STORE", raising=False)


@pytest.fixture(scope="session")
def test_certificate(tmp_path_factory: pytest.TempPathFactory) -> ServerCertificate:
    """A self-signed server certificate made once per test session."""
    return ensure_self_signed(tmp_path_factory.mktemp("tls"), "localchat-test")


@pytest.fixture
def start_server(test_certificate: ServerCertificate) -> Iterator[Callable[..., RunningServer]]:
    """Factory: ``start_server(**settings)`` starts a server; all are stopped at teardown.

    ``tls=True`` serves TLS with :func:`test_certificate` (unless ``tls_cert`` is given).
    """
    running: list[RunningServer] = []

    def start(**overrides: Any) -> RunningServer:
        store = overrides.pop("store", None) or InMemoryMessageStore()
        if overrides.get("tls") and "tls_cert" not in overrides:
            overrides["tls_cert"] = test_certificate.cert_file
            overrides["tls_key"] = test_certificate.key_file
        settings = load_settings({**TEST_DEFAULTS, **overrides})
        certificate = server_certificate(settings)
        transport = TcpServerTransport(transport_options(settings, certificate))
        server = build_server(settings, transports=[transport], store=store)
        server.start()
        instance = RunningServer(server, transport, certificate=certificate)
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
