"""Scenario specifications and how connections are dealt to the worker processes."""

from __future__ import annotations

import pytest

from bench.plans import FanoutSpec, IdleSpec, SpecError, evenly_spaced, plan_fanout, plan_idle


def test_fanout_spec_parses_with_an_optional_text_length() -> None:
    assert FanoutSpec.parse("50/10/2000/32") == FanoutSpec(50, 10, 2000, 32, 64)
    assert FanoutSpec.parse("20/5/4000/32/400", slow=True) == FanoutSpec(
        20, 5, 4000, 32, 400, slow=True
    )
    assert FanoutSpec(50, 10, 2000, 32).expected_deliveries == 1_000_000


@pytest.mark.parametrize(
    "text", ["50/10/2000", "1/1/1/1", "5/5/1/1", "5/0/1/1", "5/1/0/1", "a/b/c/d"]
)
def test_fanout_spec_refuses_what_cannot_run(text: str) -> None:
    with pytest.raises(SpecError):
        FanoutSpec.parse(text)


def test_idle_spec_defaults_to_five_rounds() -> None:
    assert IdleSpec.parse("1000") == IdleSpec(1000, 5)
    assert IdleSpec.parse("100/3") == IdleSpec(100, 3)
    with pytest.raises(SpecError):
        IdleSpec.parse("1/3")


@pytest.mark.parametrize(
    ("first", "last", "count", "expected"),
    [(1, 49, 4, [1, 17, 33, 49]), (1, 3, 9, [1, 2, 3]), (1, 9, 1, [5]), (1, 9, 0, [])],
)
def test_evenly_spaced(first: int, last: int, count: int, expected: list[int]) -> None:
    assert evenly_spaced(first, last, count) == expected


@pytest.mark.parametrize("workers", [1, 2, 3])
@pytest.mark.parametrize("slow", [False, True])
def test_every_fanout_client_has_exactly_one_worker(workers: int, slow: bool) -> None:
    spec = FanoutSpec(50, 10, 2000, 32, slow=slow)
    shares = plan_fanout(spec, workers, checked=4)
    assert len(shares) == workers
    indexes = sorted(plan.index for share in shares for plan in share)
    assert indexes == list(range(51 if slow else 50))
    everyone = [plan for share in shares for plan in share]
    assert sum(plan.checked for plan in everyone) == 4
    assert [plan.sender for plan in everyone if plan.sender >= 0] == list(range(10))


def test_the_observer_senders_and_slow_member_share_worker_zero() -> None:
    shares = plan_fanout(FanoutSpec(50, 10, 2000, 32, slow=True), 2, checked=4)
    first = {plan.index: plan for plan in shares[0]}
    assert first[0].observer
    assert all(index in first for index in range(1, 11))
    assert first[50].slow
    assert not any(plan.observer or plan.sender >= 0 or plan.slow for plan in shares[1])


def test_the_other_worker_takes_more_plain_receivers() -> None:
    shares = plan_fanout(FanoutSpec(200, 20, 500, 32), 2, checked=0)
    plain = [[plan for plan in share if plan.index > 20] for share in shares]
    assert 0 < len(plain[0]) < len(plain[1])
    assert len(plain[0]) + len(plain[1]) == 179


def test_idle_deals_connections_round_robin_with_the_sender_first() -> None:
    shares = plan_idle(IdleSpec(7, 2), 2)
    assert shares[0][0].sender == 0
    assert [plan.index for plan in shares[0]] == [0, 2, 4, 6]
    assert [plan.index for plan in shares[1]] == [1, 3, 5]
