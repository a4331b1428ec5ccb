"""Run ``localchat`` as a real process (a server that keeps running, or a command to its end).

Network safety: callers start from :func:`tests.conftest.safe_cli_env` (loopback, no mDNS,
plain TCP unless a flag asks for TLS).
"""

from __future__ import annotations

import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

LOCALCHAT = [sys.executable, "-m", "localchat"]


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
