"""Discovery pieces that need no multicast: probing on loopback, and no advertising there."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from bench.server import free_port
from localchat.adapters.mdns.advertiser import NothingToAdvertise
from localchat.adapters.mdns.probe import probe_all
from localchat.app.bootstrap import build_advertiser, lan_reach
from localchat.app.settings import load_settings
from tests.servers import TEST_DEFAULTS, RunningServer


def test_probe_tells_answering_ports_from_silent_ones(chat_server: RunningServer) -> None:
    closed = free_port()
    started = time.monotonic()
    results = probe_all(
        [("127.0.0.1", chat_server.port), ("127.0.0.1", closed), ("not-an-ip", 1)], timeout=2.0
    )
    assert results == {
        ("127.0.0.1", chat_server.port): True,
        ("127.0.0.1", closed): False,
        ("not-an-ip", 1): False,
    }
    assert time.monotonic() - started < 1.0


def test_a_loopback_server_is_never_advertised(
    start_server: Callable[..., RunningServer],
) -> None:
    server = start_server(tls=True)
    settings = load_settings({**TEST_DEFAULTS, "advertise": True})
    with pytest.raises(NothingToAdvertise, match=r"127\.0\.0\.1"):
        build_advertiser(settings, server.server, server.certificate, lan_reach(server.server))
