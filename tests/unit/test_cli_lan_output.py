"""What ``localchat discover`` prints: an aligned table for people, JSON for programs."""

from __future__ import annotations

import json

from localchat.app.cli_lan import _json, _table
from localchat.ports.discovery import DiscoveredServer

TEAM = DiscoveredServer(
    key="Team room (vm:5050)._localchat._tcp.local.",
    name="Team room",
    host="192.168.1.5",
    port=5050,
    addresses=("192.168.1.5", "10.0.0.5"),
    tls=True,
    password=False,
    fingerprint="SHA256:" + ":".join(["AB"] * 32),
    protocol=1,
)
PLAIN = DiscoveredServer(
    key="p",
    name="Plain",
    host="fe80::1%eth0",
    port=6000,
    addresses=("fe80::1%eth0",),
    tls=False,
    password=True,
    fingerprint=None,
    protocol=1,
)


def test_table_columns_line_up() -> None:
    assert _table((PLAIN, TEAM)).splitlines() == [
        "NAME       ADDRESS         PORT  TLS  PASSWORD",
        "Plain      [fe80::1%eth0]  6000  NO   yes",
        "Team room  192.168.1.5     5050  yes  no",
    ]


def test_json_names_every_field() -> None:
    assert json.loads(json.dumps(_json(TEAM))) == {
        "name": "Team room",
        "address": "192.168.1.5",
        "port": 5050,
        "tls": True,
        "password": False,
        "fingerprint": TEAM.fingerprint,
        "addresses": ["192.168.1.5", "10.0.0.5"],
        "protocol": 1,
        "key": TEAM.key,
    }
