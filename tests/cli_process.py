"""Run ``localchat`` as a real process (a server that keeps running, or a command to its end).

Network safety: callers start from :func:`safe_cli_env` (loopback, no mDNS, plain TCP unless
a flag asks for TLS).
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

LOCALCHAT = [sys.executable, "-m", "localchat"]

SAFE_SETTINGS = {
    "LOCALCHAT_HOST": "127.0.0.1",  # never listen on the machine's real interfaces
    "LOCALCHAT_ADVERTISE": "false",  # never announce on the LAN (mDNS)
    "LOCALCHAT_DISCOVER": "false",  # nor browse for servers (run-client)
    "LOCALCHAT_TLS": "false",  # the tests' clients speak plain TCP unless they ask for TLS
}


def safe_cli_env(*, memory_store: bool = False, **extra: str) -> dict[str, str]:
    """Environment for a ``localchat`` subprocess: this process's environment without any
    inherited LOCALCHAT_* variable, plus loopback, no mDNS (neither announcing nor browsing)
    and plain TCP (flags on the command line still win), plus ``extra``.

    ``memory_store`` keeps the history in memory (``LOCALCHAT_STORE=:memory:``), for tests
    that start several servers and care about none of their history files.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOCALCHAT_")}
    env.update(SAFE_SETTINGS)
    if memory_store:
        env["LOCALCHAT_STORE"] = ":memory:"
    env.update(extra)
    return env


@dataclass
class ServerProcess:
    """A ``localchat run-server`` process and the lines it printed so far."""

    process: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)
    _queue: queue.Queue[str | None] = field(default_factory=queue.Queue)

    def wait_for_line(self, prefix: str, timeout: float = 10.0) -> str:
        """The first stdout/stderr line starting with ``prefix`` (waiting for it if needed)."""
        deadline = time.monotonic() + timeout
        while True:
            for line in self.lines:
                if line.startswith(prefix):
                    return line
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no line starting {prefix!r}; got {self.lines!r}")
            try:
                line = self._queue.get(timeout=remaining)
            except queue.Empty:
                continue
            if line is None:
                raise AssertionError(f"the server exited; it printed {self.lines!r}")
            self.lines.append(line)

    @property
    def port(self) -> int:
        return int(self.wait_for_line("listening on ").rsplit(":", 1)[1])

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                return self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        return self.process.wait(timeout=10)


def start_server(
    args: Sequence[str], env: dict[str, str], prefix: Sequence[str] = ()
) -> ServerProcess:
    """Start ``localchat run-server ARGS`` (``prefix`` e.g. runs it in a network namespace)."""
    process = subprocess.Popen(
        [*prefix, *LOCALCHAT, "run-server", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    server = ServerProcess(process)

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            server._queue.put(line.rstrip("\n"))
        server._queue.put(None)

    threading.Thread(target=pump, daemon=True).start()
    return server


def run(
    args: Sequence[str], env: dict[str, str], prefix: Sequence[str] = (), timeout: float = 30
) -> subprocess.CompletedProcess[str]:
    """Run ``localchat ARGS`` to its end."""
    return subprocess.run(
        [*prefix, *LOCALCHAT, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        check=False,
    )
