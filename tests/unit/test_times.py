"""The RFC 3339 writer keeps the text of the latest second: whatever the order of the times
it is given, every text must be what ``isoformat`` says."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from localchat.adapters.wire.times import utc_microseconds, utc_milliseconds

zones = st.sampled_from(
    [UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-9, minutes=-30))]
)
moments = st.datetimes(
    min_value=datetime(1970, 1, 2), max_value=datetime(9999, 12, 30), timezones=zones
)


def expected(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


@given(st.lists(moments, min_size=1, max_size=20))
def test_every_time_is_written_as_isoformat_would(times: list[datetime]) -> None:
    for moment in times:
        assert utc_microseconds(moment) == expected(moment)
        assert utc_milliseconds(moment) == expected(moment)[:23] + "Z"


@given(moments, st.integers(1, 10**6))
def test_times_of_the_same_second_and_of_others_in_a_row(start: datetime, step: int) -> None:
    """A second's text is reused only for that very second (across month and year ends)."""
    for moment in (start, start + timedelta(microseconds=step), start + timedelta(days=31)):
        assert utc_microseconds(moment) == expected(moment)


def test_the_protocol_cuts_the_fraction_instead_of_rounding_into_the_next_second() -> None:
    moment = datetime(2026, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC)
    assert utc_milliseconds(moment) == "2026-12-31T23:59:59.999Z"
    assert utc_microseconds(moment) == "2026-12-31T23:59:59.999999Z"
    assert utc_microseconds(moment + timedelta(microseconds=1)) == "2027-01-01T00:00:00.000000Z"
