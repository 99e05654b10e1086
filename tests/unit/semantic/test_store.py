"""The SQLite thing store: a write matches the stored version and type, never changes the
type, and writes only the row (its type index untouched)."""

from __future__ import annotations

from dotdo.core.migrations import migrate
from dotdo.core.sql import Sql
from dotdo.semantic.store import THING_TABLES, SqliteThingStore, ThingRecord
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
