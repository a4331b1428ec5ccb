"""Medians, cells, ratios and tables of the benchmark report."""

from __future__ import annotations

from typing import Any

from bench.report import FANOUT, Metric, cell, full_report, lookup, ratio, render, spread

P99 = Metric("p99 ms", "observer_latency_us.p99", 0.001, 1)
RATE = Metric("deliveries/s", "deliveries_per_s")
DONE = Metric("complete runs", "complete", count_true=True)


def run(rate: float, p99_us: int | None, complete: bool = True, **extra: Any) -> dict[str, Any]:
    return {
        "scenario": "fanout",
        "name": "fanout C=4",
        "server": "localchat",
        "deliveries_per_s": rate,
        "complete": complete,
        "observer_latency_us": {"p99": p99_us},
        **extra,
    }


def test_lookup_follows_dotted_paths() -> None:
    assert lookup(run(1, 2500), "observer_latency_us.p99") == 2500
    assert lookup(run(1, 2500), "observer_latency_us.p50") is None
    assert lookup(run(1, 2500), "deliveries_per_s.p50") is None


def test_spread_is_median_min_max() -> None:
    assert spread([3.0, 1.0, 2.0]) == (2.0, 1.0, 3.0)
    assert spread([1.0, 2.0]) == (1.5, 1.0, 2.0)
    assert spread([]) is None


def test_cells_show_median_and_range() -> None:
    runs = [run(1000, 2500), run(3000, 1500), run(2000, None)]
    assert cell(RATE, runs) == "2,000 (1,000-3,000)"
    assert cell(P99, runs) == "2.0 (1.5-2.5)"
    assert cell(DONE, [*runs, run(5, 5, complete=False)]) == "3/4"
    assert cell(P99, [run(1, None)]) == "-"


def test_failed_runs_count_as_runs_but_give_no_figures() -> None:
    runs = [run(1000, 2500), run(9999, 1, error="worker 0 died")]
    assert cell(RATE, runs) == "1,000"
    assert cell(DONE, runs) == "1/2"


def test_ratio_of_medians() -> None:
    assert ratio(RATE, [run(3000, 1)], [run(1000, 1), run(2000, 1)]) == "2.00x"
    assert ratio(RATE, [run(3000, 1)], [run(0, 1)]) == ""
    assert ratio(DONE, [run(1, 1)], [run(1, 1)]) == ""


def test_render_aligns_columns() -> None:
    assert render([["a", "1"], ["long", "100"]]) == "a       1\nlong  100"


def test_the_full_report_has_a_column_per_server_and_lists_problems() -> None:
    ours = [run(2000, 1000), run(1000, 3000, complete=False, stop_reason="no delivery for 10 s")]
    theirs = [{**run(500, 9000), "server": "baseline", "server_notes": ["slow_consumer: bye"]}]
    text = full_report([*ours, *theirs])
    lines = text.splitlines()
    assert lines[0].split()[-3:] == ["localchat", "baseline", "localchat/baseline"]
    assert len([line for line in lines if line.startswith("deliveries/s")]) == 1
    assert "localchat run 2: incomplete: no delivery for 10 s" in text
    assert "baseline run 1: server sent: slow_consumer: bye" in text
    assert len(lines) >= len(FANOUT) + 1


def test_runs_the_machine_may_have_bent_are_flagged() -> None:
    busy = run(1, 1, cpu={"other_cores": 0.8, "gen_cores": 0.2}, generator_processes=2)
    flat_out = run(1, 1, cpu={"other_cores": 0.0, "gen_cores": 1.9}, generator_processes=2)
    text = full_report([busy, flat_out])
    assert "localchat run 1: other load on the machine (0.80 cores): repeat" in text
    assert "localchat run 2: the generator was near its limit (1.90 cores)" in text
    assert "run 1: the generator" not in text
