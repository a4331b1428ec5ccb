"""Test helpers shared by unit and integration tests."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import NoReturn, TypeVar

import pytest

T = TypeVar("T")


def wait_until(
    predicate: Callable[[], T], timeout: float = 5.0, interval: float = 0.01, what: str = ""
) -> T:
    """Poll ``predicate`` until it returns something truthy; fail after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or predicate}")
        time.sleep(interval)


def wait_until_stable(
    measure: Callable[[], T], *, steady_for: float = 0.5, timeout: float = 10.0, what: str = ""
) -> T:
    """Poll ``measure`` until it returns the same value for ``steady_for`` seconds; return it."""
    deadline = time.monotonic() + timeout
    value = measure()
    since = time.monotonic()
    while True:
        time.sleep(0.01)
        now = time.monotonic()
        latest = measure()
        if latest != value:
            value, since = latest, now
        elif now - since >= steady_for:
            return value
        if now >= deadline:
            raise AssertionError(f"{what or measure} kept changing for {timeout}s")


def unavailable(
    reason: str, *, required_by: str = "LOCALCHAT_REQUIRE_ROOT", failure: str = ""
) -> NoReturn:
    """Skip a test that needs something this machine lacks, but fail where the environment
    variable ``required_by`` says it must run (CI sets it: nothing is skipped there), with
    ``failure`` as the message (by default the reason and the variable)."""
    if os.environ.get(required_by):
        message = failure or f"{reason} (and {required_by} is set, so this test must run)"
        pytest.fail(message, pytrace=False)
    pytest.skip(reason)


def display_unavailable(reason: str) -> NoReturn:
    """:func:`unavailable` for the GUI tests: they must run where ``LOCALCHAT_REQUIRE_DISPLAY``
    is set (``.ci/run`` sets it)."""
    unavailable(
        reason,
        required_by="LOCALCHAT_REQUIRE_DISPLAY",
        failure=f"the GUI tests must run here, but {reason}",
    )
