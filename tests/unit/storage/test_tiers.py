"""DOStorage's tiers in-process (`tests/storage.py`): the log makes a write durable before
it returns, checkpoints coalesce, a crash at each named fault point loses no acknowledged
write and leaves nothing half-applied, and any interleaving of writes, flushes, restarts
and queries answers as the direct path does."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from typing import Any
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dotdo.core import faults
from dotdo.core.migrations import migrate
from dotdo.core.sql import Sql
from dotdo.errors import Conflict, DotdoError, HttpError
from dotdo.semantic.graph import GRAPH_TABLES, EventLog
from dotdo.semantic.query import ThingQuery
from dotdo.semantic.registry import REGISTRY_TABLES, Nouns
from dotdo.semantic.store import THING_TABLES, SqliteThingStore, ThingStore
from dotdo.semantic.strict import NounPolicy
from dotdo.semantic.things import Things
from dotdo.storage.events import TieredEventLog
from dotdo.storage.log import STORAGE_TABLES
from dotdo.storage.tiers import TieredThingStore, TierOptions
from tests.inprocess import T0
from tests.storage import Clock, Storage


class Crash(BaseException):
    """The runtime died here (kill -9): nothing after this point runs."""


class _Events:
    def __init__(self, log: EventLog) -> None:
        self._log = log

    def emit(
        self, event_type: str, data: Any = None, subject: str | None = None, object: str | None = None
    ) -> str:
        return self._log.record(event_type, subject, data, object)


class Node:
    """One object's things service on `storage`, tiered or direct; `restart()` is a new
    instance on the same storage (memory lost, SQLite kept)."""

    def __init__(
        self, storage: Storage, clock: Clock, tiered: bool, options: TierOptions | None = None
    ) -> None:
        self.storage, self.clock, self.tiered, self.options = storage, clock, tiered, options
        self.sql = Sql(storage)
        tables = [THING_TABLES, REGISTRY_TABLES, GRAPH_TABLES, *([STORAGE_TABLES] if tiered else [])]
        migrate(self.sql, tables, clock())
        self.nouns = Nouns(self.sql, clock)  # a noun's declared indexes (`nouns.register`)
        self.store: ThingStore = (
            TieredThingStore(self.sql, clock, options) if tiered else SqliteThingStore(self.sql)
        )
        ids = storage.__dict__.setdefault("event_ids", itertools.count())  # outlives a restart
        new_id = lambda: f"{next(ids):026d}"  # noqa: E731 - ULID-shaped, as cursors must be
        self.events: EventLog = (
            TieredEventLog(self.store, clock, new_id)
            if isinstance(self.store, TieredThingStore)
            else EventLog(self.sql, clock, new_id)
        )
        self.things = Things(self.store, _Events(self.events), clock, nouns=NounPolicy(self.nouns))

    @property
    def tiers(self) -> TieredThingStore:
        assert isinstance(self.store, TieredThingStore)
        return self.store

    def restart(self) -> Node:
        return Node(self.storage, self.clock, self.tiered, self.options)

    def table(self) -> dict[str, tuple[Any, ...]]:
        """`things` as SQLite holds it."""
        return {
            r["id"]: (r["type"], r["data"], r["version"], r["deleted_at"])
            for r in self.sql.exec("SELECT id, type, data, version, deleted_at FROM things")
        }

    def view(self) -> dict[str, Any]:
        """Every thing as the service answers it, by list and by id."""
        listed = self.things.list("Item", ThingQuery.build(order_by="$id", limit=1000, include_deleted=True))
        by_id = {t["$id"]: self.things.get("Item", t["$id"], include_deleted=True) for t in listed["items"]}
        events = self.events.list(limit=1000)["items"]
        return {"items": listed["items"], "total": listed["total"], "by_id": by_id, "events": events}

    def event_rows(self) -> list[dict[str, Any]]:
        """`events` as the read-only query reads it (on the tiers, after a full checkpoint)."""
        return self.sql.exec("SELECT id, type, data, timestamp, subject, object FROM events")


@pytest.fixture(autouse=True)
def _disarm() -> Any:
    yield
    faults.disarm_all()


def _node(options: TierOptions | None = None) -> Node:
    return Node(Storage(), Clock(T0), True, options)


def _crash() -> None:
    raise Crash


def test_a_write_is_one_log_row_and_no_things_row_until_the_checkpoint() -> None:
    node = _node()
    node.things.create("Item", {"$id": "a", "n": 0})
    before = node.sql.rows_written
    for n in range(1, 11):
        node.things.update("Item", "a", {"n": n})
    # Each update: one log row, its event in it; `things` and the event segments untouched.
    assert node.sql.rows_written - before == 10
    assert "a" not in node.table()
    assert node.tiers.stats()["l1"]["rows_pending"] == 11
    written = node.tiers.flush()
    assert written == 3  # one `things` row for eleven writes, one segment row for their events, the mark
    assert node.table()["a"] == ("Item", '{"n":10}', 11, None)
    assert node.tiers.stats()["l1"]["rows_pending"] == 0


def test_a_checkpoint_writes_the_created_things_with_one_statement() -> None:
    """A life created since the last checkpoint is not in `things` yet: the checkpoint
    inserts it straight away (an UPDATE first would match nothing), all of them in one
    statement (ADR 0038); an updated one is still matched by its birth, at the same rows."""
    node = _node()
    for n in range(5):
        node.things.create("Item", {"$id": f"c{n}", "n": n})
    statements = node.storage.sql.statements
    before = len(statements)
    node.tiers.flush()
    things_writes = [
        q for q in statements[before:] if q.lstrip().startswith(("INSERT INTO things", "UPDATE things"))
    ]
    assert len(things_writes) == 1 and things_writes[0].startswith("INSERT INTO things")
    assert sorted(node.table()) == [f"c{n}" for n in range(5)]
    node.things.update("Item", "c0", {"n": 9})
    before = len(statements)
    node.tiers.flush()
    things_writes = [
        q for q in statements[before:] if q.lstrip().startswith(("INSERT INTO things", "UPDATE things"))
    ]
    assert len(things_writes) == 1 and things_writes[0].startswith("UPDATE things")
    assert node.table()["c0"] == ("Item", '{"n":9}', 2, None)


def test_a_batch_is_one_log_row() -> None:
    node = _node()
    before = node.tiers.log.rows_appended
    node.things.create_many("Item", [{"$id": f"i{n}", "n": n} for n in range(100)])
    assert node.tiers.log.rows_appended - before == 1


def test_a_turn_past_the_row_limit_splits_and_replays_whole() -> None:
    node = _node(TierOptions(max_row_bytes=2_000))
    node.things.create_many("Item", [{"$id": f"i{n}", "text": "x" * 500} for n in range(10)])
    assert node.tiers.log.rows_appended >= 3
    again = node.restart()
    assert len(again.things.list("Item", ThingQuery.build(limit=100))["items"]) == 10


def test_replay_at_start_brings_back_every_unflushed_write() -> None:
    node = _node()
    node.things.create("Item", {"$id": "a", "n": 1})
    node.things.update("Item", "a", {"n": 2})
    node.things.create("Item", {"$id": "b"})
    node.things.delete("Item", "b")
    again = node.restart()
    assert again.tiers.stats()["l1"]["replayed_rows"] == 4
    assert again.things.get("Item", "a") is not None
    assert again.things.get("Item", "a")["n"] == 2  # type: ignore[index]
    assert again.things.get("Item", "b") is None
    assert again.view() == node.view()


def test_a_query_sees_every_acknowledged_write() -> None:
    node = _node()
    node.things.create("Item", {"$id": "a", "n": 1})
    node.things.update("Item", "a", {"n": 5})
    found = node.things.list("Item", ThingQuery.build(where={"n": {"$gt": 3}}))
    assert [t["$id"] for t in found["items"]] == ["a"]
    assert node.things.count("Item", ThingQuery.build(where={"n": 5})) == 1


def _half_written(options: TierOptions | None = None) -> Node:
    """Ten Items in `things`, then four writes not checkpointed: an update, a delete for
    good, a soft delete and a create."""
    node = _node(options)
    node.things.create_many("Item", [{"$id": f"i{n}", "n": n, "name": f"x{n}"} for n in range(10)])
    node.tiers.flush()
    node.things.update("Item", "i3", {"n": 30})
    node.things.delete("Item", "i4")
    node.things.soft_delete("Item", "i5")
    node.things.create("Item", {"$id": "new", "n": 5, "name": "x5"})
    return node


def _reads(node: Node) -> list[Any]:
    """A list, a count, a residual list (the scan) and a soft-deleted-included count."""
    return [
        [
            t["$id"]
            for t in node.things.list("Item", ThingQuery.build(where={"n": {"$gte": 5}}, order_by="-n"))[
                "items"
            ]
        ],
        node.things.count("Item", ThingQuery.build(where={"n": {"$lt": 5}})),
        [
            t["$id"]
            for t in node.things.list("Item", ThingQuery.build(where={"name": {"$regex": "^x[3-6]$"}}))[
                "items"
            ]
        ],
        node.things.count("Item", ThingQuery.build(include_deleted=True)),
    ]


def test_a_query_over_unflushed_writes_writes_no_row() -> None:
    node = _half_written()
    before, checkpoints = node.sql.rows_written, node.tiers.checkpoints
    assert _reads(node) == [["i3", "i9", "i8", "i7", "i6", "new"], 3, ["i3", "i6", "new"], 10]
    assert node.sql.rows_written == before
    assert node.tiers.checkpoints == checkpoints
    assert "i3" in node.table() and node.table()["i3"][1] == '{"n":3,"name":"x3"}'  # still stale
    stats = node.tiers.stats()
    assert stats["l0"]["dirty"] == 4
    assert stats["l2"]["overlaid_queries"] >= 4
    assert stats["l2"]["query_checkpoints"] == 0


def test_past_overlay_bytes_a_query_checkpoints_its_type_first() -> None:
    node = _half_written(TierOptions(overlay_bytes=100))
    node.things.create("Other", {"$id": "o", "n": 1})
    before = node.sql.rows_written
    assert _reads(node) == [["i3", "i9", "i8", "i7", "i6", "new"], 3, ["i3", "i6", "new"], 10]
    assert node.sql.rows_written > before
    stats = node.tiers.stats()
    assert stats["l0"]["dirty"] == 1  # the Other: only the queried type is checkpointed
    assert stats["l2"]["query_checkpoints"] == 1
    assert node.table()["i3"][1] == '{"n":30,"name":"x3"}'


def test_a_query_over_the_overlay_uses_the_indexes_the_direct_query_uses() -> None:
    plans: dict[str, set[str]] = {}
    for tiered in (False, True):
        node = Node(Storage(), Clock(T0), tiered)
        node.nouns.register("Item", indexes=("g",))
        node.things.create_many("Item", [{"$id": f"i{n}", "g": n % 3} for n in range(30)])
        if tiered:
            node.tiers.flush()
            node.things.update("Item", "i1", {"g": 2})  # dirty: the query reads an overlay
        statements: list[tuple[str, tuple[Any, ...]]] = []
        runtime_sql = node.storage.sql
        exec_ = runtime_sql.exec

        def spy(query: str, *bindings: Any, record: Any = statements, real: Any = exec_) -> Any:
            record.append((query, bindings))
            return real(query, *bindings)

        runtime_sql.exec = spy  # type: ignore[method-assign]
        for where in ({"g": 2}, None):
            node.things.list("Item", ThingQuery.build(where=where, limit=5, with_total=True))
            node.things.count("Item", ThingQuery.build(where=where))
        runtime_sql.exec = exec_  # type: ignore[method-assign]
        used: set[str] = set()
        for query, bindings in statements:
            if "things" not in query or "sqlite_master" in query:  # the registry reads which indexes exist
                continue
            if query.endswith("FROM things WHERE id IN (SELECT value FROM json_each(?))"):
                continue  # a page's records by key, once its matches are measured (ADR 0057)
            if tiered:
                assert "WITH dirty" in query
            for row in exec_("EXPLAIN QUERY PLAN " + query, *bindings):
                detail = str(row["detail"])
                if detail == "SEARCH t USING INDEX things_by_id (id=?)":
                    continue  # the page's records by key, in the statement that measures it
                assert not detail.startswith("SCAN things"), detail  # never the whole table
                used.update(w for w in detail.replace("(", " ").split() if w.startswith("things_"))
                if detail.startswith("SEARCH things USING PRIMARY KEY"):
                    used.add("the key")  # (type, created_at, id): a type's rows, in list order
        plans["tiered" if tiered else "direct"] = used
    assert plans["direct"] == {"the key", "things_Item_g"}
    assert plans["tiered"] >= plans["direct"]


def test_a_rolled_back_transaction_leaves_l0_and_the_log_as_they_were() -> None:
    node = _node()
    node.things.create("Item", {"$id": "a", "n": 1})
    appended = node.tiers.log.rows_appended

    def work() -> None:
        node.things.update("Item", "a", {"n": 2})
        raise DotdoError("no")

    with pytest.raises(DotdoError):
        node.things.transaction(work)
    assert node.things.get("Item", "a")["n"] == 1  # type: ignore[index]
    assert node.tiers.log.rows_appended == appended
    assert node.restart().things.get("Item", "a")["n"] == 1  # type: ignore[index]


def test_the_timer_source_checkpoints_when_the_oldest_write_is_due() -> None:
    import asyncio

    node = _node(TierOptions(checkpoint_delay_ms=1_000))
    assert node.tiers.next_wake() is None
    node.things.create("Item", {"$id": "a"})
    assert node.tiers.next_wake() == T0 + 1_000
    assert asyncio.run(node.tiers.run_due(T0 + 999)) == 0
    assert asyncio.run(node.tiers.run_due(T0 + 1_000)) == 1
    assert node.tiers.next_wake() is None
    assert "a" in node.table()


def test_the_dirty_bound_forces_a_checkpoint() -> None:
    node = _node(TierOptions(max_dirty=5))
    for n in range(6):
        node.things.create("Item", {"$id": f"i{n}"})
    assert len(node.table()) == 6
    assert node.tiers.stats()["l0"]["dirty"] == 0


def test_a_full_ring_checkpoints_inside_the_write() -> None:
    node = _node(TierOptions(log_slots=8, max_dirty=10**6))
    for n in range(40):
        node.things.create("Item", {"$id": f"i{n}"})
    assert node.tiers.log.pending_rows <= 8
    assert node.restart().view() == node.view()


def _acknowledged_then_crash(node: Node, point: str, detail: str) -> tuple[Node, list[str]]:
    """Writes until the armed point crashes one; what was acknowledged before it."""
    acknowledged: list[str] = []
    faults.arm(point, detail, _crash)
    try:
        for n in range(20):
            node.things.create("Item", {"$id": f"i{n:02d}", "n": n})
            acknowledged.append(f"i{n:02d}")
            node.things.update("Item", f"i{n:02d}", {"n": -n})
            if n % 4 == 3:
                node.tiers.flush()
    except Crash:
        pass
    return node.restart(), acknowledged


@pytest.mark.parametrize(
    ("point", "detail"),
    [
        (faults.STORAGE_LOGGED, "7"),
        (faults.STORAGE_IN_CHECKPOINT, "i05"),
        (faults.STORAGE_CHECKPOINTED, "4"),
    ],
)
def test_a_crash_at_each_fault_point_keeps_every_acknowledged_write_and_nothing_half(
    point: str, detail: str
) -> None:
    node = _node()
    again, acknowledged = _acknowledged_then_crash(node, point, detail)
    assert not faults.armed(), "the fault point was reached"
    view = again.view()["by_id"]
    for thing_id in acknowledged:
        assert thing_id in view
    # Nothing half-applied: every thing is at a version its events say it reached, and each
    # thing's last event carries exactly the state that is stored.
    for thing_id, thing in view.items():
        events = again.events.list(subject=thing_id, limit=1000)["items"]
        assert events
        assert events[-1]["data"]["$version"] == thing["$version"]
    again.tiers.flush()
    assert again.restart().view() == again.view()


VALUES: list[Any] = [
    -3,
    -2,
    -1,
    0,
    1,
    2,
    3,
    1.5,
    -0.5,
    2**60,
    "a",
    "B",
    "",
    "x1",
    True,
    False,
    None,
    [1],
    {"k": 1},
]
"""What `n` takes: every JSON kind, so an order by `n` crosses kinds."""

_VALUE = st.integers(0, len(VALUES) - 1)
_OPS = st.lists(
    st.one_of(
        st.tuples(st.just("create"), st.integers(0, 5), _VALUE),
        st.tuples(st.just("update"), st.integers(0, 5), _VALUE),
        st.tuples(st.just("delete"), st.integers(0, 5), st.just(0)),
        st.tuples(st.just("soft"), st.integers(0, 5), st.just(0)),
        st.tuples(st.just("restore"), st.integers(0, 5), st.just(0)),
        st.tuples(st.just("other"), st.integers(0, 5), _VALUE),
        st.tuples(st.just("flush"), st.just(0), st.just(0)),
        st.tuples(st.just("restart"), st.just(0), st.just(0)),
        st.tuples(st.just("query"), st.integers(0, 10**6), st.integers(-3, 3)),
        st.tuples(st.just("batch"), st.integers(0, 5), _VALUE),
        st.tuples(st.just("events"), st.integers(0, 5), st.integers(-3, 3)),
    ),
    max_size=40,
)

_WHERES: list[Any] = [
    {"n": {"$gte": 0}},
    None,
    {"n": {"$in": [1, "a", True, None]}},
    {"$or": [{"n": {"$lt": 1}}, {"n": {"$exists": False}}]},
    {"n": {"$ne": 2}, "$version": {"$gte": 2}},
]
_ORDERS: list[Any] = [["-n", "$id"], "n", "-n", None, "-$updated_at", "-$version,n", "$deleted_at"]
_RESIDUAL = {"n": {"$regex": "^x"}}  # runs in Python: the scan, whole and by batches of ids


def _query(shape: int, residual: bool = False) -> ThingQuery:
    """One of many queries, picked by `shape`: where (or the residual one), order, limit,
    offset, soft-deleted things or not, total or not."""
    shape, chosen = divmod(shape, len(_WHERES))
    shape, order = divmod(shape, len(_ORDERS))
    shape, limit = divmod(shape, 5)
    shape, offset = divmod(shape, 4)
    return ThingQuery.build(
        where=_RESIDUAL if residual else _WHERES[chosen],
        order_by=_ORDERS[order],
        limit=[0, 1, 2, 3, 100][limit],
        offset=[0, 1, 2, 5][offset],
        include_deleted=bool(shape % 2),
        with_total=bool(shape // 2 % 2),
    )


def _apply(node: Node, op: tuple[str, int, int]) -> tuple[Node, Any]:
    kind, key, value = op
    thing_id = f"t{key}"
    try:
        if kind == "create":
            return node, node.things.create("Item", {"$id": thing_id, "n": VALUES[value]})
        if kind == "update":
            return node, node.things.update("Item", thing_id, {"n": VALUES[value]})
        if kind == "delete":
            return node, node.things.delete("Item", thing_id)
        if kind == "soft":
            return node, node.things.soft_delete("Item", thing_id)
        if kind == "restore":
            return node, node.things.restore("Item", thing_id)
        if kind == "other":  # the same id as another type, once its Item is deleted for good
            return node, node.things.create("Other", {"$id": thing_id, "n": VALUES[value]})
        if kind == "batch":
            ids = [f"b{key}-{n}" for n in range(3)]
            return node, node.things.create_many("Item", [{"$id": i, "n": VALUES[value]} for i in ids])
        if kind == "flush":
            if node.tiered:
                node.tiers.flush()
            return node, None
        if kind == "restart":
            return node.restart(), None
        if kind == "events":
            return node, _events_paged(node, key, value)
        query = _query(key)
        answers: list[Any] = [node.things.list(noun, query) for noun in ("Item", "Other")]
        answers.append(node.things.count("Item", query))
        answers.append(node.things.find_first("Item", query))
        answers.append(node.things.list("Item", _query(key, residual=True)))
        answers.append(node.things.count("Item", ThingQuery.build(where={"$or": [_RESIDUAL, {"n": value}]})))
        return node, answers
    except DotdoError as error:
        return node, (type(error).__name__, error.code)


def _events_paged(node: Node, key: int, value: int) -> list[Any]:
    """Every page of one filtered read of the event log, cursor by cursor."""
    pattern = ["Item.*", "*.updated", "Item.created", None][value % 4]
    subject = f"t{key}" if value >= 0 else None
    since = T0 + key * 3 if key % 2 else None
    pages: list[Any] = []
    cursor = None
    while True:
        page = node.events.list(pattern, subject, since, cursor, limit=2 + key % 3)
        pages.append(page)
        cursor = page["cursor"]
        if cursor is None:
            return pages


@pytest.mark.parametrize(
    ("durability", "overlay_bytes", "statement_room"),
    [
        ("strict", 1_000_000, 99_000),
        ("relaxed", 1_000_000, 99_000),
        ("strict", 200, 99_000),  # some queries checkpoint their type first
        ("strict", 1_000_000, 0),  # the overlay's statements with the where clause once
    ],
)
@settings(max_examples=100)
@given(ops=_OPS)
def test_any_interleaving_answers_as_the_direct_path(
    durability: str, overlay_bytes: int, statement_room: int, ops: list[tuple[str, int, int]]
) -> None:
    clock = Clock(T0)
    options = TierOptions(
        log_slots=8, max_dirty=4, durability=durability, relaxed_max_writes=3, overlay_bytes=overlay_bytes
    )
    tiered = Node(Storage(), clock, True, options)
    direct = Node(Storage(), clock, False)
    with (
        mock.patch("dotdo.semantic.store._SCAN_BATCH", 2),  # scans page on by ids at once
        mock.patch("dotdo.semantic.overlay._STATEMENT_ROOM", statement_room),
    ):
        for op in ops:
            clock.advance(1)
            if op[0] == "restart" and durability == "relaxed":
                tiered.tiers.commit_group()  # a clean stop; a crash's window is tested on its own
            tiered, got = _apply(tiered, op)
            direct, expected = _apply(direct, op)
            assert got == expected, op
    assert tiered.view() == direct.view()
    tiered.tiers.flush()
    assert tiered.table() == direct.table()
    assert tiered.event_rows() == direct.event_rows()


_GROUPS = st.lists(
    st.tuples(_OPS.map(lambda ops: [op for op in ops if op[0] != "restart"][:8]), st.booleans()),
    max_size=6,
)


def _in_transaction(node: Node, ops: list[tuple[str, int, int]], rolls_back: bool) -> list[Any]:
    """The answers of `ops` run in one `sql.transaction`, which then commits or rolls back."""
    answers: list[Any] = []

    def work() -> None:
        for op in ops:
            node.clock.advance(1)
            answers.append(_apply(node, op)[1])
        if rolls_back:
            raise Crash

    with contextlib.suppress(Crash):
        node.sql.transaction(work)
    node.clock.advance(-len(ops))  # the other path runs them at the same times
    return answers


@pytest.mark.parametrize("durability", ["strict", "relaxed"])
@settings(max_examples=100)
@given(groups=_GROUPS)
def test_operations_in_enclosing_transactions_answer_as_the_direct_path(
    durability: str, groups: list[tuple[list[tuple[str, int, int]], bool]]
) -> None:
    """Each group of operations runs in one enclosing transaction (each operation a turn of
    the tiers, checkpoints among them), which then commits or rolls back, on both paths."""
    clock = Clock(T0)
    options = TierOptions(log_slots=8, max_dirty=4, durability=durability, relaxed_max_writes=3)
    tiered, direct = Node(Storage(), clock, True, options), Node(Storage(), clock, False)
    for ops, rolls_back in groups:
        assert _in_transaction(tiered, ops, rolls_back) == _in_transaction(direct, ops, rolls_back), ops
        clock.advance(len(ops))
    assert tiered.view() == direct.view()
    tiered.tiers.commit_group()
    assert tiered.restart().view() == direct.view()
    tiered.tiers.flush()
    assert tiered.table() == direct.table()
    assert tiered.event_rows() == direct.event_rows()


def test_events_travel_in_the_log_row_and_checkpoint_into_one_segment_row() -> None:
    node = _node()
    node.things.create("Item", {"$id": "a", "n": 0})
    node.events.record("Item.pinged", "a", {"x": 1})  # an event of its own: a row of its own
    assert node.tiers.log.rows_appended == 2
    assert node.sql.exec("SELECT count(*) AS n FROM dotdo_event_segments")[0]["n"] == 0
    assert [e["type"] for e in node.events.list()["items"]] == ["Item.created", "Item.pinged"]
    assert node.events.get(node.events.list()["items"][1]["id"])["data"] == {"x": 1}  # type: ignore[index]
    before = node.sql.rows_written
    node.tiers.flush()
    # `things` row, one segment row for both events, the mark.
    assert node.sql.rows_written - before == 3
    assert [r["type"] for r in node.event_rows()] == ["Item.created", "Item.pinged"]
    again = node.restart()
    assert again.view() == node.view()
    assert again.events.get(node.events.list()["items"][0]["id"]) is not None


def test_an_upper_case_cursor_pages_through_logged_and_pending_events_alike() -> None:
    """A cursor is an id, and an id is one in any case (Crockford base32): the events not
    in a segment yet were compared with the cursor as sent, so `01J...` matched them all."""
    node = _node()
    ids = itertools.count()
    events = TieredEventLog(node.tiers, node.clock, lambda: f"01j{next(ids):023d}")  # letters in it
    for n in range(3):
        events.record("Item.pinged", f"i{n}", {"n": n})
    node.tiers.flush()
    for n in range(3, 6):
        events.record("Item.pinged", f"i{n}", {"n": n})
    whole = events.list(limit=1000)["items"]
    assert len(whole) == 6 and node.tiers.pending_events()
    for at in range(1, 6):
        cursor = whole[at - 1]["id"].upper()
        assert events.list(cursor=cursor, limit=1000)["items"] == whole[at:]


@pytest.mark.parametrize("limit", [1, 2, 3, 5, 6, 7])
def test_has_more_is_exact_across_logged_and_pending_events(limit: int) -> None:
    """A page that merges the events not in a segment yet says whether more follow, exactly:
    its cursor is None only on the last page, and no page after a `has_more` is empty."""
    node = _node()
    ids = itertools.count()
    events = TieredEventLog(node.tiers, node.clock, lambda: f"01j{next(ids):023d}")
    for n in range(3):
        events.record("Item.pinged", f"i{n}", {"n": n})
    node.tiers.flush()
    for n in range(3, 6):
        events.record("Item.pinged", f"i{n}", {"n": n})
    got: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = events.list(cursor=cursor, limit=limit)
        assert page["items"] and page["has_more"] is (page["cursor"] is not None)
        got.extend(page["items"])
        if not page["has_more"]:
            break
        cursor = page["cursor"]
    assert [e["data"]["n"] for e in got] == list(range(6))


def test_segments_seal_at_their_bounds_and_reads_cross_them() -> None:
    node = _node(TierOptions(segment_events=4, segment_bytes=600))
    for n in range(10):
        node.things.create("Item", {"$id": f"i{n}", "text": "x" * (10 * n)})
        if n % 3 == 2:
            node.tiers.flush()
    node.tiers.flush()
    rows = node.sql.exec("SELECT seq, count, bytes, sealed, length(events) AS size FROM dotdo_event_segments")
    assert sum(r["count"] for r in rows) == 10
    assert all(r["count"] <= 4 for r in rows)
    assert all(r["size"] <= 600 or r["count"] == 1 for r in rows)
    assert [r["sealed"] for r in rows][:-1] == [1] * (len(rows) - 1)
    ids = [e["id"] for e in node.events.list(limit=1000)["items"]]
    assert ids == sorted(ids) and len(ids) == 10
    assert [r["id"] for r in node.event_rows()] == ids
    assert all(node.events.get(i) is not None for i in ids)


def test_a_rolled_back_transaction_logs_no_event() -> None:
    node = _node()

    def work() -> None:
        node.events.record("Item.pinged", None, {})
        raise DotdoError("no")

    with pytest.raises(DotdoError):
        node.things.transaction(work)
    assert node.events.list()["items"] == []
    assert node.restart().events.list()["items"] == []


def test_an_events_table_migrates_into_segments_without_losing_an_event() -> None:
    storage, clock = Storage(), Clock(T0)
    direct = Node(storage, clock, False)
    for n in range(700):  # more than one migration batch and one segment
        direct.events.record("Item.pinged", f"t{n % 7}", {"n": n})
    before = direct.event_rows()
    tiered = Node(storage, clock, True)
    assert tiered.event_rows() == before
    assert tiered.events.list(limit=1000)["items"] == direct_list(before)
    kinds = {str(r["type"]) for r in tiered.sql.exec("SELECT type FROM sqlite_master WHERE name = 'events'")}
    assert kinds == {"view"}
    tiered.events.record("Item.pinged", "t1", {"n": 700})
    tiered.tiers.flush()
    assert len(tiered.event_rows()) == 701


def direct_list(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**r, "data": json.loads(str(r["data"]))} for r in rows]


def test_a_checkpoint_writes_an_updated_thing_once_its_index_entries_untouched() -> None:
    """Counted as Cloudflare bills (`Storage(index_entries=True)`): a checkpoint of 1,000
    updated things writes 1,000 `things` rows and no entry of the type index, whose
    columns (`type`, `created_at`) did not change; it used to assign `created_at` and
    so rewrite every thing's index entry too (2 rows a thing)."""
    node = Node(Storage(index_entries=True), Clock(T0), True)
    for start in (0, 500):  # at most 500 a batch
        node.things.create_many("Item", [{"$id": f"t{n}", "n": 0} for n in range(start, start + 500)])
    created = node.tiers.flush()
    assert created >= 2000  # each new thing: its row and its type index entry
    node.things.transaction(lambda: [node.things.update("Item", f"t{n}", {"n": 1}) for n in range(1000)])
    written = node.tiers.flush()
    segments = node.sql.first("SELECT count(*) AS n FROM dotdo_event_segments")
    assert segments is not None
    # 1,000 things, the event segments the 1,000 events went into (each at most twice:
    # filled, then sealed), the mark.
    assert 1000 < written <= 1000 + 2 * int(segments["n"]) + 1
    assert node.restart().view() == node.view()


