"""What the benchmark adds to the server's command line, and how it reads the port."""

from __future__ import annotations

from pathlib import Path

from bench.server import LISTENING, expand, implied_flags

HELP_WITH_BOTH = """
  --store PATH         SQLite file for history.
  --no-store           Keep history in memory only.
  --tls / --no-tls     Serve TLS (default) or plain TCP.
"""


def test_plain_tcp_and_a_fresh_store_when_the_server_offers_them() -> None:
    assert implied_flags(HELP_WITH_BOTH, []) == ["--no-tls", "--store", "{tmp}/bench-store.sqlite3"]


def test_nothing_is_added_to_an_older_server() -> None:
    assert implied_flags("  --store-dir DIR\n  --port INTEGER\n", []) == []


def test_the_users_choice_wins() -> None:
    assert implied_flags(HELP_WITH_BOTH, ["--no-store"]) == ["--no-tls"]
    assert implied_flags(HELP_WITH_BOTH, ["--store=/x.db", "--tls"]) == []


def test_templates_get_a_port_and_the_scratch_folder(tmp_path: Path) -> None:
    argv, port = expand("server --port {port} --data '{tmp}/a b'", tmp_path)
    assert port is not None
    assert argv == ["server", "--port", str(port), "--data", f"{tmp_path}/a b"]
    assert expand(["server", "--port", "0"], tmp_path) == (["server", "--port", "0"], None)


def test_the_listening_line_of_localchat_and_of_the_baseline() -> None:
    for line, port in [
        ("listening on 127.0.0.1:40123\n", "40123"),
        ("seedserver listening on 127.0.0.1:7000", "7000"),
        ("listening on [::1]:5050 (plain)", "5050"),
    ]:
        found = LISTENING.search(line)
        assert found is not None
        assert found[3] == port
