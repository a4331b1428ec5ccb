"""The latency histogram: bucket precision, percentiles, merging across workers."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bench.histogram import BUCKETS, MAX_BITS, Histogram, bucket_of, bucket_value


@given(st.integers(min_value=0, max_value=(1 << MAX_BITS) - 1))
def test_a_bucket_reports_its_values_within_one_in_128(value: int) -> None:
    index = bucket_of(value)
    assert 0 <= index < BUCKETS
    assert abs(bucket_value(index) - value) <= value / 128


@given(st.integers(min_value=0, max_value=(1 << MAX_BITS) - 2))
def test_buckets_never_go_down(value: int) -> None:
    assert bucket_of(value) <= bucket_of(value + 1)


@given(st.integers(min_value=-5, max_value=1 << (MAX_BITS + 2)))
def test_record_uses_the_bucket_of_the_value(value: int) -> None:
    histogram = Histogram()
    histogram.record(value)
    assert histogram.counts.index(1) == bucket_of(value)


def test_percentiles_of_one_to_a_thousand() -> None:
    histogram = Histogram()
    for value in range(1, 1001):
        histogram.record(value)
    assert 495 <= (histogram.percentile(0.5) or 0) <= 505
    assert 985 <= (histogram.percentile(0.99) or 0) <= 995
    assert histogram.percentile(1.0) == 1000
    assert histogram.summary()["mean"] == 500.5


def test_an_empty_histogram_has_no_percentiles() -> None:
    summary = Histogram().summary()
    assert summary == {
        "count": 0,
        "p50": None,
        "p90": None,
        "p99": None,
        "p999": None,
        "max": None,
        "mean": None,
    }


@given(st.lists(st.integers(0, 10**7)), st.lists(st.integers(0, 10**7)))
def test_merging_equals_recording_everything_in_one(a: list[int], b: list[int]) -> None:
    first, second, both = Histogram(), Histogram(), Histogram()
    for value in a:
        first.record(value)
        both.record(value)
    for value in b:
        second.record(value)
        both.record(value)
    first.merge(second)
    assert first == both
