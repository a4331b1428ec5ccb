"""CPU use over a phase of a run: the server, the generator, and everything else.

Figures are CPU seconds per wall second ("cores"). ``gen_cores`` near the number of
worker processes means the generator, not the server, set the pace; ``other_cores`` well
above 0 means something else ran on the machine meanwhile (repeat the run).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

from bench.procfs import read_cpu_seconds, read_machine_jiffies


@dataclass(frozen=True, slots=True)
class Probe:
    wall: float
    server: float | None
    generator: float
    machine: tuple[int, int]

    @classmethod
    def take(cls, server_pid: int, worker_pids: list[int]) -> Probe:
        own = os.times()
        generator = own.user + own.system
        for pid in worker_pids:
            generator += read_cpu_seconds(pid) or 0.0
        return cls(
            time.monotonic(), read_cpu_seconds(server_pid), generator, read_machine_jiffies()
        )


def usage(before: Probe, after: Probe) -> dict[str, float | None]:
    """Cores used between two probes by the server, the generator and the rest."""
    wall = max(after.wall - before.wall, 1e-9)
    cores = float(os.cpu_count() or 1)
    generator = (after.generator - before.generator) / wall
    server = None
    if before.server is not None and after.server is not None:
        server = (after.server - before.server) / wall
    busy_jiffies = after.machine[0] - before.machine[0]
    all_jiffies = after.machine[1] - before.machine[1]
    busy = busy_jiffies / all_jiffies * cores if all_jiffies > 0 else None
    other = None
    if busy is not None and server is not None:
        other = max(busy - server - generator, 0.0)
    return {
        "wall_s": wall,
        "server_cores": server,
        "gen_cores": generator,
        "other_cores": other,
        "machine_busy_cores": busy,
        "machine_cores": cores,
    }
