"""mDNS discovery between two test hosts (network namespaces this test makes itself).

A real ``localchat run-server`` on one host is found by ``localchat discover --json`` on the
other, and by the discovery model a connect dialog uses, which then connects over TLS with
the advertised fingerprint. Two servers run on the server host (TLS, and plain with a
password); its unreachable second address must never be listed.
"""

from __future__ import annotations

import json
import subprocess
import sys

from tests import cli_process
from tests.cli_process import safe_cli_env
from tests.netns import UNREACHABLE, NetnsHost

ANNOUNCED = "announced on the local network"

MODEL_SCRIPT = """
import json
from localchat.adapters.mdns.discovery import LanDiscovery
from localchat.adapters.tcp.client import ChatClient, TlsTrust
from localchat.adapters.tls.fingerprint import Fingerprint
from localchat.adapters.tls.known_servers import user_known_servers
from localchat.adapters.wire import packets as p

servers = ()
with LanDiscovery() as discovery:
    for servers in discovery.watch(timeout=10):
        if len(servers) >= 2:
            break
room = next(s for s in servers if s.name == "Team room")
trust = TlsTrust(
    known_servers=user_known_servers(),
    advertised=Fingerprint.parse(room.fingerprint),
    accept_new=True,
)
with ChatClient.connect(room.host, room.port, name="remote", tls=trust) as chat:
    chat.say("hello across hosts")
    echo = next(k for k in chat.packets(timeout=5) if isinstance(k, p.ChatMessage))
print(json.dumps({
    "servers": [[s.name, s.host, s.port, list(s.addresses), s.tls, s.password] for s in servers],
    "echo": echo.text,
    "pinned": chat.newly_pinned,
    "fingerprint": str(chat.fingerprint),
}))
"""


def test_discover_finds_servers_on_another_host(hosts: tuple[NetnsHost, NetnsHost]) -> None:
    server_host, client_host = hosts
    env = safe_cli_env()
    # inside the namespace only; two servers, so each keeps its history in memory
    lan = ["--host", "0.0.0.0", "--port", "0", "--advertise", "--no-store"]
    team = cli_process.start_server(
        [*lan, "--tls", "--name", "Team room"], env, prefix=server_host.prefix
    )
    plain = cli_process.start_server(
        [*lan, "--no-tls", "--name", "Plain room"],
        {**env, "LOCALCHAT_PASSWORD": "s3cret"},
        prefix=server_host.prefix,
    )
    try:
        fingerprint = team.fingerprint()
        for server in (team, plain):
            assert UNREACHABLE in server.wait_for_line(ANNOUNCED)

        found = cli_process.run(
            ["discover", "--json", "--timeout", "3"], env, prefix=client_host.prefix
        )
        assert found.returncode == 0, found.stderr
        by_name = {entry["name"]: entry for entry in json.loads(found.stdout)}
        assert sorted(by_name) == ["Plain room", "Team room"]
        assert by_name["Team room"] == {
            "name": "Team room",
            "address": server_host.address,
            "port": team.port,
            "tls": True,
            "password": False,
            "fingerprint": str(fingerprint),
            "addresses": [server_host.address],  # the unreachable one is skipped
            "protocol": 1,
            "key": by_name["Team room"]["key"],
        }
        assert (by_name["Plain room"]["port"], by_name["Plain room"]["tls"]) == (plain.port, False)
        assert by_name["Plain room"]["password"] is True
        assert by_name["Plain room"]["fingerprint"] is None

        model = subprocess.run(
            [*client_host.prefix, sys.executable, "-c", MODEL_SCRIPT],
            env=env, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert model.returncode == 0, model.stderr
        seen = json.loads(model.stdout)
        assert sorted(seen["servers"]) == [
            ["Plain room", server_host.address, plain.port, [server_host.address], False, True],
            ["Team room", server_host.address, team.port, [server_host.address], True, False],
        ]
        assert seen["echo"] == "hello across hosts"
        assert seen["pinned"] is True
        assert seen["fingerprint"] == str(fingerprint)
    finally:
        codes = [team.stop(), plain.stop()]  # both, before the namespaces go
    assert codes == [0, 0]


def test_nothing_found_says_why(hosts: tuple[NetnsHost, NetnsHost]) -> None:
    _, client_host = hosts
    result = cli_process.run(
        ["discover", "--timeout", "1.5"], safe_cli_env(), prefix=client_host.prefix
    )
    assert result.returncode == 0
    assert result.stdout == ""
    assert "multicast" in result.stderr
    assert "HOST:PORT" in result.stderr
