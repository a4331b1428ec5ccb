"""Group-commit figures: how many messages each commit carried and how long it took.

Kept as histograms (size -> commits, whole milliseconds -> commits) so a server that runs
for months holds a few hundred counters, not a list per commit. The dispatcher logs
:meth:`CommitStats.describe` at shutdown; the benchmark reads that line.
"""

from __future__ import annotations

import collections
import math


def _percentile(histogram: collections.Counter[int], fraction: float) -> int:
    total = sum(histogram.values())
    seen = 0
    for value, count in sorted(histogram.items()):
        seen += count
        if seen >= fraction * total:
            return value
    return max(histogram)


class CommitStats:
    """Histograms of successful commits; a count of failed ones."""

    def __init__(self) -> None:
        self.sizes: collections.Counter[int] = collections.Counter()
        """Messages per commit -> how many commits carried that many."""
        self.milliseconds: collections.Counter[int] = collections.Counter()
        """Commit time rounded up to whole milliseconds -> how many commits took that long."""
        self.failed = 0

    def record(self, messages: int, seconds: float) -> None:
        self.sizes[messages] += 1
        self.milliseconds[max(1, math.ceil(seconds * 1000))] += 1

    def __bool__(self) -> bool:
        return bool(self.sizes) or bool(self.failed)

    def describe(self) -> str:
        """``group commit: N commits, M messages; messages per commit: ...; ms per commit: ...``"""
        commits = sum(self.sizes.values())
        if not commits:
            return f"group commit: no commit, {self.failed} failed"
        messages = sum(size * count for size, count in self.sizes.items())
        sizes, times = self.sizes, self.milliseconds
        return (
            f"group commit: {commits} commits, {messages} messages, {self.failed} failed; "
            f"messages per commit: mean {messages / commits:.1f}, p50 {_percentile(sizes, 0.5)}, "
            f"p90 {_percentile(sizes, 0.9)}, max {max(sizes)}; "
            f"ms per commit: p50 {_percentile(times, 0.5)}, p90 {_percentile(times, 0.9)}, "
            f"p99 {_percentile(times, 0.99)}, max {max(times)}"
        )
