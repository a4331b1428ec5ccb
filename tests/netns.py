"""Two test hosts in network namespaces made here, joined by a veth pair: the only place a
test may send multicast (mDNS). Nothing touches the machine's real interfaces: both ends of
every link are created directly inside the namespaces, and the namespaces are deleted
afterwards, whatever happened.

The server host has a second, unreachable address (on a veth pair whose both ends stay inside
it), so tests can check that discovery skips addresses that do not answer.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest

SUBNET = "10.231.0"
UNREACHABLE = "10.232.0.1"


@dataclass(frozen=True)
class NetnsHost:
    namespace: str
    address: str

    @property
    def prefix(self) -> list[str]:
        """Put this before a command to run it on this host."""
        return ["ip", "netns", "exec", self.namespace]


def _ip(*args: str) -> None:
    result = subprocess.run(["ip", *args], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)} failed: {result.stderr.strip()}")


def require_namespaces() -> None:
    """Fail (never skip) when this machine cannot make network namespaces."""
    if os.geteuid() != 0:
        pytest.fail(
            "the LAN discovery tests create network namespaces and need root "
            "(run the suite as root, as CI does); they are not skipped, so this failure "
            "stands for the untested mDNS code"
        )
    if shutil.which("ip") is None:
        pytest.fail("the LAN discovery tests need `ip` from iproute2 (apt-get install iproute2)")


@contextmanager
def two_hosts() -> Iterator[tuple[NetnsHost, NetnsHost]]:
    """(server host, client host) on a private /24, multicast on; removed on exit."""
    require_namespaces()
    tag = secrets.token_hex(3)
    server = NetnsHost(f"lc-srv-{tag}", f"{SUBNET}.1")
    client = NetnsHost(f"lc-cli-{tag}", f"{SUBNET}.2")
    made: list[str] = []
    try:
        for host in (server, client):
            _ip("netns", "add", host.namespace)
            made.append(host.namespace)
            _ip("-n", host.namespace, "link", "set", "lo", "up")
        _ip(
            "link", "add", f"lcs{tag}", "netns", server.namespace, "type", "veth",
            "peer", "name", f"lcc{tag}", "netns", client.namespace,
        )  # fmt: skip
        for host, device in ((server, f"lcs{tag}"), (client, f"lcc{tag}")):
            _ip("-n", host.namespace, "addr", "add", f"{host.address}/24", "dev", device)
            _ip("-n", host.namespace, "link", "set", device, "up", "multicast", "on")
        # an address on the server host that the client host has no route to
        _ip(
            "-n",
            server.namespace,
            "link",
            "add",
            f"lcx{tag}",
            "type",
            "veth",
            "peer",
            "name",
            f"lcy{tag}",
        )
        _ip("-n", server.namespace, "addr", "add", f"{UNREACHABLE}/24", "dev", f"lcx{tag}")
        _ip("-n", server.namespace, "link", "set", f"lcx{tag}", "up", "multicast", "on")
        _ip("-n", server.namespace, "link", "set", f"lcy{tag}", "up")
        yield server, client
    finally:
        for namespace in reversed(made):
            subprocess.run(["ip", "netns", "del", namespace], capture_output=True, check=False)
