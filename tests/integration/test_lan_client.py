"""``run-client`` with real mDNS discovery between two test hosts (network namespaces this
test makes itself; nothing leaves them): the connect dialog lists the server found, a number
picks it, the first-contact question compares the presented fingerprint with the announced
one, and the chat runs over TLS. With browsing off, nothing is looked for."""

from __future__ import annotations

from tests import cli_process
from tests.cli_process import TerminalProcess, safe_cli_env
from tests.netns import NetnsHost


def test_the_client_finds_the_server_and_trusts_it_with_the_announced_fingerprint(
    hosts: tuple[NetnsHost, NetnsHost],
) -> None:
    server_host, client_host = hosts
    env = safe_cli_env()  # browsing off unless a flag turns it on
    lan = ["--host", "0.0.0.0", "--port", "0", "--advertise", "--tls", "--name", "Team room"]
    server = cli_process.start_server(lan, env, prefix=server_host.prefix)
    clients: list[TerminalProcess] = []
    try:
        fingerprint = server.fingerprint()
        server.wait_for_line("announced on the local network")

        quiet = cli_process.start_terminal([], env, prefix=client_host.prefix)
        clients.append(quiet)
        quiet.saw("Server address [127.0.0.1]:")
        assert not any("Looking for servers" in line for line in quiet.lines)
        assert quiet.finish()[0] == 1  # input ended at the dialog

        browsing = cli_process.start_terminal(
            ["--discover", "--tls"], env, prefix=client_host.prefix
        )
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
            client.kill()
        stopped = server.stop()  # before the namespaces go
    assert stopped == 0
