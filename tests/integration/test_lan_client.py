"""``run-client`` with real mDNS discovery between two test hosts (network namespaces this
test makes itself; nothing leaves them): the connect dialog lists the server found, a number
picks it, the first-contact question compares the presented fingerprint with the announced
one, and the chat runs over TLS. With browsing off, nothing is looked for."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator

import pytest

from localchat.adapters.tls.fingerprint import Fingerprint
from tests import cli_process
from tests.cli_process import safe_cli_env
from tests.helpers import wait_until
from tests.netns import NetnsHost, two_hosts


class NetnsTerminal:
    """``localchat run-client --terminal`` on a test host, its stdout collected."""

    def __init__(self, host: NetnsHost, args: list[str], env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            [*host.prefix, sys.executable, "-m", "localchat", "run-client", "--terminal", *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        self.lines: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def saw(self, text: str, timeout: float = 15.0) -> str:
        return wait_until(
            lambda: next((line for line in self.lines if text in line), None),
            timeout=timeout,
            what=f"{text!r} in {self.lines}",
        )

    def type(self, *lines: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write("".join(line + "\n" for line in lines))
        self.process.stdin.flush()

    def finish(self) -> tuple[int, str]:
        assert self.process.stdin is not None
        self.process.stdin.close()
        code = self.process.wait(timeout=30)
        assert self.process.stderr is not None
        return code, self.process.stderr.read()


@pytest.fixture
def hosts() -> Iterator[tuple[NetnsHost, NetnsHost]]:
    with two_hosts() as pair:
        yield pair


def test_the_client_finds_the_server_and_trusts_it_with_the_announced_fingerprint(
    hosts: tuple[NetnsHost, NetnsHost],
) -> None:
    server_host, client_host = hosts
    env = safe_cli_env()  # browsing off unless a flag turns it on
    lan = ["--host", "0.0.0.0", "--port", "0", "--advertise", "--tls", "--name", "Team room"]
    server = cli_process.start_server(lan, env, prefix=server_host.prefix)
    clients: list[NetnsTerminal] = []
    try:
        line = server.wait_for_line("TLS certificate fingerprint")
        fingerprint = Fingerprint.parse(line.rsplit(": ", 1)[1])
        server.wait_for_line("announced on the local network")

        quiet = NetnsTerminal(client_host, [], env)
        clients.append(quiet)
        quiet.saw("Server address [127.0.0.1]:")
        assert not any("Looking for servers" in line for line in quiet.lines)
        assert quiet.finish()[0] == 1  # input ended at the dialog

        browsing = NetnsTerminal(client_host, ["--discover", "--tls"], env)
        clients.append(browsing)
        browsing.saw("* Looking for servers on your network…")
        listed = browsing.saw("[1] Team room — ")
        assert listed.endswith(f"{server_host.address}:{server.port} — encrypted")
        browsing.type("1")
        browsing.saw("Your name:")
        browsing.type("remote")
        browsing.saw("It matches the fingerprint the server announced on the network.")
        browsing.saw(f"***     {fingerprint}")
        browsing.type("y", "hello from the other host")
        browsing.saw("#lobby <remote> hello from the other host")
        browsing.type("/quit")
        code, errors = browsing.finish()
        assert (code, "Traceback" in errors) == (0, False)
    finally:
        for client in clients:
            if client.process.poll() is None:
                client.process.kill()
        stopped = server.stop()  # before the namespaces go
    assert stopped == 0
