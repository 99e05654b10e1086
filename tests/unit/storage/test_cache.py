"""L0's `ThingCache`: pinned records are never evicted, and the clean ones leave in the
order one least-recently-used list of every record would give (the walk that skipped the
pinned ones, kept here as the model), however records are pinned and unpinned."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from dotdo.semantic.store import ThingRecord
from dotdo.storage.cache import ABSENT, ThingCache, record_size


def _record(thing_id: str, size: int) -> ThingRecord | None:
    return None if size == 0 else ThingRecord(thing_id, "Item", "x" * size, 1, 1, None, 1)


class _Model:
    """Every record in one least-recently-used list; eviction walks it from the oldest,
    skipping the pinned ones."""

    def __init__(self) -> None:
        self.records: OrderedDict[str, ThingRecord | None] = OrderedDict()
        self.pinned: set[str] = set()

    def put(self, thing_id: str, record: ThingRecord | None, pinned: bool) -> None:
        self.drop(thing_id)
        self.records[thing_id] = record
        if pinned:
            self.pinned.add(thing_id)

    def use(self, thing_id: str) -> None:
        self.records.move_to_end(thing_id)

    def drop(self, thing_id: str) -> None:
        self.records.pop(thing_id, None)
        self.pinned.discard(thing_id)

    def evict(self, max_count: int, max_bytes: int) -> None:
        clean = len(self.records) - len(self.pinned)
        size = sum(record_size(r) for i, r in self.records.items() if i not in self.pinned)
        for thing_id in list(self.records):
            if clean <= max_count and size <= max_bytes:
                return
            if thing_id not in self.pinned:
                size -= record_size(self.records.pop(thing_id))
                clean -= 1


_IDS = st.sampled_from([f"t{n}" for n in range(8)])
_OPS = st.lists(
    st.one_of(
        st.tuples(st.just("put"), _IDS, st.integers(0, 50), st.booleans()),
        st.tuples(st.just("use"), _IDS),
        st.tuples(st.just("drop"), _IDS),
        st.tuples(st.just("pin"), _IDS),
        st.tuples(st.just("unpin"), st.lists(_IDS, max_size=4)),
        st.tuples(st.just("evict"), st.integers(0, 6), st.integers(0, 600)),
    ),
    max_size=60,
)


@settings(max_examples=300)
@given(ops=_OPS)
def test_eviction_drops_what_one_lru_list_would(ops: list[tuple[Any, ...]]) -> None:
    cache, model = ThingCache(), _Model()
    for op in ops:
        kind = op[0]
        if kind == "put":
            _, thing_id, size, pinned = op
            record = _record(thing_id, size)
            cache.put(thing_id, record, pinned)
            model.put(thing_id, record, pinned)
        elif kind == "use":
            if op[1] in model.records:
                cache.use(op[1])
                model.use(op[1])
        elif kind == "drop":
            cache.drop(op[1])
            model.drop(op[1])
        elif kind == "pin":
            cache.pin(op[1])
            if op[1] in model.records:
                model.pinned.add(op[1])
        elif kind == "unpin":
            cache.unpin(op[1])
            model.pinned.difference_update(op[1])
        else:
            cache.evict(op[1], op[2])
            model.evict(op[1], op[2])
        assert sorted(cache) == sorted(model.records), op
        assert cache.bytes == sum(record_size(r) for r in model.records.values())
        assert cache.clean_bytes == sum(
            record_size(r) for i, r in model.records.items() if i not in model.pinned
        )
        assert {i: cache.peek(i) for i in cache} == dict(model.records)


def test_pinned_records_do_not_count_towards_the_bounds() -> None:
    """`TierOptions`: `cache_size` / `cache_bytes` bound the clean things; dirty ones are
    bounded by `max_dirty` / `max_dirty_bytes`."""
    cache = ThingCache()
    cache.put("p", _record("p", 1000), pinned=True)
    for thing_id in ("a", "b"):
        cache.put(thing_id, _record(thing_id, 10))
    cache.evict(2, 2 * record_size(_record("a", 10)))
    assert sorted(cache) == ["a", "b", "p"]


def test_pinned_records_stay_past_every_bound() -> None:
    cache = ThingCache()
    cache.put("p", _record("p", 100), pinned=True)
    cache.put("c", _record("c", 1))
    cache.evict(0, 0)
    assert list(cache) == ["p"]
    cache.unpin(["p"])
    cache.evict(0, 0)
    assert list(cache) == [] and cache.bytes == 0
    assert cache.peek("p") is ABSENT


def test_an_unpinned_record_goes_back_to_the_place_of_its_last_use() -> None:
    cache = ThingCache()
    cache.put("old", None, pinned=True)
    for thing_id in ("a", "b"):
        cache.put(thing_id, None)
    cache.unpin(["old"])  # used before "a" and "b": the first to go
    cache.evict(2, 10**6)
    assert sorted(cache) == ["a", "b"]
    cache.put("new", None, pinned=True)
    cache.use("a")
    cache.unpin(["new"])  # newer than "b", older than "a"
    cache.evict(1, 10**6)
    assert list(cache) == ["a"]
