"""Run ``localchat`` as a real process: a server that keeps running (:func:`start_server`), the
terminal client scripted through stdin (:func:`start_terminal`), or a command to its end
(:func:`run`); or in this process with typer's runner (:func:`invoke`, fast, for errors found
before anything serves). Every test that runs the real command goes through here.

Network safety: callers start from :func:`safe_cli_env` (loopback, no mDNS, plain TCP unless
a flag asks for TLS).
"""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any, NamedTuple, TypeVar

from typer.testing import CliRunner

from bench.server import listening_address
from localchat.adapters.tcp.client import ChatClient
from localchat.adapters.tls.fingerprint import Fingerprint
from localchat.app.cli import app
from tests.helpers import wait_until

T = TypeVar("T")

LOCALCHAT = [str(Path(sys.executable).with_name("localchat"))]
"""The console script installed next to this interpreter (the venv's entry point): the
command a person runs."""

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


def _pump(stream: IO[str], sink: Callable[[str | None], None]) -> None:
    """Hand every line of ``stream`` to ``sink`` (None at its end), on a thread: the child
    never blocks on a full pipe, whatever the test reads."""

    def read() -> None:
        with stream:
            for line in stream:
                sink(line.rstrip("\n"))
        sink(None)

    threading.Thread(target=read, daemon=True).start()


class ServerProcess:
    """A ``localchat run-server`` process and every line it printed so far, stdout and stderr
    in one stream (:attr:`lines`, filled as a test waits for a line)."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._lock = threading.Lock()
        self._ended = False
        assert process.stdout is not None
        _pump(process.stdout, self._queue.put)

    def _wait_for(self, find: Callable[[str], T | None], what: str, timeout: float) -> T:
        """The first line for which ``find`` answers something, and that answer."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                for line in self.lines:
                    found = find(line)
                    if found is not None:
                        return found
                if self._ended:
                    raise AssertionError(f"the server exited without {what}: {self.lines!r}")
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"no {what} in {timeout}s; got {self.lines!r}")
                self._take(remaining)

    def _take(self, timeout: float) -> None:
        """Move one line from the pipe's reader into :attr:`lines`, waiting up to ``timeout``."""
        try:
            line = self._queue.get(timeout=timeout)
        except queue.Empty:
            return
        if line is None:
            self._ended = True
        else:
            self.lines.append(line)

    def wait_for_line(self, prefix: str, timeout: float = 20.0) -> str:
        """The first line starting with ``prefix`` (waiting for it if needed)."""
        return self._wait_for(
            lambda line: line if line.startswith(prefix) else None,
            f"line starting {prefix!r}",
            timeout,
        )

    def address(self, timeout: float = 20.0) -> tuple[str, int]:
        """Where the server listens, from its ``listening on HOST:PORT`` line (a server with
        ``--transport memory,tcp`` prints ``listening on memory (in-process only)`` first)."""
        return self._wait_for(listening_address, "'listening on HOST:PORT' line", timeout)

    @property
    def port(self) -> int:
        return self.address()[1]

    def fingerprint(self) -> Fingerprint:
        """The certificate fingerprint the server printed at start-up."""
        line = self.wait_for_line("TLS certificate fingerprint")
        return Fingerprint.parse(line.rsplit(": ", 1)[1])

    def connect(self, name: str, **kwargs: Any) -> ChatClient:
        """A registered client (the caller closes it); the #lobby history after welcome is
        consumed."""
        host, port = self.address()
        client = ChatClient.connect(host, port, name=name, **kwargs)
        client.receive(timeout=5)
        return client

    def stop(self, signum: int = signal.SIGTERM, timeout: float = 10.0) -> int:
        """Send ``signum`` and wait for the exit code; SIGKILL after ``timeout``."""
        if self.process.poll() is None:
            self.process.send_signal(signum)
            try:
                return self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
        return self.process.wait(10)

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(10)

    def output(self) -> str:
        """Everything printed so far; all of it once the process has ended."""
        with self._lock:
            ended = self.process.poll() is not None
            deadline = time.monotonic() + 10
            while not self._ended and (not self._queue.empty() or ended):
                if time.monotonic() > deadline:
                    break
                self._take(0.1)
            return "\n".join(self.lines)