def test_a_thing_created_again_under_its_id_reaches_things_with_its_new_birth() -> None:
    clock = Clock(T0)
    node = Node(Storage(), clock, True)
    node.things.create("Item", {"$id": "a", "n": 1})
    node.tiers.flush()
    clock.advance(1_000)
    node.things.delete("Item", "a")
    node.things.create("Item", {"$id": "a", "n": 2})
    node.tiers.flush()
    row = node.sql.first("SELECT created_at, data, version FROM things WHERE id = 'a'")
    assert row is not None
    assert (row["created_at"], row["data"], row["version"]) == (T0 + 1_000, '{"n":2}', 1)


def test_hot_key_updates_cost_at_most_1_1_rows_each_checkpoints_included() -> None:
    node = _node()
    for n in range(10):
        node.things.create("Item", {"$id": f"h{n}", "n": 0})
    node.tiers.flush()
    before = node.sql.rows_written
    for n in range(1000):
        node.things.update("Item", f"h{n % 10}", {"n": n})
    node.tiers.flush()
    assert (node.sql.rows_written - before) / 1000 <= 1.1


def _serve(node: Node, acknowledged: list[int], n: int) -> Any:
    """One request as DOStorage.fetch serves it: a write, then the wait for its log row."""

    async def request() -> None:
        with node.tiers.serving():
            node.things.update("Item", "a", {"n": n})
            await asyncio.sleep(0)
            await node.tiers.durable()
        acknowledged.append(n)

    return request()


