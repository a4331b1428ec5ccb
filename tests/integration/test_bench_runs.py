"""The benchmark end to end, tiny: a real ``localchat run-server`` process, real workers.

Figures are not asserted (timed tests lie on a shared machine); what is asserted is that
every scenario completes, loses nothing, sees no order violation and stops by itself.
"""

from __future__ import annotations

import sys

import pytest

from bench.plans import FanoutSpec, IdleSpec
from bench.scenarios import RunOptions, run_fanout, run_idle
from bench.server import implied_flags, localchat_command, run_server_help

OPTIONS = RunOptions(workers=2, checked=2, idle_timeout=5.0, max_seconds=30.0)


@pytest.fixture(scope="module")
def ours() -> list[str]:
    """The command ``make bench`` runs (with what this version of run-server needs)."""
    return localchat_command(implied_flags(run_server_help(), []))


def test_fanout_delivers_everything_in_order(ours: list[str]) -> None:
    result = run_fanout(ours, "localchat", FanoutSpec(5, 2, 50, 4), OPTIONS)
    assert "error" not in result, result.get("error")
    assert result["complete"], result["stop_reason"]
    assert (result["received_deliveries"], result["lost"]) == (500, 0)
    assert result["observer_latency_us"]["count"] == 100
    assert result["sample_latency_us"]["count"] == 200
    assert result["checked_receivers"] == 2
    violations = ("order_violations", "seq_gaps", "room_seq_violations", "room_seq_gaps")
    assert [result[name] for name in violations] == [0, 0, 0, 0]
    assert result["server_rss_kb"]["vmhwm"] > 0
    assert result["server_exit_code"] == 0


def test_slow_member_runs_to_the_end(ours: list[str]) -> None:
    result = run_fanout(ours, "localchat", FanoutSpec(4, 2, 40, 8, 400, slow=True), OPTIONS)
    assert "error" not in result, result.get("error")
    assert result["complete"]
    assert set(result["slow_member"]) >= {"disconnected_by_server", "unread_bytes_max"}


def test_idle_rounds_reach_every_connection(ours: list[str]) -> None:
    template = [*ours, "--port", "{port}"]  # the baseline's way: a port chosen by the bench
    result = run_idle(template, "localchat", IdleSpec(12, 2), OPTIONS)
    assert "error" not in result, result.get("error")
    assert result["complete"]
    assert result["received_deliveries"] == 24
    assert all(ms is not None and ms > 0 for ms in result["broadcast_all_ms"])
    assert result["rss_kb_after"] >= result["rss_kb_before"] > 0


def test_a_server_that_does_not_start_is_an_error_not_a_hang() -> None:
    result = run_idle([sys.executable, "-c", "raise SystemExit(3)"], "x", IdleSpec(2, 1), OPTIONS)
    assert "exited with 3" in result["error"]


def test_a_server_that_never_answers_ends_the_run() -> None:
    silent = [sys.executable, "-c", SILENT_SERVER, "{port}"]
    options = RunOptions(workers=1, connect_timeout=1.0, idle_timeout=1.0, max_seconds=10.0)
    result = run_fanout(silent, "silent", FanoutSpec(3, 1, 5, 1), options)
    assert "registration stalled" in result["error"]


def test_a_server_that_dies_mid_run_ends_it_at_once() -> None:
    dying = [sys.executable, "-c", DYING_SERVER, "{port}"]
    result = run_fanout(dying, "dying", FanoutSpec(3, 1, 5, 1), OPTIONS)
    assert "error" not in result, result.get("error")
    assert not result["complete"]
    assert result["stop_reason"] == "the server exited (7)"


DYING_SERVER = """
import json, os, socket, struct, sys, threading
def serve(sock):
    while True:
        length = struct.unpack(">I", sock.recv(4, socket.MSG_WAITALL))[0]
        packet = json.loads(sock.recv(length, socket.MSG_WAITALL))
        if packet["type"] == "say":
            os._exit(7)
        reply = json.dumps({"type": "welcome", "name": packet["name"]}).encode()
        sock.sendall(struct.pack(">I", len(reply)) + reply)
server = socket.create_server(("127.0.0.1", int(sys.argv[1])))
print("listening on 127.0.0.1:%s" % sys.argv[1], flush=True)
while True:
    threading.Thread(target=serve, args=(server.accept()[0],), daemon=True).start()
"""

SILENT_SERVER = """
import socket, sys, time
server = socket.create_server(("127.0.0.1", int(sys.argv[1])))
print("listening on 127.0.0.1:%s" % sys.argv[1], flush=True)
held = []
while True:
    held.append(server.accept()[0])
"""
