"""The collector settings a serving process runs with."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from localchat.app.runtime_tuning import (
    MIDDLE_EVERY,
    OLD_EVERY,
    YOUNG_COLLECTION_EVERY,
    tune_collector_for_serving,
)


@pytest.fixture
def restored_collector() -> Iterator[None]:
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


@pytest.mark.usefixtures("restored_collector")
def test_the_start_up_heap_is_frozen_and_collections_are_rarer() -> None:
    survivor = [object() for _ in range(100)]  # lives on, like a module's objects
    tune_collector_for_serving()
    assert gc.get_threshold() == (YOUNG_COLLECTION_EVERY, MIDDLE_EVERY, OLD_EVERY)
    assert gc.get_freeze_count() >= len(survivor)