def start_server(
    args: Sequence[str], env: dict[str, str], prefix: Sequence[str] = ()
) -> ServerProcess:
    """Start ``localchat run-server ARGS`` (``prefix`` e.g. runs it in a network namespace)."""
    return ServerProcess(_spawn([*prefix, *LOCALCHAT, "run-server", *args], env, scripted=False))


def _spawn(argv: list[str], env: dict[str, str], *, scripted: bool) -> subprocess.Popen[str]:
    """``argv`` with its output on pipes: stdout and stderr apart with a stdin to write to
    when ``scripted``, else both on one pipe and no input."""
    return subprocess.Popen(
        argv,
        env=env,
        stdin=subprocess.PIPE if scripted else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE if scripted else subprocess.STDOUT,
        text=True,
        encoding="utf-8",
        errors="replace",
    )


class TerminalProcess:
    """A ``localchat run-client --terminal`` process: a test types lines into its stdin and
    waits for what it prints (:attr:`lines`, stdout); stderr is kept apart for
    :meth:`finish`."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self.lines: list[str] = []
        self._errors: list[str] = []
        self._closed_streams = threading.Semaphore(0)
        assert process.stdout is not None
        assert process.stderr is not None
        _pump(process.stdout, lambda line: self._collect(self.lines, line))
        _pump(process.stderr, lambda line: self._collect(self._errors, line))

    def _collect(self, into: list[str], line: str | None) -> None:
        if line is None:
            self._closed_streams.release()
        else:
            into.append(line)

    def type(self, *lines: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write("".join(line + "\n" for line in lines))
        self.process.stdin.flush()

    def end_input(self) -> None:
        assert self.process.stdin is not None
        with contextlib.suppress(BrokenPipeError):
            self.process.stdin.close()

    def saw(self, text: str, timeout: float = 15.0) -> str:
        """The first line containing ``text`` (waiting for it if needed)."""
        return wait_until(
            lambda: next((line for line in self.lines if text in line), None),
            timeout=timeout,
            what=f"{text!r} in {self.lines}",
        )

    def finish(self, timeout: float = 30.0) -> tuple[int, str]:
        """End the input, wait for the exit; the exit code and what went to stderr."""
        self.end_input()
        code = self.process.wait(timeout=timeout)
        for _stream in ("stdout", "stderr"):
            self._closed_streams.acquire(timeout=2)
        return code, "".join(line + "\n" for line in self._errors)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=5)


def start_terminal(
    args: Sequence[str], env: dict[str, str], prefix: Sequence[str] = ()
) -> TerminalProcess:
    """Start ``localchat run-client --terminal ARGS``."""
    argv = [*prefix, *LOCALCHAT, "run-client", "--terminal", *args]
    return TerminalProcess(_spawn(argv, env, scripted=True))


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


# -- the same command in this process ----------------------------------------------------------


class Outcome(NamedTuple):
    """What a command run in this process ended with."""

    code: int
    stdout: str
    stderr: str


def invoke(*args: str, env: dict[str, str] | None = None) -> Outcome:
    """Run ``localchat ARGS`` in this process with none of its LOCALCHAT_* variables but the
    safe settings of :func:`safe_cli_env` and ``env``.

    Should a ``run-server`` turn out valid, the server must not run forever inside the test:
    its default address is a busy port here, so it stops at once with its own error.
    """
    unset: dict[str, str | None] = {k: None for k in os.environ if k.startswith("LOCALCHAT_")}
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        guard = {**SAFE_SETTINGS, "LOCALCHAT_PORT": str(listener.getsockname()[1])}
        result = CliRunner().invoke(app, list(args), env={**unset, **guard, **(env or {})})
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"the CLI raised {result.exception!r}") from result.exception
    return Outcome(result.exit_code, result.stdout, result.stderr)


def assert_one_line_error(code: int, stdout: str, stderr: str, *expected: str) -> None:
    """An error a person can fix: exit code 2, nothing on stdout, one ``localchat: ...`` line
    on stderr containing every ``expected`` text, no traceback."""
    assert code == 2, (code, stdout, stderr)
    assert stdout == ""
    assert stderr.count("\n") == 1, stderr
    assert stderr.endswith("\n"), stderr
    assert stderr.startswith("localchat: "), stderr
    assert "Traceback" not in stderr
    for text in expected:
        assert text in stderr, (text, stderr)
