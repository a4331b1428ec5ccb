"""One run of a scenario against a fresh server process: setup, measure, collect.

Each function returns a JSON-ready dict of raw figures (``error`` set when the run could
not be measured). Every phase is bounded: setup stalls, silent rooms and slow rounds end
the run with ``complete: false`` and a ``stop_reason``, never a hang.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field
from typing import Any

from bench.cpu import Probe, usage
from bench.histogram import Histogram
from bench.plans import FanoutSpec, IdleSpec, plan_fanout, plan_idle
from bench.pool import PoolError, WorkerPool
from bench.procfs import ESTABLISHED, read_status_kb, read_tcp_entry
from bench.server import ServerError, ServerProcess
from bench.worker import (
    CLOSED,
    LAST_RX_NS,
    RECEIVED,
    SENDERS_DONE_NS,
    SENT,
    WorkerPlan,
    WorkerReport,
)

WATCH_SECONDS = 0.005
ROUND_PAUSE_SECONDS = 0.2
SERIES_POINTS = 40


@dataclass(frozen=True, slots=True)
class RunOptions:
    workers: int = 2
    checked: int = 4
    """Receivers besides the observer that parse every frame (latency, order, room seq)."""
    idle_timeout: float = 10.0
    max_seconds: float = 300.0
    connect_timeout: float = 10.0
    sample_seconds: float = 0.1


@dataclass
class SlowWatch:
    """The member that never reads, seen from both ends in /proc/net/tcp."""

    server_port: int
    client_port: int
    dropped_at: float | None = None
    server_state: str = "ESTABLISHED"
    unread_max: int = 0
    server_unsent_max: int = 0

    def sample(self, elapsed: float) -> None:
        server_side = read_tcp_entry(self.server_port, self.client_port)
        client_side = read_tcp_entry(self.client_port, self.server_port)
        if client_side is not None:
            self.unread_max = max(self.unread_max, client_side.receive_queue)
        if server_side is not None:
            self.server_unsent_max = max(self.server_unsent_max, server_side.send_queue)
            self.server_state = server_side.state_name + (
                " (orphaned)" if not server_side.inode else ""
            )
        else:
            self.server_state = "gone"
        dropped = server_side is None or server_side.state != ESTABLISHED or not server_side.inode
        if dropped and self.dropped_at is None:
            self.dropped_at = elapsed

    def figures(self) -> dict[str, Any]:
        return {
            "disconnected_by_server": self.dropped_at is not None,
            "disconnected_at_s": self.dropped_at,
            "server_side_state": self.server_state,
            "unread_bytes_max": self.unread_max,
            "server_unsent_bytes_max": self.server_unsent_max,
        }


@dataclass
class Watch:
    """The measured phase of a fan-out run, as the main process sees it."""

    expected: int
    complete: bool = False
    stop_reason: str = "complete"
    rss_series: list[tuple[float, int]] = field(default_factory=list)


def _worker_plans(host: str, port: int, shares: list[Any], **common: Any) -> list[WorkerPlan]:
    return [WorkerPlan(host=host, port=port, clients=share, **common) for share in shares if share]


def run_fanout(
    template: str | list[str], label: str, spec: FanoutSpec, opts: RunOptions
) -> dict[str, Any]:
    """Fan-out (or slow, when ``spec.slow``): see :class:`bench.plans.FanoutSpec`."""
    result: dict[str, Any] = {"scenario": spec.kind, "name": spec.name, "server": label}
    result["generator_processes"] = opts.workers
    server = ServerProcess(template, label=label)
    try:
        server.wait_ready()
        shares = plan_fanout(spec, opts.workers, opts.checked)
        plans = _worker_plans(
            server.host,
            server.port,
            shares,
            senders=spec.senders,
            messages=spec.messages,
            window=spec.window,
            text_len=spec.text_len,
            connect_timeout=opts.connect_timeout,
        )
        with WorkerPool(plans) as pool:
            result["server_pid"] = server.pid
            rss_initial = read_status_kb(server.pid, "VmRSS")
            started = time.monotonic()
            pool.setup(opts.max_seconds)
            result["setup_s"] = time.monotonic() - started
            result["settle_s"] = pool.settle(0.3, 60.0)
            slow = None
            if spec.slow:
                pool.send(0, "slow_ports")
                slow = SlowWatch(server.port, pool.reply(0, "slow_ports")[0])
            rss_before = read_status_kb(server.pid, "VmRSS")
            result.update(_measure_fanout(pool, server, spec, opts, slow))
            reports = pool.stop()
        result.update(_fanout_figures(spec, reports, result))
        result["server_rss_kb"] = {
            "initial": rss_initial,
            "before_send": rss_before,
            "peak_sampled": max((kb for _, kb in result["rss_series"]), default=rss_before),
            "vmhwm": result.pop("vmhwm_kb"),
        }
        if slow is not None:
            _slow_figures(result, rss_before)
    except (ServerError, PoolError) as error:
        result["error"] = str(error)
    finally:
        result["server_exit_code"] = server.stop()
    return result


def _measure_fanout(
    pool: WorkerPool,
    server: ServerProcess,
    spec: FanoutSpec,
    opts: RunOptions,
    slow: SlowWatch | None,
) -> dict[str, Any]:
    watch = Watch(spec.expected_deliveries)
    before = Probe.take(server.pid, pool.pids)
    go_ns = time.monotonic_ns()
    pool.send_all("go")
    started = last_progress = next_sample = time.monotonic()
    last_total = 0
    while True:
        time.sleep(WATCH_SECONDS)
        now = time.monotonic()
        total = pool.total(RECEIVED)
        if total != last_total:
            last_total, last_progress = total, now
        if total >= watch.expected:
            watch.complete = True
            break
        if now >= next_sample:
            next_sample += opts.sample_seconds
            _sample(server, watch, slow, now - started)
        if server.process.poll() is not None:
            watch.stop_reason = f"the server exited ({server.process.returncode})"
            break
        if now - last_progress >= opts.idle_timeout:
            watch.stop_reason = f"no delivery for {opts.idle_timeout:g} s"
            break
        if now - started >= opts.max_seconds:
            watch.stop_reason = f"still running after {opts.max_seconds:g} s"
            break
    after = Probe.take(server.pid, pool.pids)
    end_ns = time.monotonic_ns()
    _sample(server, watch, slow, time.monotonic() - started)
    last_rx = pool.latest(LAST_RX_NS)
    sent = pool.total(SENT)
    senders_done = pool.latest(SENDERS_DONE_NS)
    wall = (last_rx - go_ns) / 1e9 if last_rx > go_ns else after.wall - before.wall
    all_sent = sent >= spec.senders * spec.messages and senders_done > go_ns
    send_phase = (senders_done - go_ns) / 1e9 if all_sent else after.wall - before.wall
    return {
        "complete": watch.complete,
        "stop_reason": watch.stop_reason,
        "go_ns": go_ns,
        "end_ns": end_ns,
        "wall_s": wall,
        "messages_sent": sent,
        "send_phase_s": send_phase,
        "messages_sent_per_s": sent / max(send_phase, 1e-9),
        "cpu": usage(before, after),
        "vmhwm_kb": read_status_kb(server.pid, "VmHWM"),
        "rss_series": watch.rss_series,
        "slow_member": slow.figures() if slow is not None else None,
    }


def _sample(server: ServerProcess, watch: Watch, slow: SlowWatch | None, elapsed: float) -> None:
    rss = read_status_kb(server.pid, "VmRSS")
    if rss is not None:
        watch.rss_series.append((round(elapsed, 3), rss))
    if slow is not None:
        slow.sample(elapsed)


def _merged(reports: list[WorkerReport], name: str) -> Histogram:
    merged = Histogram()
    for report in reports:
        merged.merge(getattr(report, name))
    return merged


def _fanout_figures(
    spec: FanoutSpec, reports: list[WorkerReport], measured: dict[str, Any]
) -> dict[str, Any]:
    received = sum(report.received for report in reports)
    wall = measured["wall_s"]
    observer = _merged(reports, "observer_latency_us")
    sample = _merged(reports, "checked_latency_us")
    closed = [
        entry
        for report in reports
        for entry in report.closed
        if measured["go_ns"] <= entry[2] <= measured["end_ns"]
    ]
    notes = sorted({note for report in reports for note in report.notes})
    figures = {
        "clients": spec.clients,
        "senders": spec.senders,
        "messages_per_sender": spec.messages,
        "window": spec.window,
        "text_len": spec.text_len,
        "expected_deliveries": spec.expected_deliveries,
        "received_deliveries": received,
        "lost": max(spec.expected_deliveries - received, 0),
        "deliveries_per_s": received / max(wall, 1e-9),
        "messages_delivered_per_s": received / spec.clients / max(wall, 1e-9),
        "observer_latency_us": observer.summary(),
        "sample_latency_us": sample.summary(),
        "checked_receivers": sum(report.checked_receivers for report in reports),
        "disconnected_members": len(closed),
        "disconnect_reasons": [f"client {index}: {why}" for index, why, _ in closed[:5]],
        "server_notes": notes,
    }
    for name in (
        "order_violations",
        "seq_gaps",
        "room_seq_violations",
        "room_seq_gaps",
        "unparsable",
        "pings",
    ):
        figures[name] = sum(getattr(report, name) for report in reports)
    return figures


def _slow_figures(result: dict[str, Any], rss_before: int | None) -> None:
    series = result["rss_series"]
    peak = result["server_rss_kb"]["peak_sampled"]
    result["rss_growth_kb"] = None if rss_before is None or peak is None else peak - rss_before
    if len(series) >= 4:
        (t_mid, rss_mid), (t_end, rss_end) = series[len(series) // 2], series[-1]
        result["rss_growth_kb_per_s_second_half"] = (rss_end - rss_mid) / max(t_end - t_mid, 1e-9)
    result["others_complete"] = result["complete"]
    step = max(len(series) // SERIES_POINTS, 1)
    result["rss_series"] = series[::step]


def run_idle(
    template: str | list[str], label: str, spec: IdleSpec, opts: RunOptions
) -> dict[str, Any]:
    """N idle registered connections: memory per connection, then broadcast rounds."""
    result: dict[str, Any] = {"scenario": spec.kind, "name": spec.name, "server": label}
    result.update(conns=spec.conns, rounds=spec.rounds, generator_processes=opts.workers)
    server = ServerProcess(template, label=label)
    try:
        server.wait_ready()
        plans = _worker_plans(
            server.host,
            server.port,
            plan_idle(spec, opts.workers),
            senders=1,
            text_len=spec.text_len,
            connect_timeout=opts.connect_timeout,
        )
        with WorkerPool(plans) as pool:
            rss_before = read_status_kb(server.pid, "VmRSS")
            before = Probe.take(server.pid, pool.pids)
            pool.setup(opts.max_seconds)
            result["connect_register_s"] = time.monotonic() - before.wall
            result["settle_s"] = pool.settle(0.5, opts.max_seconds)
            result["cpu_setup"] = usage(before, Probe.take(server.pid, pool.pids))
            rss_after = read_status_kb(server.pid, "VmRSS")
            result["closed_during_setup"] = pool.total(CLOSED)
            result.update(_broadcast_rounds(pool, server, spec, opts))
            reports = pool.stop()
        result["rss_kb_before"] = rss_before
        result["rss_kb_after"] = rss_after
        result["vmhwm_kb"] = read_status_kb(server.pid, "VmHWM")
        if rss_before is not None and rss_after is not None:
            result["rss_kb_per_conn"] = (rss_after - rss_before) / spec.conns
        result["received_deliveries"] = sum(report.received for report in reports)
        result["server_notes"] = sorted({note for report in reports for note in report.notes})
    except (ServerError, PoolError) as error:
        result["error"] = str(error)
    finally:
        result["server_exit_code"] = server.stop()
    return result


def _broadcast_rounds(
    pool: WorkerPool, server: ServerProcess, spec: IdleSpec, opts: RunOptions
) -> dict[str, Any]:
    rounds_ms: list[float | None] = []
    stop_reason = "complete"
    expected = pool.total(RECEIVED)
    before = Probe.take(server.pid, pool.pids)
    for number in range(spec.rounds):
        expected += spec.conns
        pool.send(0, "broadcast", number)
        sent_ns = pool.reply(0, "sent")
        arrived = _wait_for(pool, server, expected, opts)
        last_rx = pool.latest(LAST_RX_NS)
        rounds_ms.append((last_rx - sent_ns) / 1e6 if arrived and last_rx > sent_ns else None)
        if not arrived:
            missing = expected - pool.total(RECEIVED)
            if server.process.poll() is not None:
                stop_reason = f"the server exited ({server.process.returncode})"
                break
            stop_reason = f"round {number + 1}: {missing} of {spec.conns} never arrived"
            expected -= missing
        time.sleep(ROUND_PAUSE_SECONDS)
    done = [ms for ms in rounds_ms if ms is not None]
    return {
        "complete": stop_reason == "complete",
        "stop_reason": stop_reason,
        "broadcast_all_ms": rounds_ms,
        "broadcast_all_ms_median": statistics.median(done) if done else None,
        "cpu_broadcast": usage(before, Probe.take(server.pid, pool.pids)),
    }


def _wait_for(pool: WorkerPool, server: ServerProcess, expected: int, opts: RunOptions) -> bool:
    """Until ``expected`` deliveries in total; False after the idle timeout without
    progress, or at once if the server is gone."""
    last_total, last_progress = -1, time.monotonic()
    while True:
        total = pool.total(RECEIVED)
        if total >= expected:
            return True
        now = time.monotonic()
        if total != last_total:
            last_total, last_progress = total, now
        elif now - last_progress >= opts.idle_timeout or server.process.poll() is not None:
            return False
        time.sleep(0.0002)
