"""A log-linear latency histogram (HDR-like), mergeable across worker processes.

Exact below 128 µs, then 64 buckets per power of two: a percentile is off by at most
1/128 (0.8 %) of its value, and a histogram is a short list whatever the sample count, so
workers can ship theirs to the main process and merge them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

SUB_BITS = 6
SUB = 1 << SUB_BITS
MAX_BITS = 40
BUCKETS = (MAX_BITS - SUB_BITS + 1) * SUB


def bucket_of(value: int) -> int:
    """The bucket index of a non-negative value (capped at 2**40 - 1)."""
    value = min(max(value, 0), (1 << MAX_BITS) - 1)
    if value < 2 * SUB:
        return value
    shift = value.bit_length() - 1 - SUB_BITS
    return (shift + 1) * SUB + (value >> shift) - SUB


def bucket_value(index: int) -> int:
    """The middle of a bucket (the value a percentile that falls in it reports)."""
    if index < 2 * SUB:
        return index
    shift = index // SUB - 1
    low = (index % SUB + SUB) << shift
    return low + ((1 << shift) >> 1)


@dataclass
class Histogram:
    """Counts per bucket, plus the exact count, sum and maximum."""

    counts: list[int] = field(default_factory=lambda: [0] * BUCKETS)
    count: int = 0
    total: int = 0
    maximum: int = 0

    def record(self, value: int) -> None:
        """Add one sample (the receivers' hot path: :func:`bucket_of` inlined)."""
        if value < 2 * SUB:
            index = max(value, 0)
        elif value >= 1 << MAX_BITS:
            index = BUCKETS - 1
        else:
            shift = value.bit_length() - 1 - SUB_BITS
            index = (shift + 1) * SUB + (value >> shift) - SUB
        self.counts[index] += 1
        self.count += 1
        self.total += value
        self.maximum = max(self.maximum, value)

    def merge(self, other: Histogram) -> None:
        self.counts = [a + b for a, b in zip(self.counts, other.counts, strict=True)]
        self.count += other.count
        self.total += other.total
        self.maximum = max(self.maximum, other.maximum)

    def percentile(self, fraction: float) -> int | None:
        """The value below which ``fraction`` of the samples fall; None when empty."""
        if self.count == 0:
            return None
        rank = min(max(math.ceil(fraction * self.count), 1), self.count)
        seen = 0
        for index, n in enumerate(self.counts):
            seen += n
            if seen >= rank:
                return min(bucket_value(index), self.maximum)
        return self.maximum

    def summary(self) -> dict[str, float | int | None]:
        """Count, mean and the usual percentiles (same unit as the samples)."""
        return {
            "count": self.count,
            "p50": self.percentile(0.50),
            "p90": self.percentile(0.90),
            "p99": self.percentile(0.99),
            "p999": self.percentile(0.999),
            "max": self.maximum if self.count else None,
            "mean": self.total / self.count if self.count else None,
        }
