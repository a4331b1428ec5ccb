"""In-process servers for tests: the settings every test server starts from, and a started
server with its TCP transport (the fixtures in ``tests/conftest.py`` make them)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from localchat.adapters.tcp.client import ChatClient
from localchat.adapters.tcp.transport import TcpServerTransport
from localchat.adapters.tls.certificate import ServerCertificate
from localchat.adapters.tls.fingerprint import Fingerprint
from localchat.app.server import LocalChatServer

TEST_DEFAULTS: dict[str, Any] = {
    "host": "127.0.0.1",
    "port": 0,
    "rate_limit": 0,
    "tls": False,
    "advertise": False,
}


@dataclass
class RunningServer:
    """A started server with a TCP transport on 127.0.0.1 and a port chosen by the kernel."""

    server: LocalChatServer
    transport: TcpServerTransport
    clients: list[ChatClient] = field(default_factory=list)
    certificate: ServerCertificate | None = None

    @property
    def port(self) -> int:
        return self.transport.port

    @property
    def fingerprint(self) -> Fingerprint:
        """The fingerprint of the certificate a TLS server presents."""
        assert self.certificate is not None, "a server without TLS has no certificate"
        return self.certificate.fingerprint

    def connect(self, name: str, **kwargs: Any) -> ChatClient:
        """A registered client (closed at teardown). The welcome's history is consumed."""
        client = ChatClient.connect("127.0.0.1", self.port, name=name, **kwargs)
        self.clients.append(client)
        client.receive(timeout=5)  # the #lobby history that follows welcome
        return client

    def open(self, **kwargs: Any) -> ChatClient:
        """A raw TCP connection (TLS with ``tls=``), no hello sent."""
        client = ChatClient.open("127.0.0.1", self.port, **kwargs)
        self.clients.append(client)
        return client
