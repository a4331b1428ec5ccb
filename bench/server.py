"""Start and stop one server process on loopback, and find the port it listens on.

The server runs in a fresh scratch folder with its output in files there (never a pipe
that could fill and block it). ``localchat run-server --port 0`` prints ``listening on
HOST:PORT``; a command with ``{port}`` in it gets a free port chosen here instead, and is
ready once that line appears on either stream or the port accepts a connection.
"""

from __future__ import annotations

import ipaddress
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

LISTENING = re.compile(r"listening on (?:\[([0-9A-Fa-f:.]+)\]|([0-9A-Za-z.-]+)):(\d+)")
START_SECONDS = 20.0
STOP_SECONDS = 5.0
MAX_CLIENTS = 100_000


def listening_address(text: str) -> tuple[str, int] | None:
    """HOST and PORT from a ``listening on HOST:PORT`` line in ``text`` (an IPv6 host without
    its brackets), or None (``listening on memory (in-process only)`` has no port)."""
    found = LISTENING.search(text)
    return None if found is None else (found[1] or found[2], int(found[3]))


class ServerError(Exception):
    """The server did not start (the message ends with the tail of its output)."""


def localchat_command(server_args: list[str]) -> list[str]:
    """The project's server, on 127.0.0.1 and a port the kernel picks."""
    return [
        sys.executable,
        "-m",
        "localchat",
        "run-server",
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        "--log-level",
        "warning",
        *server_args,
    ]


def run_server_help() -> str:
    """``localchat run-server --help``, to see which flags this version of the server has."""
    try:
        done = subprocess.run(
            [*localchat_command([])[:4], "--help"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            env={**os.environ, "COLUMNS": "200"},
        )
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return done.stdout


def implied_flags(help_text: str, given: list[str]) -> list[str]:
    """Flags the benchmark needs from a server that offers them, unless already chosen.

    The generator speaks plain TCP, so ``--no-tls`` when TLS can be turned off; and each
    run gets its own store file in its scratch folder (``{tmp}``), so runs start equal and
    nothing lands in the user's own history, unless ``--store``/``--no-store`` was given.
    """
    flags = []
    if _offers(help_text, "--no-tls") and not _chosen(given, "--tls", "--no-tls"):
        flags.append("--no-tls")
    if _offers(help_text, "--store") and not _chosen(given, "--store", "--no-store"):
        flags += ["--store", "{tmp}/bench-store.sqlite3"]
    return flags


def _offers(help_text: str, flag: str) -> bool:
    return re.search(rf"(?<![\w-]){flag}(?![\w-])", help_text) is not None


def _chosen(given: list[str], *flags: str) -> bool:
    return any(arg == flag or arg.startswith(flag + "=") for arg in given for flag in flags)


def server_environment() -> dict[str, str]:
    """No flood control (PROTOCOL.md §7) and room for every benchmark connection."""
    return {**os.environ, "LOCALCHAT_RATE_LIMIT": "0", "LOCALCHAT_MAX_CLIENTS": str(MAX_CLIENTS)}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def expand(template: str | list[str], scratch: Path) -> tuple[list[str], int | None]:
    """The argv for a command template; ``{port}`` and ``{tmp}`` are filled in here."""
    argv = shlex.split(template) if isinstance(template, str) else list(template)
    port = free_port() if any("{port}" in arg for arg in argv) else None
    filled = [arg.replace("{port}", str(port)).replace("{tmp}", str(scratch)) for arg in argv]
    return filled, port


class ServerProcess:
    """A running server: ``pid`` (the server process itself, for /proc) and ``port``.

    ``env`` replaces :func:`server_environment`. :meth:`stop` keeps what the server wrote on
    stderr in :attr:`stderr_log` (e.g. what it logs at shutdown) before the scratch folder
    goes.
    """

    def __init__(
        self, template: str | list[str], *, label: str, env: dict[str, str] | None = None
    ) -> None:
        self.label = label
        self.scratch = Path(tempfile.mkdtemp(prefix=f"bench-{label}-"))
        argv, port = expand(template, self.scratch)
        self.argv = argv
        self.host = "127.0.0.1"
        self.port = port or 0
        self._expected_port = port
        self._out = (self.scratch / "stdout.log").open("wb")
        self._err = (self.scratch / "stderr.log").open("wb")
        self.process = subprocess.Popen(
            argv,
            cwd=self.scratch,
            env=server_environment() if env is None else env,
            stdin=subprocess.DEVNULL,
            stdout=self._out,
            stderr=self._err,
            start_new_session=True,
        )
        self.pid = self.process.pid
        self.exit_code: int | None = None
        self.stderr_log = ""

    def wait_ready(self, timeout: float = START_SECONDS) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServerError(
                    f"{self.label} exited with {self.process.returncode}" + self.tail()
                )
            if self._announced() or (self._expected_port and self._accepts()):
                return
            time.sleep(0.02)
        raise ServerError(f"{self.label} did not listen within {timeout:g} s" + self.tail())

    def _announced(self) -> bool:
        for name in ("stdout.log", "stderr.log"):
            found = listening_address((self.scratch / name).read_text(errors="replace"))
            if found is None:
                continue
            host, port = found
            host = "127.0.0.1" if host in ("0.0.0.0", "::") else host
            if not ipaddress.ip_address(host).is_loopback:
                raise ServerError(f"{self.label} listens on {host}, not on loopback")
            self.host, self.port = host, port
            return True
        return False

    def _accepts(self) -> bool:
        try:
            with socket.create_connection((self.host, self.port), timeout=0.2):
                return True
        except OSError:
            return False

    def tail(self, lines: int = 8) -> str:
        text = ""
        for name in ("stdout.log", "stderr.log"):
            path = self.scratch / name
            if path.exists():
                text += path.read_text(errors="replace")
        last = text.strip().splitlines()[-lines:]
        return (":\n    " + "\n    ".join(last)) if last else " (no output)"

    def stop(self, timeout: float = STOP_SECONDS) -> int | None:
        """SIGTERM, then SIGKILL after ``timeout``; the exit code (None if it was killed)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                self.exit_code = None
            else:
                self.exit_code = self.process.returncode
        else:
            self.exit_code = self.process.returncode
        self._out.close()
        self._err.close()
        if self.scratch.exists():
            self.stderr_log = (self.scratch / "stderr.log").read_text(errors="replace")
        shutil.rmtree(self.scratch, ignore_errors=True)
        return self.exit_code
