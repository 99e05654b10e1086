"""A create asks whether its id is free without holding the answer "absent" in L0: the
write that follows holds the thing there, so L0 keeps the clean things it held (none is
evicted for an entry that is overwritten at once); a taken id is refused as before."""

from __future__ import annotations

import pytest

from dotdo.errors import DotdoError
from dotdo.storage.tiers import TierOptions
from tests.inprocess import T0
from tests.storage import Clock, Storage
from tests.unit.storage.test_tiers import Node


def _full_l0() -> Node:
    """Two clean things in an L0 that keeps two, both just read from `things`."""
    node = Node(Storage(), Clock(T0), True, TierOptions(cache_size=2))
    node.things.create("Item", {"$id": "a", "n": 1})
    node.things.create("Item", {"$id": "b", "n": 2})
    node.tiers.flush()
    node = node.restart()
    assert node.things.get("Item", "a") is not None and node.things.get("Item", "b") is not None
    return node


def test_a_create_of_a_free_id_evicts_no_clean_thing() -> None:
    node = _full_l0()
    node.things.create("Item", {"$id": "c", "n": 3})
    assert set(node.tiers.l0.cache) == {"a", "b", "c"}  # c dirty (pinned), a and b still clean
    misses = node.tiers.l0.stats()["misses"]
    assert node.things.get("Item", "a")["n"] == 1  # type: ignore[index]
    assert node.tiers.l0.stats()["misses"] == misses  # answered from L0, no SELECT


def test_a_taken_id_is_refused_and_a_rolled_back_create_leaves_the_id_free() -> None:
    node = _full_l0()
    node.tiers.flush()
    with pytest.raises(DotdoError, match="already exists"):
        node.things.create("Item", {"$id": "a", "n": 9})
    assert node.things.get("Item", "a")["n"] == 1  # type: ignore[index]

    def failing() -> None:
        node.things.create("Item", {"$id": "d", "n": 4})
        raise RuntimeError("after the create")

    with pytest.raises(RuntimeError):
        node.store.atomically(failing)
    assert node.things.get("Item", "d") is None
    node.things.create("Item", {"$id": "d", "n": 5})
    assert node.restart().things.get("Item", "d")["n"] == 5  # type: ignore[index]