def test_concurrent_requests_share_one_log_row_and_are_acknowledged_after_it() -> None:
    node = _node()
    node.things.create("Item", {"$id": "a", "n": 0})
    appended = node.tiers.log.rows_appended
    acknowledged: list[int] = []

    async def main() -> None:
        await asyncio.gather(*(_serve(node, acknowledged, n) for n in range(1, 9)))

    asyncio.run(main())
    assert sorted(acknowledged) == list(range(1, 9))
    assert node.tiers.log.rows_appended - appended == 1
    again = node.restart()
    assert again.things.get("Item", "a")["n"] == 8  # type: ignore[index]
    assert len(again.events.list(pattern="Item.updated")["items"]) == 8


def test_a_crash_between_the_group_row_and_acknowledgement_keeps_every_write() -> None:
    node = _node()
    node.things.create("Item", {"$id": "a", "n": 0})
    acknowledged: list[int] = []
    at_crash: list[list[int]] = []

    def crash() -> None:
        at_crash.append(list(acknowledged))
        raise Crash

    faults.arm(faults.STORAGE_GROUP_LOGGED, str(node.tiers.log.last_seq + 1), crash)

    async def main() -> None:
        await asyncio.gather(*(_serve(node, acknowledged, n) for n in range(1, 5)))

    asyncio.run(main())  # the event loop logs the Crash; the process would be gone
    assert at_crash == [[]], "the row was committed before any request was acknowledged"
    again = node.restart()
    assert again.things.get("Item", "a")["n"] == 4  # type: ignore[index]
    assert [e["data"]["n"] for e in again.events.list(pattern="Item.updated")["items"]] == [1, 2, 3, 4]


