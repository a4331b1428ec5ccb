"""``python -m bench`` (``make bench ARGS=...``): run the scenarios, print the tables.

Each scenario runs ``--runs`` times, each time against a fresh server process; with
``--baseline CMD`` that server runs right after ours in every repetition (interleaved, so
both see the same machine), and the tables gain a ratio column.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import resource
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.plans import FanoutSpec, IdleSpec, SpecError
from bench.report import full_report
from bench.scenarios import RunOptions, run_fanout, run_idle
from bench.server import MAX_CLIENTS, implied_flags, localchat_command, run_server_help

OURS = "localchat"
BASELINE = "baseline"
DEFAULT_FANOUT = ["50/10/2000/32", "200/20/500/32"]
DEFAULT_IDLE = "1000/5"
DEFAULT_SLOW = "20/5/4000/32/400"
QUICK_FANOUT = ["10/3/300/16"]
QUICK_IDLE = "100/3"
QUICK_SLOW = "10/5/3000/32/400"
SCENARIOS = ("fanout", "idle", "slow")

Spec = FanoutSpec | IdleSpec


def parser() -> argparse.ArgumentParser:
    cli = argparse.ArgumentParser(
        prog="python -m bench",
        description="LocalChat's own benchmark: a real `localchat run-server` process on "
        "127.0.0.1, driven by worker processes over loopback. See bench/README.md.",
    )
    add = cli.add_argument
    add("--quick", action="store_true", help="a short smoke run: small scenarios, 1 run each")
    add("--runs", type=int, help="runs per scenario and server, fresh server each (default 3)")
    add("--scenarios", default=",".join(SCENARIOS), help="comma-separated: fanout,idle,slow")
    add(
        "--fanout",
        action="append",
        metavar="C/S/M/W[/TEXT]",
        help="clients/senders/messages/window (repeatable; default: "
        + " and ".join(DEFAULT_FANOUT)
        + ")",
    )
    add("--idle", metavar="N[/R]", help=f"connections and rounds (default {DEFAULT_IDLE})")
    add(
        "--slow",
        metavar="C/S/M/W[/TEXT]",
        help=f"slow scenario, C regular members + 1 that never reads (default {DEFAULT_SLOW})",
    )
    add("--text-len", type=int, default=64, help="text length for fanout and idle (default 64)")
    add(
        "--server-arg",
        action="append",
        default=[],
        metavar="ARG",
        help="extra flag for run-server, e.g. --server-arg=--max-outbound-bytes=2097152 "
        "(repeatable; --no-tls is added when the server offers it)",
    )
    store = cli.add_mutually_exclusive_group()
    store.add_argument(
        "--store",
        metavar="PATH",
        help="pass --store PATH to the server ({tmp}: the run's scratch folder); default: "
        "a fresh store per run when the server offers --store",
    )
    store.add_argument("--no-store", action="store_true", help="pass --no-store to the server")
    add(
        "--baseline",
        metavar="CMD",
        help="another server to compare (fanout and idle), run interleaved; {port} is filled in, "
        "e.g. 'python3 ../shared/tools/seedserver.py --host 127.0.0.1 --port {port}'",
    )
    add(
        "--compare-store",
        action="store_true",
        help="also run the same server with --no-store, interleaved, and print the ratio "
        "(history in SQLite against history in memory)",
    )
    add(
        "--tls",
        action="store_true",
        help="instead of the scenarios: fan-out over TLS against plain TCP in one run "
        "(bench/bench_tls.py; arguments after -- go to it)",
    )
    add("--json", type=Path, metavar="PATH", help="write the raw results there")
    add("--workers", type=int, default=2, help="generator processes (default 2)")
    add(
        "--check",
        type=int,
        default=4,
        help="receivers besides the observer that parse every frame (default 4)",
    )
    add(
        "--idle-timeout",
        type=float,
        default=10.0,
        help="end a phase after this many seconds without progress (default 10)",
    )
    add("--max-seconds", type=float, default=300.0, help="hard cap per phase (default 300)")
    add("--connect-timeout", type=float, default=10.0, help="per connection (default 10)")
    return cli


def scenario_specs(args: argparse.Namespace) -> list[Spec]:
    wanted = [name.strip() for name in args.scenarios.split(",") if name.strip()]
    for name in wanted:
        if name not in SCENARIOS:
            raise SpecError(f"unknown scenario {name!r} (choose from {', '.join(SCENARIOS)})")
    specs: list[Spec] = []
    if "fanout" in wanted:
        texts = args.fanout or (QUICK_FANOUT if args.quick else DEFAULT_FANOUT)
        specs += [FanoutSpec.parse(text, text_len=args.text_len) for text in texts]
    if "idle" in wanted:
        specs.append(
            IdleSpec.parse(
                args.idle or (QUICK_IDLE if args.quick else DEFAULT_IDLE), text_len=args.text_len
            )
        )
    if "slow" in wanted:
        specs.append(
            FanoutSpec.parse(
                args.slow or (QUICK_SLOW if args.quick else DEFAULT_SLOW), slow=True, text_len=400
            )
        )
    return specs


def server_args(args: argparse.Namespace) -> list[str]:
    """The user's flags, then those the benchmark needs (:func:`bench.server.implied_flags`)."""
    extra = list(args.server_arg)
    if args.store:
        extra += ["--store", args.store]
    if args.no_store:
        extra.append("--no-store")
    return extra + implied_flags(run_server_help(), extra)


