"""The main process's handle on the worker processes: commands out, replies and counters in.

Every wait is bounded and notices a worker that died, so a broken run ends with an error
message instead of a hang.
"""

from __future__ import annotations

import multiprocessing
import time
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from types import TracebackType
from typing import Any

from bench.worker import BYTES, SLOTS, WorkerPlan, WorkerReport, worker_main

REPLY_SECONDS = 30.0


class PoolError(Exception):
    """A worker failed, crashed or did not answer; the message says which and why."""


class WorkerPool:
    """Worker processes started by ``fork`` (the main process has no threads to copy)."""

    def __init__(self, plans: list[WorkerPlan]) -> None:
        context = multiprocessing.get_context("fork")
        self.counters: Any = context.RawArray("q", len(plans) * SLOTS)
        self.pipes: list[Connection] = []
        self.processes: list[BaseProcess] = []
        for number, plan in enumerate(plans):
            parent, child = context.Pipe()
            process = context.Process(
                target=worker_main,
                args=(number, plan, child, self.counters),
                name=f"bench-worker-{number}",
                daemon=True,
            )
            process.start()
            child.close()
            self.pipes.append(parent)
            self.processes.append(process)

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def pids(self) -> list[int]:
        return [process.pid for process in self.processes if process.pid is not None]

    def send(self, number: int, *command: Any) -> None:
        self.pipes[number].send(command)

    def send_all(self, *command: Any) -> None:
        for pipe in self.pipes:
            pipe.send(command)

    def reply(self, number: int, expected: str, timeout: float = REPLY_SECONDS) -> Any:
        """The payload of worker ``number``'s next reply, which must be ``expected``."""
        pipe, process = self.pipes[number], self.processes[number]
        deadline = time.monotonic() + timeout
        while not pipe.poll(0.05):
            if not process.is_alive():
                raise PoolError(f"worker {number} died (exit code {process.exitcode})")
            if time.monotonic() > deadline:
                raise PoolError(f"worker {number} did not answer within {timeout:g} s")
        try:
            kind, payload = pipe.recv()
        except EOFError:
            raise PoolError(f"worker {number} closed its pipe") from None
        if kind != expected:
            raise PoolError(f"worker {number}: {kind}: {payload}")
        return payload

    def setup(self, timeout: float) -> None:
        """Connect and register every worker's clients (each worker stops itself on a stall)."""
        self.send_all("setup")
        for number in range(len(self.pipes)):
            self.reply(number, "ready", timeout)

    def total(self, slot: int) -> int:
        return int(sum(self.counters[number * SLOTS + slot] for number in range(len(self.pipes))))

    def latest(self, slot: int) -> int:
        return int(max(self.counters[number * SLOTS + slot] for number in range(len(self.pipes))))

    def settle(self, quiet: float, limit: float) -> float:
        """Wait until no bytes arrived for ``quiet`` s (join traffic drained); seconds waited."""
        started = time.monotonic()
        last, since = self.total_bytes(), started
        while time.monotonic() - started < limit:
            time.sleep(0.02)
            now_bytes = self.total_bytes()
            if now_bytes != last:
                last, since = now_bytes, time.monotonic()
            elif time.monotonic() - since >= quiet:
                break
        return time.monotonic() - started

    def total_bytes(self) -> int:
        return self.total(BYTES)

    def stop(self) -> list[WorkerReport]:
        self.send_all("stop")
        return [self.reply(number, "report") for number in range(len(self.pipes))]

    def close(self) -> None:
        """Ask every worker to quit (a forked child holds both ends of its pipe, so closing
        ours is no signal), then make sure they are gone."""
        for pipe in self.pipes:
            try:
                pipe.send(("quit",))
            except OSError:
                pass
            pipe.close()
        for process in self.processes:
            process.join(2.0)
            if process.is_alive():
                process.terminate()
                process.join(2.0)
            if process.is_alive():
                process.kill()
                process.join()