def test_a_crash_before_the_group_row_loses_only_unacknowledged_writes_whole() -> None:
    node = _node()
    node.things.create("Item", {"$id": "a", "n": 0})

    async def main() -> Node:
        with node.tiers.serving():
            node.things.update("Item", "a", {"n": 1})
            return node.restart()  # the runtime died before the loop ran the group's commit

    again = asyncio.run(main())
    assert again.things.get("Item", "a")["n"] == 0  # type: ignore[index]
    assert [e["type"] for e in again.events.list()["items"]] == ["Item.created"]


def test_a_write_outside_a_request_is_logged_at_once_in_strict_mode() -> None:
    node = _node()

    async def main() -> None:
        node.things.create("Item", {"$id": "a"})  # an alarm, an RPC call: nothing waits for a group
        assert node.tiers.log.rows_appended == 1

    asyncio.run(main())


def _relaxed(**options: Any) -> Node:
    return _node(TierOptions(durability="relaxed", **options))


def test_relaxed_writes_are_acknowledged_at_once_and_logged_every_m_writes() -> None:
    node = _relaxed(relaxed_max_writes=5, relaxed_flush_ms=60_000)
    before = node.sql.rows_written
    for n in range(4):
        node.things.create("Item", {"$id": f"i{n}"})
    assert node.sql.rows_written == before  # acknowledged, nothing written yet
    assert node.tiers.stats()["l1"]["group_writes"] == 4
    assert len(node.events.list()["items"]) == 4  # reads see them
    node.things.create("Item", {"$id": "i4"})
    assert node.tiers.log.rows_appended == 1  # five writes, one row
    assert node.restart().view() == node.view()


