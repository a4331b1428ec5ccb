"""Raw run results -> readable tables: the median (and min-max) of each figure, per server.

Pure functions over the JSON-ready dicts of :mod:`bench.scenarios`; one table per
scenario with a row per figure and a column per server, plus a ratio column (ours over
the baseline's median) when a baseline ran.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

KIB = 1 / 1024
MS = 1 / 1000
BUSY_MACHINE_CORES = 0.5
GENERATOR_LIMIT = 0.9


@dataclass(frozen=True, slots=True)
class Metric:
    label: str
    path: str
    """Dotted path into a result dict."""
    scale: float = 1.0
    digits: int = 0
    count_true: bool = False
    """A yes/no figure, shown as how many runs said yes."""


FANOUT = (
    Metric("complete runs", "complete", count_true=True),
    Metric("deliveries/s", "deliveries_per_s"),
    Metric("messages/s (delivered to all)", "messages_delivered_per_s"),
    Metric("latency p50 ms (observer)", "observer_latency_us.p50", MS, 1),
    Metric("latency p99 ms (observer)", "observer_latency_us.p99", MS, 1),
    Metric("latency p99 ms (sampled receivers)", "sample_latency_us.p99", MS, 1),
    Metric("lost", "lost"),
    Metric("order violations", "order_violations"),
    Metric("room seq violations", "room_seq_violations"),
    Metric("server cores", "cpu.server_cores", digits=2),
    Metric("generator cores", "cpu.gen_cores", digits=2),
    Metric("other cores", "cpu.other_cores", digits=2),
    Metric("server peak RSS MiB", "server_rss_kb.vmhwm", KIB, 1),
)
IDLE = (
    Metric("complete runs", "complete", count_true=True),
    Metric("connect+register s", "connect_register_s", digits=2),
    Metric("join traffic settled s", "settle_s", digits=2),
    Metric("server RSS before MiB", "rss_kb_before", KIB, 1),
    Metric("server RSS after MiB", "rss_kb_after", KIB, 1),
    Metric("server RSS KiB per connection", "rss_kb_per_conn", digits=1),
    Metric("one message to all ms (median round)", "broadcast_all_ms_median", digits=1),
    Metric("server cores (setup)", "cpu_setup.server_cores", digits=2),
    Metric("generator cores (setup)", "cpu_setup.gen_cores", digits=2),
)
SLOW = (
    Metric("others complete runs", "complete", count_true=True),
    Metric("slow member dropped runs", "slow_member.disconnected_by_server", count_true=True),
    Metric("dropped after s", "slow_member.disconnected_at_s", digits=2),
    Metric("deliveries/s (others)", "deliveries_per_s"),
    Metric("lost (others)", "lost"),
    Metric("latency p99 ms (observer)", "observer_latency_us.p99", MS, 1),
    Metric("latency p99 ms (sampled receivers)", "sample_latency_us.p99", MS, 1),
    Metric("server RSS growth MiB", "rss_growth_kb", KIB, 1),
    Metric("RSS growth KiB/s, second half", "rss_growth_kb_per_s_second_half", digits=0),
    Metric("server peak RSS MiB", "server_rss_kb.vmhwm", KIB, 1),
    Metric("server cores", "cpu.server_cores", digits=2),
    Metric("generator cores", "cpu.gen_cores", digits=2),
)
METRICS = {"fanout": FANOUT, "idle": IDLE, "slow": SLOW}


def lookup(result: dict[str, Any], path: str) -> Any:
    value: Any = result
    for key in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def spread(values: Sequence[float]) -> tuple[float, float, float] | None:
    """(median, min, max), or None without values."""
    if not values:
        return None
    return statistics.median(values), min(values), max(values)


def number(value: float, digits: int) -> str:
    return f"{value:,.{digits}f}"


def values_of(metric: Metric, results: Sequence[dict[str, Any]]) -> list[float]:
    found = (lookup(result, metric.path) for result in results if "error" not in result)
    return [float(value) * metric.scale for value in found if isinstance(value, int | float)]


def cell(metric: Metric, results: Sequence[dict[str, Any]]) -> str:
    """``median (min-max)`` over the runs that produced the figure, ``-`` if none did."""
    usable = [result for result in results if "error" not in result]
    if metric.count_true:
        return f"{sum(bool(lookup(r, metric.path)) for r in usable)}/{len(results)}"
    summary = spread(values_of(metric, results))
    if summary is None:
        return "-"
    median, low, high = summary
    text = number(median, metric.digits)
    if len(values_of(metric, results)) > 1 and number(low, metric.digits) != number(
        high, metric.digits
    ):
        text += f" ({number(low, metric.digits)}-{number(high, metric.digits)})"
    return text


def ratio(metric: Metric, ours: Sequence[dict[str, Any]], theirs: Sequence[dict[str, Any]]) -> str:
    """Our median over theirs, e.g. ``2.31x``; blank where it means nothing."""
    if metric.count_true:
        return ""
    a, b = spread(values_of(metric, ours)), spread(values_of(metric, theirs))
    if a is None or b is None or b[0] == 0:
        return ""
    return f"{a[0] / b[0]:.2f}x"


def render(rows: Sequence[Sequence[str]]) -> str:
    """Left-aligned first column, the others right-aligned, two spaces apart."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for row in rows:
        parts = [row[0].ljust(widths[0])]
        parts += [text.rjust(width) for text, width in zip(row[1:], widths[1:], strict=True)]
        lines.append("  ".join(parts).rstrip())
    return "\n".join(lines)


