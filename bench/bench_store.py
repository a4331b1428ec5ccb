"""Benchmark: fan-out throughput with the SQLite store against history in memory.

Starts a fresh ``localchat run-server`` per run (:class:`bench.server.ServerProcess`: its own
scratch folder, flood control off, plain TCP since chatload does not speak TLS), once with
``--no-store`` and once with ``--store`` on a new file, interleaved, and drives each with the
``chatload`` fanout scenario (default 50 clients / 10 senders / 2,000 messages each /
window 32). Prints deliveries/s, latency p50/p99 and server CPU for each mode (median and
min-max of the runs), the ratio SQLite / in-memory of the medians, and the group-commit
batch sizes the server logged at shutdown.

    .venv/bin/python -m bench.bench_store [--runs 3] [--clients 50] [--senders 10] ...

The same comparison with the project's own generator: ``make bench ARGS="--scenarios fanout
--fanout 50/10/2000/32 --compare-store"``.

Not a test: the figures depend on the machine and on what else runs on it (chatload
reports ``cpu.other_cores``; repeat when it is well above 0).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from bench.report import number, spread
from bench.server import ServerProcess, implied_flags, localchat_command, run_server_help

CHATLOAD = Path(
    os.environ.get(
        "CHATLOAD",
        Path(__file__).resolve().parents[2] / "shared/tools/chatload/target/release/chatload",
    )
)
"""The shared load generator (``../shared/tools``, built with ``cargo build --release``);
``CHATLOAD`` points elsewhere. ``python -m bench --compare-store`` needs no chatload."""
COMMITS = re.compile(r"group commit: .*")


@dataclass
class Run:
    mode: str
    deliveries_per_s: float
    p50_ms: float
    p99_ms: float
    server_cores: float
    other_cores: float
    complete: bool
    commits: str = ""
    notes: list[str] = field(default_factory=list)


def chatload_command(args: argparse.Namespace, port: int, pid: int) -> list[str]:
    options = {
        "--proto": "localchat",
        "--port": port,
        "--server-pid": pid,
        "--scenario": "fanout",
        "--clients": args.clients,
        "--senders": args.senders,
        "--messages": args.messages,
        "--window": args.window,
    }
    return [str(args.chatload), *(str(part) for pair in options.items() for part in pair)]


def run_once(mode: str, server_args: list[str], args: argparse.Namespace) -> Run:
    """One chatload run against a fresh server with ``server_args``."""
    server = ServerProcess(localchat_command(server_args), label=f"store-{mode}")
    try:
        server.wait_ready()
        result = subprocess.run(
            chatload_command(args, server.port, server.pid),
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
    finally:
        server.stop()
    data = json.loads(result.stdout)
    latency = data["latency_us"]
    commits = COMMITS.search(server.stderr_log)
    return Run(
        mode=mode,
        deliveries_per_s=data["deliveries_per_s"],
        p50_ms=latency["p50"] / 1000,
        p99_ms=latency["p99"] / 1000,
        server_cores=data["cpu"]["server_cores"],
        other_cores=data["cpu"]["other_cores"],
        complete=bool(data["complete"]) and not data["lost"],
        commits=commits.group(0) if commits else "",
        notes=[str(note) for note in data.get("server_notes", [])][:3],
    )


def summary(values: list[float], scale: float = 1.0, digits: int = 1) -> str:
    """``median (min-max)`` of the scaled values (:func:`bench.report.spread`)."""
    median, low, high = spread([value * scale for value in values]) or (0.0, 0.0, 0.0)
    return f"{number(median, digits)} ({number(low, digits)}-{number(high, digits)})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--senders", type=int, default=10)
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--window", type=int, default=32)
    parser.add_argument("--chatload", type=Path, default=CHATLOAD)
    parser.add_argument(
        "--store-dir", type=Path, help="where the SQLite files go [each server's scratch folder]"
    )
    args = parser.parse_args()
    if not args.chatload.exists():
        sys.exit(f"chatload not found at {args.chatload} (build it, or pass --chatload)")
    print(
        f"fanout C={args.clients} S={args.senders} M={args.messages} W={args.window}, "
        f"{args.runs} runs interleaved; SQLite files in "
        f"{args.store_dir or 'each server scratch folder'}",
        flush=True,
    )
    help_text = run_server_help()
    runs: dict[str, list[Run]] = {"memory": [], "sqlite": []}
    for index in range(args.runs):
        for mode, results in runs.items():
            chosen = ["--log-level", "info"]  # the group-commit line is logged at info
            if mode == "memory":
                chosen.append("--no-store")
            elif args.store_dir:
                chosen += ["--store", str(args.store_dir / f"bench-{index}.db")]
            run = run_once(mode, chosen + implied_flags(help_text, chosen), args)
            results.append(run)
            print(
                f"  run {index + 1} {mode:6}: {run.deliveries_per_s / 1000:7.1f}k deliveries/s, "
                f"p50 {run.p50_ms:6.1f} ms, p99 {run.p99_ms:6.1f} ms, "
                f"server {run.server_cores:.2f} cores, other {run.other_cores:.2f} cores"
                + ("" if run.complete else " INCOMPLETE")
                + (f" notes: {run.notes}" if run.notes else ""),
                flush=True,
            )
    print()
    print("| store | deliveries/s (k) | p50 ms | p99 ms | server cores |")
    print("|---|---|---|---|---|")
    for mode, results in runs.items():
        print(
            f"| {mode} | {summary([r.deliveries_per_s for r in results], 1e-3)} "
            f"| {summary([r.p50_ms for r in results])} | {summary([r.p99_ms for r in results])} "
            f"| {summary([r.server_cores for r in results], digits=2)} |"
        )
    memory = statistics.median(r.deliveries_per_s for r in runs["memory"])
    sqlite = statistics.median(r.deliveries_per_s for r in runs["sqlite"])
    print(f"\nratio SQLite / in-memory (medians): {sqlite / memory:.2f} (target >= 0.80)")
    print("\ncommit batch sizes (SQLite runs):")
    for run in runs["sqlite"]:
        print(f"  {run.commits or 'no group-commit line in the server log'}")


if __name__ == "__main__":
    main()