def test_relaxed_writes_are_logged_when_the_oldest_is_n_ms_old() -> None:
    node = _relaxed(relaxed_flush_ms=500, checkpoint_delay_ms=60_000)
    node.things.create("Item", {"$id": "a"})
    assert node.tiers.next_wake() == T0 + 500
    assert asyncio.run(node.tiers.run_due(T0 + 499)) == 0
    assert asyncio.run(node.tiers.run_due(T0 + 500)) == 1
    assert node.tiers.log.rows_appended == 1
    assert node.tiers.next_wake() == T0 + 60_000  # the checkpoint is still to come
    assert node.restart().things.get("Item", "a") is not None


def test_a_relaxed_crash_loses_the_window_and_never_half_a_transaction() -> None:
    node = _relaxed(relaxed_max_writes=4, relaxed_flush_ms=60_000)
    node.things.create_many("Item", [{"$id": f"a{n}"} for n in range(3)])
    for n in range(3):
        node.things.create("Item", {"$id": f"b{n}"})  # the fourth write: logged with the batch
    node.things.create_many("Item", [{"$id": f"c{n}"} for n in range(3)])  # in the window
    node.things.update("Item", "a0", {"late": True})  # in the window
    again = node.restart()
    ids = {t["$id"] for t in again.view()["items"]}
    assert ids == {"a0", "a1", "a2", "b0", "b1", "b2"}
    assert "late" not in again.things.get("Item", "a0")  # type: ignore[operator]
    assert len(again.events.list()["items"]) == 6