def scenario_table(name: str, kind: str, groups: dict[str, list[dict[str, Any]]]) -> str:
    """One scenario: a figure per row, a server per column (the first one is ours)."""
    servers = list(groups)
    runs = max(len(results) for results in groups.values())
    header = [f"{name} - {runs} run(s), median (min-max)", *servers]
    baseline = servers[1] if len(servers) > 1 else None
    if baseline:
        header.append(f"{servers[0]}/{baseline}")
    rows = [header]
    for metric in METRICS[kind]:
        row = [metric.label, *(cell(metric, groups[server]) for server in servers)]
        if baseline:
            row.append(ratio(metric, groups[servers[0]], groups[baseline]))
        rows.append(row)
    return render(rows) + problems(groups)


def problems(groups: dict[str, list[dict[str, Any]]]) -> str:
    """Below the table: failed and incomplete runs, error frames the servers sent, and
    runs whose figures the machine may have bent (busy machine, generator at its limit)."""
    lines = []
    ours = next(iter(groups))
    for server, results in groups.items():
        for number_, result in enumerate(results, 1):
            lines += [
                f"  {server} run {number_}: {note}" for note in run_notes(result, server == ours)
            ]
    return "".join("\n" + line for line in lines)


def run_notes(result: dict[str, Any], ours: bool) -> list[str]:
    if "error" in result:
        return [f"failed: {result['error']}"]
    notes = []
    if result.get("stop_reason", "complete") != "complete":
        notes.append(f"incomplete: {result['stop_reason']}")
    notes += [f"server sent: {note}" for note in result.get("server_notes", [])]
    code = result.get("server_exit_code")
    if ours and code not in (0, None):
        notes.append(f"the server exited with {code} on SIGTERM")
    cpu = result.get("cpu") or result.get("cpu_setup") or {}
    if (cpu.get("other_cores") or 0) > BUSY_MACHINE_CORES:
        notes.append(f"other load on the machine ({cpu['other_cores']:.2f} cores): repeat")
    workers = result.get("generator_processes") or 1
    if (cpu.get("gen_cores") or 0) > GENERATOR_LIMIT * workers:
        notes.append(f"the generator was near its limit ({cpu['gen_cores']:.2f} cores)")
    return notes


def full_report(results: Sequence[dict[str, Any]]) -> str:
    """Every scenario's table, in the order the scenarios first ran."""
    tables: dict[str, tuple[str, dict[str, list[dict[str, Any]]]]] = {}
    for result in results:
        _, groups = tables.setdefault(result["name"], (result["scenario"], {}))
        groups.setdefault(result["server"], []).append(result)
    return "\n\n".join(
        scenario_table(name, kind, groups) for name, (kind, groups) in tables.items()
    )
