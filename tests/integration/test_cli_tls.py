"""The CLI: ``run-server`` as a real process (TLS on by default, the certificate kept) and
``localchat trust`` in-process against it."""

from __future__ import annotations

import os
from pathlib import Path

from localchat.adapters.tls.certificate import ensure_self_signed
from localchat.adapters.tls.fingerprint import Fingerprint
from localchat.adapters.tls.known_servers import ServerAddress, user_known_servers
from tests import cli_process
from tests.cli_process import invoke, safe_cli_env
from tests.servers import RunningServer

SERVER_ARGS = ["--port", "0", "--tls"]  # loopback and no mDNS come from safe_cli_env


def test_tls_is_on_with_a_certificate_made_once_and_kept() -> None:
    env = safe_cli_env()
    first = cli_process.start_server(SERVER_ARGS, env)
    try:
        made = first.fingerprint()
        assert "(new" in first.wait_for_line("TLS certificate fingerprint")
        port = first.port
        address = f"127.0.0.1:{port}"

        shown = invoke("trust", address)
        assert shown.code == 0, shown.stderr
        assert f"{address} presents {made}" in shown.stdout
        assert "not pinned yet" in shown.stdout

        accepted = invoke("trust", address, "--accept")
        assert accepted.code == 0, accepted.stderr
        assert user_known_servers().get(ServerAddress.of("127.0.0.1", port)) == made
        again = invoke("trust", address)
        assert "it is the pinned certificate: trusted" in again.stdout
    finally:
        assert first.stop() == 0
    second = cli_process.start_server(SERVER_ARGS, env)
    try:
        assert second.fingerprint() == made
        assert "(new" not in second.wait_for_line("TLS certificate fingerprint")
        cert_dir = Path(os.environ["XDG_DATA_HOME"]) / "localchat" / "tls"
        assert sorted(path.name for path in cert_dir.iterdir()) == [
            "server-cert.pem",
            "server-key.pem",
        ]
    finally:
        second.stop()


def test_own_certificate_mismatch_and_forget(tmp_path: Path) -> None:
    env = safe_cli_env()
    own = ensure_self_signed(tmp_path / "own", "mine")
    server = cli_process.start_server(
        [*SERVER_ARGS, "--tls-cert", str(own.cert_file), "--tls-key", str(own.key_file)], env
    )
    try:
        assert server.fingerprint() == own.fingerprint
        address = f"127.0.0.1:{server.port}"
        wrong = Fingerprint(b"\x07" * 32)
        pinned = invoke("trust", address, "--fingerprint", str(wrong))
        assert pinned.code == 0, pinned.stderr

        mismatch = invoke("trust", address)
        assert mismatch.code == 1
        assert "WARNING: this is NOT the certificate pinned" in mismatch.stderr
        assert f"localchat trust {address} --forget" in mismatch.stderr

        forgot = invoke("trust", address, "--forget")
        assert forgot.code == 0
        assert "forgot the certificate pinned" in forgot.stdout
        assert user_known_servers().all() == {}
    finally:
        server.stop()


def test_no_tls_warns_and_bad_tls_settings_are_one_line(tmp_path: Path) -> None:
    env = safe_cli_env()
    plain = cli_process.start_server(["--port", "0", "--no-tls"], env)
    try:
        warning = plain.wait_for_line("localchat: WARNING: TLS is off")
        assert "clear text" in warning
        assert not any(line.startswith("TLS certificate") for line in plain.lines)
    finally:
        plain.stop()
    # in-process run-server must fail before serving (on a busy port, should it get further)
    half = invoke("run-server", "--tls-cert", str(tmp_path / "c.pem"))
    assert half.code == 2
    assert "tls_cert and tls_key go together" in half.stderr
    missing = invoke("run-server", "--tls", "--tls-cert", "nope.pem", "--tls-key", "nope.key")
    assert missing.code == 2
    assert "does not exist" in missing.stderr
    assert "Traceback" not in missing.stderr


def test_trust_rejects_bad_input() -> None:
    bad = invoke("trust", "no-port-here")
    assert bad.code == 2
    assert "is not HOST:PORT" in bad.stderr
    bad_fp = invoke("trust", "10.0.0.1:5050", "--fingerprint", "abc")
    assert bad_fp.code == 2
    assert "not a SHA-256 fingerprint" in bad_fp.stderr


def test_forget_also_drops_the_answer_to_use_a_server_without_encryption() -> None:
    address = ServerAddress.of("127.0.0.1", 5999)
    user_known_servers().allow_unencrypted(address)  # what the client records on "yes"
    forgot = invoke("trust", str(address), "--forget")
    assert forgot.code == 0
    assert "forgot that you use it without encryption for 127.0.0.1:5999" in forgot.stdout
    assert not user_known_servers().allows_unencrypted(address)


def test_trust_on_a_plain_server_mentions_the_earlier_answer_to_use_it_unencrypted(
    chat_server: RunningServer,
) -> None:
    address = ServerAddress.of("127.0.0.1", chat_server.port)
    plain = invoke("trust", str(address), "--timeout", "3")
    assert plain.code == 1
    assert "you chose earlier" not in plain.stderr  # nothing was answered yet
    user_known_servers().allow_unencrypted(address)
    answered = invoke("trust", str(address), "--timeout", "3")
    assert answered.code == 1
    assert f"cannot get the certificate of {address}" in answered.stderr
    assert "you chose earlier to use it without encryption" in answered.stderr
    assert f"localchat trust {address} --forget" in answered.stderr