def test_a_write_that_touches_other_tables_is_logged_in_its_own_transaction_when_relaxed() -> None:
    node = _relaxed(relaxed_max_writes=100)
    node.things.create("Item", {"$id": "a"})  # held
    node.sql.run("CREATE TABLE IF NOT EXISTS notes (id TEXT PRIMARY KEY)")

    def work() -> None:
        node.sql.run("INSERT INTO notes (id) VALUES ('n')")
        node.events.record("Item.noted", "a", {})

    node.sql.transaction(work)
    # One row: the held write first, then the note's event, with the note's own row.
    assert node.tiers.log.rows_appended == 1
    again = node.restart()
    assert again.things.get("Item", "a") is not None
    assert [e["type"] for e in again.events.list()["items"]] == ["Item.created", "Item.noted"]


def test_an_event_in_a_transaction_that_rolls_back_later_is_gone() -> None:
    node = _node()

    def work() -> None:
        node.events.record("Item.noted", None, {})  # logged in the enclosing transaction
        raise DotdoError("no")

    with pytest.raises(DotdoError):
        node.sql.transaction(work)
    assert node.events.list()["items"] == []
    assert node.restart().events.list()["items"] == []


def test_durability_is_checked_when_the_options_are_made() -> None:
    with pytest.raises(ValueError, match="durability"):
        TierOptions(durability="eventual")
    with pytest.raises(ValueError, match="relaxed_flush_ms"):
        TierOptions(relaxed_flush_ms=0)


