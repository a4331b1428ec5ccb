"""DiscoveryFeed: servers found by a (fake) discovery reach the connect dialog's snapshots."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from localchat.adapters.gui.discovery_feed import DiscoveryFeed
from localchat.ports.discovery import ServerEntry, ServerListing
from tests.fakes import FakeDiscovery, discovered
from tests.helpers import wait_until

FINGERPRINT = "SHA256:" + ":".join(["AB"] * 32)


class Ticks:
    """A monotonic clock a test moves."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def ticks() -> Ticks:
    return Ticks()


@pytest.fixture
def fake() -> FakeDiscovery:
    return FakeDiscovery()


@pytest.fixture
def feed(fake: FakeDiscovery, ticks: Ticks) -> Iterator[DiscoveryFeed]:
    made = DiscoveryFeed(fake, search_seconds=3.0, monotonic=ticks)
    yield made
    made.close()


def test_nothing_starts_before_the_first_snapshot(fake: FakeDiscovery, feed: DiscoveryFeed) -> None:
    assert not fake.started
    feed.snapshot()
    wait_until(lambda: fake.started, what="discovery to start")


def test_servers_appear_and_disappear_as_discovery_sees_them(
    fake: FakeDiscovery, feed: DiscoveryFeed
) -> None:
    assert feed.snapshot() == ServerListing(searching=True)
    wait_until(lambda: fake.started)
    fake.publish(
        discovered("Team room", 5050, host="10.0.0.5", fingerprint=FINGERPRINT),
        discovered("Attic", 6000, host="10.0.0.9", password=True),
    )
    listing = wait_until(lambda: (s := feed.snapshot()).servers and s, what="servers")
    assert listing.servers == (
        ServerEntry(label="Attic", host="10.0.0.9", port=6000, tls=False, password=True),
        ServerEntry(
            label="Team room", host="10.0.0.5", port=5050, tls=True, password=False,
            fingerprint=FINGERPRINT,
        ),
    )  # fmt: skip
    assert not listing.searching
    fake.publish(discovered("Attic", 6000, host="10.0.0.9", password=True))
    wait_until(lambda: len(feed.snapshot().servers) == 1, what="Team room to go")
    fake.publish()
    wait_until(lambda: feed.snapshot().servers == (), what="the list to empty")


def test_searching_turns_into_nothing_found_after_a_while(
    fake: FakeDiscovery, feed: DiscoveryFeed, ticks: Ticks
) -> None:
    assert feed.snapshot().searching
    ticks.now += 2.9
    assert feed.snapshot().searching
    ticks.now += 0.2
    assert feed.snapshot() == ServerListing()  # nothing found, no problem: say why


def test_a_discovery_that_cannot_start_is_a_problem_not_a_crash(ticks: Ticks) -> None:
    feed = DiscoveryFeed(FakeDiscovery(fail_start=OSError("no multicast route")), monotonic=ticks)
    try:
        feed.snapshot()
        listing = wait_until(lambda: (s := feed.snapshot()).problem and s, what="the problem")
        assert listing.problem == "no multicast route"
        assert not listing.searching
    finally:
        feed.close()


def test_close_stops_the_discovery_and_its_thread(fake: FakeDiscovery, ticks: Ticks) -> None:
    feed = DiscoveryFeed(fake, monotonic=ticks)
    feed.snapshot()
    wait_until(lambda: fake.started)
    feed.close()
    assert fake.closed
    assert feed._thread is not None
    assert not feed._thread.is_alive()


def test_closing_at_once_never_leaves_discovery_running(ticks: Ticks) -> None:
    for _ in range(20):  # close races the thread's start: either it never starts, or closes
        fake = FakeDiscovery()
        feed = DiscoveryFeed(fake, monotonic=ticks)
        feed.snapshot()
        feed.close()
        assert fake.closed or not fake.started
