"""The SQLite thing store: a write matches the stored version and type, never changes the
type, and writes only the row (its type index untouched). The thing cache in front of it
is bounded by the bytes it holds as well as by its count."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dotdo.core.migrations import migrate
from dotdo.core.sql import Sql
from dotdo.semantic.store import THING_TABLES, SqliteThingStore, ThingRecord
from dotdo.semantic.thing_cache import CachedThingStore
from tests.storage import Storage

ADA = ThingRecord("ada", "Customer", '{"name":"Ada"}', 1, 1, None, 1)


def store() -> SqliteThingStore:
    sql = Sql(Storage())
    migrate(sql, [THING_TABLES], 1)
    return SqliteThingStore(sql)


def test_a_write_needs_the_stored_version_and_type() -> None:
    things = store()
    assert things.insert(ADA) and not things.insert(ADA)
    moved = ADA.evolve(data='{"name":"Ada L."}', updated_at=2, version=2)
    assert not things.write(moved, expected_version=2)  # stale
    assert not things.write(moved.evolve(type="Order"), expected_version=1)  # a thing keeps its type
    assert things.read("ada") == ADA
    assert things.write(moved, expected_version=1)
    assert things.read("ada") == moved
    assert things.remove("ada") and things.read("ada") is None


class Inner:
    """The store below the cache: a dict, counting reads."""

    def __init__(self) -> None:
        self.records: dict[str, ThingRecord] = {}
        self.reads = 0

    def read(self, thing_id: str) -> ThingRecord | None:
        self.reads += 1
        return self.records.get(thing_id)

    def insert(self, record: ThingRecord) -> bool:
        self.records[record.id] = record
        return True

    def write(self, record: ThingRecord, expected_version: int) -> bool:
        self.records[record.id] = record
        return True

    def on_rollback(self, hook: Callable[[], None]) -> None:
        pass


def thing(thing_id: str, size: int) -> ThingRecord:
    return ThingRecord(thing_id, "Blob", '{"b":"' + "x" * size + '"}', 1, 1, None, 1)


def test_large_things_are_evicted_by_bytes_before_the_count_is_reached() -> None:
    inner = Inner()
    cache = CachedThingStore(inner, capacity=1024, max_bytes=10 * 1024 * 1024)
    for number in range(40):  # 40 MiB of things, 10 MiB of cache
        cache.insert(thing(f"t{number}", 1024 * 1024))
    assert len(cache) == 9  # each a little over 1 MiB of JSON
    assert cache.read("t39") is not None and inner.reads == 0  # the newest are still there
    assert cache.read("t0") is not None and inner.reads == 1  # the oldest went: read again
    cache.write(thing("t39", 10), 1)  # a thing that shrinks frees its bytes
    for number in range(40, 49):
        cache.insert(thing(f"t{number}", 1024 * 1024))
    assert cache.read("t39") is not None and inner.reads == 1


def test_the_count_still_bounds_small_things() -> None:
    cache = CachedThingStore(Inner(), capacity=3)
    for number in range(10):
        cache.insert(thing(f"t{number}", 1))
    assert len(cache) == 3


def test_one_thing_larger_than_the_budget_is_still_cached_alone() -> None:
    inner = Inner()
    cache = CachedThingStore(inner, capacity=8, max_bytes=100)
    for number in range(3):
        cache.insert(thing(f"t{number}", 500))
    assert len(cache) == 1 and cache.read("t2") is not None and inner.reads == 0


FIELDS = ("id", "type", "data", "created_at", "updated_at", "deleted_at", "version")


@given(
    st.dictionaries(
        st.sampled_from(FIELDS),
        st.one_of(st.none(), st.integers(), st.text(max_size=4)),
        max_size=len(FIELDS),
    )
)
def test_evolve_is_dataclasses_replace(changes: dict[str, Any]) -> None:
    record = ThingRecord("c-1", "Customer", '{"a":1}', 1, 2, None, 3)
    assert record.evolve(**changes) == dataclasses.replace(record, **changes)
    assert record == ThingRecord("c-1", "Customer", '{"a":1}', 1, 2, None, 3)


def test_evolve_refuses_a_name_that_is_no_field() -> None:
    with pytest.raises(TypeError):
        ThingRecord("c-1", "Customer", "{}", 1, 2, None, 3).evolve(colour="red")
