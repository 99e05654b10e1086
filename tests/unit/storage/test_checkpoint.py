"""A checkpoint's writes into `things`: the created things of a checkpoint in one statement a
batch (`write_things`, ADR 0038) leave the table, its indexes and the rows written exactly as
one statement a thing (`write_thing`) does."""

from __future__ import annotations

from typing import Any
from unittest import mock

from hypothesis import given, settings
from hypothesis import strategies as st

from dotdo.core.migrations import migrate
from dotdo.core.sql import Sql
from dotdo.semantic.registry import index_statement
from dotdo.semantic.store import THING_TABLES, ThingRecord
from dotdo.storage import checkpoint
from dotdo.storage.checkpoint import write_thing, write_things
from dotdo.values import INT64_MAX, compact_json
from tests.storage import Storage

_T0 = 1_767_225_600_000
_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63), INT64_MAX),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
)
_PROPERTIES = st.dictionaries(
    st.sampled_from(["g", "n", "name", "x"]), st.one_of(_SCALARS, st.lists(_SCALARS, max_size=3)), max_size=4
)
_TIMES = st.one_of(st.integers(_T0, _T0 + 5), st.integers(0, INT64_MAX))


def _database() -> Sql:
    sql = Sql(Storage(index_entries=True))  # rows written count the index entries, as Cloudflare bills
    migrate(sql, [THING_TABLES], _T0)
    sql.run(index_statement("Item", "g"))  # a declared property index is written too
    return sql


@st.composite
def _records(draw: Any, thing_id: str) -> ThingRecord | None:
    if draw(st.integers(0, 9)) == 0:
        return None  # deleted for good
    data = compact_json(draw(_PROPERTIES))
    if draw(st.integers(0, 9)) == 0:  # past MAX_BATCH_DATA: a statement of its own
        data = compact_json({"big": "x" * (checkpoint.MAX_BATCH_DATA + draw(st.integers(-2, 2)))})
    created = draw(_TIMES)
    return ThingRecord(
        thing_id,
        draw(st.sampled_from(["Item", "Other"])),
        data,
        created,
        draw(_TIMES),
        draw(st.none() | _TIMES),
        draw(st.sampled_from([1, 1, 1, 2, 7, INT64_MAX])),
    )


@st.composite
def _checkpoints(draw: Any) -> tuple[list[ThingRecord], list[tuple[str, ThingRecord | None]]]:
    """Things `things` holds already (as an earlier checkpoint left them), and the dirty
    things of the next checkpoint (distinct ids, some of them among those)."""
    ids = draw(st.lists(st.sampled_from([f"t{n}" for n in range(24)]), unique=True, min_size=1, max_size=16))
    held = [r for r in (draw(_records(i)) for i in draw(st.lists(st.sampled_from(ids), unique=True))) if r]
    dirty = [(i, draw(_records(i))) for i in ids]
    for thing_id, record in list(dirty):
        old = next((h for h in held if h.id == thing_id), None)
        if record is not None and old is not None and draw(st.booleans()):
            # An update of the life `things` holds: same birth and type, a later version.
            dirty[dirty.index((thing_id, record))] = (
                thing_id,
                record.evolve(type=old.type, created_at=old.created_at, version=old.version % INT64_MAX + 1),
            )
    return held, dirty


def _table(sql: Sql) -> list[dict[str, Any]]:
    """Every row with every value's SQLite type (an INTEGER is not a REAL of equal value)."""
    columns = ("id", "type", "data", "created_at", "updated_at", "deleted_at", "version")
    typed = ", ".join(f"{c}, typeof({c}) AS {c}_type" for c in columns)
    return sql.exact_rows(f"SELECT {typed} FROM things ORDER BY id", limit=1000)[0]


@settings(max_examples=150)
@given(_checkpoints(), st.sampled_from([checkpoint.MAX_BATCH_BYTES, 300, 1]))
def test_batched_writes_leave_the_table_and_the_rows_written_of_one_statement_a_thing(
    case: tuple[list[ThingRecord], list[tuple[str, ThingRecord | None]]], batch_bytes: int
) -> None:
    held, dirty = case
    one_by_one, batched = _database(), _database()
    for sql in (one_by_one, batched):
        for record in held:
            write_thing(sql, record.id, record)
    before = one_by_one.rows_written, batched.rows_written
    for thing_id, record in dirty:
        write_thing(one_by_one, thing_id, record)
    reached: list[str] = []
    with (
        mock.patch.object(checkpoint, "MAX_BATCH_BYTES", batch_bytes),
        mock.patch.object(checkpoint.faults, "reach_now", lambda point, detail: reached.append(detail)),
    ):
        write_things(batched, [thing_id for thing_id, _ in dirty], dict(dirty).get)
    assert _table(batched) == _table(one_by_one)
    assert batched.rows_written - before[1] == one_by_one.rows_written - before[0]
    assert reached == [thing_id for thing_id, _ in dirty]  # each once, in order, after its write


def test_created_things_share_one_statement() -> None:
    sql = _database()
    statements = sql._sql.statements  # the stand-in's record of what ran
    records = [ThingRecord(f"c{n}", "Item", '{"g":1}', _T0, _T0, None, 1) for n in range(50)]
    start = len(statements)
    write_things(sql, [r.id for r in records], {r.id: r for r in records}.get)
    assert len(statements) - start == 1
    assert [row["id"] for row in _table(sql)] == sorted(r.id for r in records)