def test_a_checkpoint_in_a_transaction_that_rolls_back_keeps_its_things_in_l0() -> None:
    """A checkpoint inside an enclosing transaction makes its things clean for a moment; L0
    must not let them go before that transaction ends: if it rolls back they are dirty
    again, and only L0 holds their last state for the next checkpoint."""
    node = _node(TierOptions(cache_size=1))
    for n in range(5):
        node.things.create("Item", {"$id": f"i{n}", "n": n})
    node.tiers.flush()
    for n in range(5):
        node.things.update("Item", f"i{n}", {"n": n + 10})

    def work() -> None:
        node.tiers.flush()  # checkpoints the five updates inside this transaction
        node.tiers.read("other")  # a miss: L0 makes room
        raise Crash

    with pytest.raises(Crash):
        node.sql.transaction(work)
    node.tiers.flush()
    assert {i: row[1] for i, row in node.table().items()} == {f"i{n}": f'{{"n":{n + 10}}}' for n in range(5)}
    again = node.restart()
    assert [again.things.get("Item", f"i{n}")["n"] for n in range(5)] == [10, 11, 12, 13, 14]


def test_a_group_row_that_fails_after_its_checkpoint_leaves_every_write_dirty() -> None:
    """The group's row checkpoints first when the ring has no room; if the row then fails,
    the checkpoint rolls back with it and its things must be dirty again, or the next
    checkpoint would skip the writes acknowledged before."""
    node = _node(TierOptions(durability="relaxed", log_slots=8, cache_size=1, relaxed_max_writes=1000))
    for n in range(3):
        node.things.create("Item", {"$id": f"i{n}", "n": n})
    node.tiers.commit_group()  # the creates: one row
    for n in range(3):
        node.things.update("Item", f"i{n}", {"n": n + 10})
    append = node.tiers.log.append
    with mock.patch.object(node.tiers.log, "append", side_effect=RuntimeError("disk full")):
        node.tiers.log.room = lambda: 0  # type: ignore[method-assign]  # the ring is full: checkpoint first
        node.tiers.commit_group()
    del node.tiers.log.room
    node.tiers.log.append = append  # type: ignore[method-assign]
    node.tiers.flush()
    assert {i: row[1] for i, row in node.table().items()} == {f"i{n}": f'{{"n":{n + 10}}}' for n in range(3)}


def test_turns_in_one_enclosing_transaction_roll_back_last_first() -> None:
    """Each write below is a turn of its own inside one SQLite transaction: a rollback puts
    each back to what it found, the last one first, so the first one's state wins."""
    node = _node()
    node.things.create("Item", {"$id": "a", "n": 1})
    events = node.events.list()["items"]

    def work() -> None:
        node.things.update("Item", "a", {"n": 2})
        node.things.update("Item", "a", {"n": 3})
        node.things.create("Item", {"$id": "b", "n": 1})
        node.things.update("Item", "b", {"n": 2})
        raise DotdoError("no")

    with pytest.raises(DotdoError):
        node.sql.transaction(work)
    assert node.things.get("Item", "a")["n"] == 1  # type: ignore[index]
    assert node.things.get("Item", "b") is None
    assert node.events.list()["items"] == events
    node.tiers.flush()
    assert node.table() == {"a": ("Item", '{"n":1}', 1, None)}
    assert node.restart().things.get("Item", "b") is None


def test_checkpoints_in_two_turns_that_roll_back_leave_every_write_dirty() -> None:
    """The second turn's undo must not drop what the first turn's checkpoint made clean:
    the first turn's undo makes it dirty again, and L0 holds its only copy."""
    node = _node()
    node.things.create("Item", {"$id": "a", "n": 1})

    def work() -> None:
        node.tiers.flush()  # a turn: checkpoints "a"
        node.things.create("Item", {"$id": "b", "n": 1})
        node.tiers.flush()  # another: checkpoints "b"
        raise Crash

    with pytest.raises(Crash):
        node.sql.transaction(work)
    assert node.tiers.stats()["l0"]["dirty"] == 1
    assert node.things.get("Item", "b") is None
    node.tiers.flush()
    assert node.table() == {"a": ("Item", '{"n":1}', 1, None)}


def test_a_rolled_back_checkpoint_leaves_the_dirty_bytes_and_the_next_wake_as_they_were() -> None:
    node = _node(TierOptions(checkpoint_delay_ms=1_000))
    node.things.create("Item", {"$id": "a", "n": 1})
    held = lambda: {k: node.tiers.stats()["l0"][k] for k in ("things", "bytes", "dirty", "dirty_bytes")}  # noqa: E731
    before = (held(), node.tiers.next_wake())

    def work() -> None:
        node.things.update("Item", "a", {"n": 2})
        node.tiers.flush()
        raise Crash

    with pytest.raises(Crash):
        node.sql.transaction(work)
    assert (held(), node.tiers.next_wake()) == before
    assert asyncio.run(node.tiers.run_due(T0 + 1_000)) == 1
    assert node.table() == {"a": ("Item", '{"n":1}', 1, None)}