def raise_open_files(needed: int) -> None:
    """Each connection is a descriptor here (and one in the server)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if hard < needed:
        print(f"bench: warning: open-file limit {hard} < {needed} needed", file=sys.stderr)


def one_line(result: dict[str, Any]) -> str:
    """A progress line for stderr."""
    if "error" in result:
        return f"FAILED: {result['error'].splitlines()[0]}"
    state = (
        "complete" if result.get("complete") else f"INCOMPLETE ({result.get('stop_reason', '')})"
    )
    if result["scenario"] == "idle":
        per_conn = result.get("rss_kb_per_conn")
        median = result.get("broadcast_all_ms_median")
        return (
            f"{state}; registered in {result['connect_register_s']:.2f} s, "
            f"{per_conn if per_conn is None else round(per_conn, 1)} KiB/conn, "
            f"one message to all {median if median is None else round(median, 1)} ms"
        )
    p99 = result["observer_latency_us"]["p99"]
    text = (
        f"{state}; {result['deliveries_per_s']:,.0f} deliveries/s, "
        f"p99 {p99 / 1000 if p99 is not None else float('nan'):.1f} ms, lost {result['lost']}, "
        f"server {result['cpu']['server_cores'] or 0:.2f} cores, "
        f"generator {result['cpu']['gen_cores']:.2f} cores"
    )
    slow = result.get("slow_member")
    if slow:
        text += f"; slow member dropped: {slow['disconnected_by_server']}"
        if slow["disconnected_at_s"] is not None:
            text += f" after {slow['disconnected_at_s']:.2f} s"
    return text


def schedule(
    specs: list[Spec], args: argparse.Namespace, ours: list[str]
) -> list[tuple[Spec, str, str | list[str]]]:
    """Every run in order: repetitions outermost, ours then the baseline for each scenario."""
    runs = args.runs or (1 if args.quick else 3)
    plan: list[tuple[Spec, str, str | list[str]]] = []
    for _ in range(runs):
        for spec in specs:
            plan.append((spec, OURS, ours))
            if args.baseline and spec.kind in ("fanout", "idle"):
                plan.append((spec, BASELINE, args.baseline))
    return plan


def machine() -> dict[str, Any]:
    return {
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "load_average_at_start": os.getloadavg(),
        "platform": platform.platform(),
    }


def write_json(
    path: Path, args: argparse.Namespace, about: dict[str, Any], results: list[dict[str, Any]]
) -> None:
    options = {
        key: str(value) if isinstance(value, Path) else value for key, value in vars(args).items()
    }
    document = {"machine": about, "options": options, "results": results}
    path.write_text(json.dumps(document, indent=1) + "\n")


def header(about: dict[str, Any], args: argparse.Namespace) -> str:
    ours = " ".join(["python", *about["server_command"][1:]])
    lines = [
        f"LocalChat benchmark - {about['cores']} cores, Python {about['python']}, "
        f"load average at start {about['load_average_at_start'][0]:.2f}",
        f"localchat: {ours} (env LOCALCHAT_RATE_LIMIT=0, LOCALCHAT_MAX_CLIENTS={MAX_CLIENTS})",
    ]
    if about["baseline_command"]:
        lines.append(f"baseline:  {about['baseline_command']}")
    lines.append(
        f"generator: {args.workers} worker process(es); latency at the observer and at "
        f"{args.check} sampled receivers"
    )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if "--tls" in argv:
        from bench import bench_tls

        rest = argv[argv.index("--") + 1 :] if "--" in argv else []
        bench_tls.main(rest)
        return
    args = parser().parse_args(argv)
    if args.compare_store:
        if args.baseline or args.no_store:
            parser().error("--compare-store sets the baseline itself; drop --baseline/--no-store")
        in_memory = [*args.server_arg, "--no-store"]
        args.baseline = localchat_command(in_memory + implied_flags(run_server_help(), in_memory))
    try:
        specs = scenario_specs(args)
    except SpecError as error:
        parser().error(str(error))
    if args.workers < 1 or args.check < 0:
        parser().error("--workers must be >= 1 and --check >= 0")
    if args.json and not args.json.resolve().parent.is_dir():
        parser().error(f"--json: no folder {args.json.resolve().parent}")
    largest = max(
        (spec.conns if isinstance(spec, IdleSpec) else spec.clients + 1 for spec in specs),
        default=0,
    )
    raise_open_files(2 * largest + 256)
    options = RunOptions(
        workers=args.workers,
        checked=args.check,
        idle_timeout=args.idle_timeout,
        max_seconds=args.max_seconds,
        connect_timeout=args.connect_timeout,
    )
    about = machine()
    about["started"] = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    ours = localchat_command(server_args(args))
    about["server_command"] = ours
    about["baseline_command"] = args.baseline
    plan = schedule(specs, args, ours)
    print(header(about, args), flush=True)
    results: list[dict[str, Any]] = []
    try:
        for number, (spec, label, command) in enumerate(plan, 1):
            runner: Callable[..., dict[str, Any]] = (
                run_idle if isinstance(spec, IdleSpec) else run_fanout
            )
            result = runner(command, label, spec, options)
            results.append(result)
            print(
                f"[{number}/{len(plan)}] {spec.name} · {label}: {one_line(result)}",
                file=sys.stderr,
                flush=True,
            )
    except KeyboardInterrupt:
        print("bench: interrupted; the runs so far:", file=sys.stderr)
    if results:
        print("\n" + full_report(results))
    if args.json:
        write_json(args.json, args, about, results)
        print(f"\nraw results: {args.json}")
    if len(results) < len(plan) or any("error" in result for result in results):
        sys.exit(1)