def test_a_write_rolled_back_with_its_enclosing_transaction_leaves_no_wake() -> None:
    """Else the timer source stays due with nothing to checkpoint: every pass a no-op flush,
    the alarm set again in the past."""
    node = _node()

    def work() -> None:
        node.things.create("Item", {"$id": "a"})
        raise Crash

    with pytest.raises(Crash):
        node.sql.transaction(work)
    assert node.tiers.next_wake() is None


def test_writes_replayed_at_a_start_are_due_at_once() -> None:
    """The delay must not start again at every wake: an object evicted sooner than it (the
    alarm wakes it, it is evicted again before the new delay ends) would never checkpoint."""
    node = _node()
    for n in range(3):
        node.things.create("Item", {"$id": f"i{n}", "n": n})
    woken = node.restart()
    now = woken.clock()
    assert woken.tiers.next_wake() is not None and woken.tiers.next_wake() <= now  # type: ignore[operator]
    assert asyncio.run(woken.tiers.run_due(now)) == 1
    assert set(woken.table()) == {"i0", "i1", "i2"}
    assert woken.tiers.stats()["l1"]["rows_pending"] == 0


class _WritingEvents(_Events):
    """`_Events`, where a `Note` event also writes a row of its own in its transaction (as a
    durable handler's outbox row does), and one whose data holds `"fail": true` then fails."""

    def __init__(self, log: EventLog, sql: Sql) -> None:
        super().__init__(log)
        self._sql = sql

    def emit(
        self, event_type: str, data: Any = None, subject: str | None = None, object: str | None = None
    ) -> str:
        event_id = super().emit(event_type, data, subject, object)
        if event_type.startswith("Note."):
            self._sql.run("INSERT INTO notes (id) VALUES (?)", event_id)
            if isinstance(data, dict) and data.get("fail"):
                raise Conflict("the handler refused", code="refused")
        return event_id


class _Everything(set[str]):
    """A set that holds every name: all work is taken as writing SQL."""

    def __contains__(self, name: object) -> bool:
        return True


def _noting(node: Node) -> Node:
    node.sql.run("CREATE TABLE IF NOT EXISTS notes (id TEXT PRIMARY KEY)")
    node.things = Things(node.store, _WritingEvents(node.events, node.sql), node.clock)
    return node


def _counted_transactions(node: Node) -> list[int]:
    calls: list[int] = []
    sync = node.storage.transactionSync

    def counted(callback: Any) -> Any:
        calls.append(1)
        return sync(callback)

    node.storage.transactionSync = counted  # type: ignore[method-assign]
    return calls


def test_a_create_in_a_strict_request_runs_no_transaction_sync() -> None:
    """Its turn only reads (is the id free?) and its writes wait in the group, whose row is
    one INSERT: no Python callable handed to the runtime (ADR 0034)."""
    node = _node()
    calls = _counted_transactions(node)

    async def main() -> None:
        with node.tiers.serving():
            node.things.create("Item", {"$id": "a", "n": 1})
            with pytest.raises(DotdoError, match="already exists"):
                node.things.create("Item", {"$id": "a", "n": 2})
            await node.tiers.durable()

    asyncio.run(main())
    assert calls == []
    assert node.tiers.stats()["l1"]["reruns"] == 0
    again = node.restart()
    assert again.things.get("Item", "a")["n"] == 1  # type: ignore[index]
    assert [e["type"] for e in again.events.list()["items"]] == ["Item.created"]


def test_a_create_whose_turn_writes_sql_runs_again_in_a_transaction_and_such_creates_go_there_at_once() -> (
    None
):
    node = _noting(_relaxed(relaxed_max_writes=100))
    calls = _counted_transactions(node)
    node.things.create("Note", {"$id": "a"})
    assert (node.tiers._reads_first.reruns, len(calls)) == (1, 1)
    node.things.create("Note", {"$id": "b"})
    assert (node.tiers._reads_first.reruns, len(calls)) == (1, 2)
    node.things.create("Item", {"$id": "c"})  # another name: tried without a transaction
    assert (node.tiers._reads_first.reruns, len(calls)) == (1, 2)
    node.tiers.commit_group()
    again = node.restart()
    assert [e["type"] for e in again.events.list()["items"]] == [
        "Note.created",
        "Note.created",
        "Item.created",
    ]
    assert len(node.sql.exec("SELECT id FROM notes")) == 2
    assert {t["$id"] for t in again.things.list("Note", ThingQuery.build())["items"]} == {"a", "b"}


@settings(max_examples=60)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["Item", "Note"]),
            st.sampled_from(["a", "b", "c"]),
            st.sampled_from(["ok", "fail", "bad"]),
        ),
        max_size=12,
    ),
    st.sampled_from(["strict", "relaxed"]),
)
def test_a_create_tried_without_a_transaction_answers_and_writes_as_in_one(
    ops: list[tuple[str, str, str]], durability: str
) -> None:
    """Creates tried without a transaction first (falling back to one when their turn
    writes SQL) against the same creates always in a transaction: the same answers, the
    same things and events after a restart, the same other rows."""

    def drive(node: Node) -> list[Any]:
        answers: list[Any] = []

        async def main() -> None:
            for type_name, thing_id, kind in ops:
                data: dict[str, Any] = {"$id": thing_id, "n": 1}
                if kind == "fail":
                    data["fail"] = True
                elif kind == "bad":
                    data["$nope"] = 1
                with node.tiers.serving():
                    try:
                        answers.append(node.things.create(type_name, data))
                    except HttpError as error:
                        answers.append(error.code)
                    await node.tiers.durable()

        asyncio.run(main())
        return answers

    options = TierOptions(durability=durability, relaxed_max_writes=3, log_slots=8, max_dirty=4)
    fast, slow = (_noting(_node(options)) for _ in range(2))
    slow.tiers._reads_first.writing = _Everything()
    assert drive(fast) == drive(slow)
    assert fast.tiers._reads_first.reruns <= 1
    fast.tiers.commit_group()
    slow.tiers.commit_group()

    def state(node: Node) -> Any:
        again = node.restart()
        things = {
            name: again.things.list(name, ThingQuery.build(order_by="$id", limit=100))["items"]
            for name in ("Item", "Note")
        }
        events = [(e["type"], e["subject"], e["data"]) for e in again.events.list(limit=1000)["items"]]
        return things, events, len(node.sql.exec("SELECT id FROM notes"))

    assert state(fast) == state(slow)
