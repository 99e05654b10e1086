"""Rows written per logical operation on the direct path (HarnessRows) and on the default
app's tiers (DOStorage), as SQLite counts them in the real
runtime (index entries included), and every index dotdo keeps serving the queries it is
for (EXPLAIN QUERY PLAN). `bench/rows_written.py` prints the same counts against the
minimum one row per fact would cost (ADR 0020)."""

from __future__ import annotations

import dataclasses
from typing import Any
from unittest import mock

import pytest

from dotdo.semantic.overlay import Overlay
from dotdo.semantic.query import ThingQuery
from dotdo.semantic.registry import index_name, index_statement
from dotdo.semantic.store import SqliteThingStore, ThingRecord
from tests.rows import OPERATIONS, count_operations
from tests.runtime import LocalRuntime, new_tenant

ROWS = {
    "state set, new key": 1,
    "state set, overwrite": 1,
    "state set, same value": 0,
    "state delete": 1,
    "thing create": 5,  # the thing, its id index; the event, its type and subject indexes
    "thing update": 4,
    "thing soft delete": 4,
    "thing hard delete": 4,
    "action with an object": 8,  # the event (3), the edge (2), the audit entry and its subject index
    "action without an object": 5,
    "send, 0 durable handlers": 2,  # the event and its type index (no subject)
    "send, 1 durable handler": 4,  # + its outbox row, written and deleted
    "send, 3 durable handlers": 6,  # + two updates of the outbox row as handlers finish
    "workflow run, 1 step": 4,  # the run and its due index, the step, the run's end
    "workflow run, 3 steps": 6,
    "workflow run, 10 steps": 13,
    "schedule firing": 2,  # its next time with the firing's mark (at least once), then the mark cleared
}


def test_each_operation_writes_only_the_rows_it_needs(runtime: LocalRuntime) -> None:
    counts = count_operations(runtime)
    assert list(counts) == list(OPERATIONS)
    assert {name: count.rows for name, count in counts.items()} == ROWS
    # the alarm moves only when a timer does: the schedule's next firing
    assert {name for name, count in counts.items() if count.alarm_writes} == {"schedule firing"}
    assert counts["schedule firing"].alarm_writes == 1


# Each index dotdo creates, with a query of the stores that it serves, written as they run it.
QUERIES: dict[str, tuple[str, list[Any]]] = {
    "things_by_id": ("SELECT json_array(id, type, data) AS record FROM things WHERE id = ?", ["c-1"]),
    "events_by_type": (
        "SELECT id FROM events WHERE 1 AND type >= ? AND type < ? ORDER BY id LIMIT ?",
        ["Customer.", "Customer/", 100],
    ),
    "events_by_subject": (
        "SELECT id FROM events WHERE 1 AND subject = ? ORDER BY id LIMIT ?",
        ["Customer/ada", 100],
    ),
    "dotdo_relationships_backward": (
        "SELECT from_id AS id FROM dotdo_relationships WHERE verb = ? AND to_id IN "
        "(SELECT value FROM json_each(?)) GROUP BY from_id ORDER BY min(created_at), from_id LIMIT ?",
        ["approved", '["o1"]', 100],
    ),
    "dotdo_actions_by_subject": (
        "SELECT id FROM dotdo_actions WHERE subject_id = ? OR object_id = ? ORDER BY id LIMIT ?",
        ["ada", "ada", 100],
    ),
    "dotdo_actions_by_object": (
        "SELECT id FROM dotdo_actions WHERE subject_id = ? OR object_id = ? ORDER BY id LIMIT ?",
        ["o1", "o1", 100],
    ),
    "dotdo_workflow_runs_due": (
        "SELECT id FROM dotdo_workflow_runs WHERE status IN ('running', 'waiting') AND next_at <= ? "
        "ORDER BY next_at LIMIT ?",
        [1, 100],
    ),
    "dotdo_deliveries_due": (
        "SELECT id, event_id, handler, attempts FROM dotdo_deliveries "
        "WHERE status = 'pending' AND next_at <= ? ORDER BY next_at LIMIT ?",
        [1, 100],
    ),
    "dotdo_scheduled_sends_due": (
        "SELECT id, type, data, subject, object FROM dotdo_scheduled_sends WHERE due_at <= ? "
        "ORDER BY due_at LIMIT ?",
        [1, 100],
    ),
}


def rpc(runtime: LocalRuntime, tenant: str, method: str, *params: Any) -> Any:
    answer = runtime.rpc(tenant, method, *params, binding="ROWS").json()
    assert "result" in answer, answer
    return answer["result"]


def test_every_index_serves_a_query(runtime: LocalRuntime) -> None:
    """An index costs a row on every insert: each one kept must be what a query reads."""
    tenant = new_tenant()
    with runtime.client(tenant) as c:
        assert c.get("/_rows/health").status_code == 200
    indexes = rpc(
        runtime, tenant, "raw_rows", "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
    )
    assert sorted(row["name"] for row in indexes) == sorted(QUERIES)
    for name, (statement, params) in QUERIES.items():
        plan = " | ".join(rpc(runtime, tenant, "explain", statement, params))
        assert f"INDEX {name} " in f"{plan} ", (name, plan)


class _Capture:
    """The SQL facade's reading surface, recording each statement instead of running it."""

    def __init__(self) -> None:
        self.statements: list[tuple[str, list[Any]]] = []

    def exec(self, query: str, *params: Any) -> list[Any]:
        self.statements.append((query, list(params)))
        return []

    def first(self, query: str, *params: Any) -> None:
        self.exec(query, *params)


@pytest.mark.parametrize("statement_room", [99_000, 0])  # 0: the where clause once, over the union
def test_a_query_over_unflushed_things_reads_the_indexes_of_the_plain_query(
    runtime: LocalRuntime, statement_room: int
) -> None:
    """DOStorage's queries over dirty things (ADR 0030) read `things` through the indexes the
    plain query uses, on workerd's SQLite (EXPLAIN QUERY PLAN of the statements built)."""
    tenant = new_tenant()
    with runtime.client(tenant) as c:
        assert c.get("/_rows/health").status_code == 200
    rpc(runtime, tenant, "raw_rows", index_statement("Item", "g"))
    record = ThingRecord("x", "Item", '{"g":2}', 1, 1, None, 2)
    plans: dict[bool, set[str]] = {}
    for overlaid in (False, True):
        sql = _Capture()
        store = SqliteThingStore(sql, (lambda type_name: Overlay({"x": record})) if overlaid else None)  # type: ignore[arg-type]
        with mock.patch("dotdo.semantic.overlay._STATEMENT_ROOM", statement_room):
            for where in ({"g": 2}, None):
                query = ThingQuery.build(where, limit=20)
                if where:  # as the thing service sends it for a noun whose `g` is indexed
                    query = dataclasses.replace(query, index=index_name("Item", "g"))
                store.page("Item", query)
                store.count("Item", query)
        used: set[str] = set()
        for statement, params in sql.statements:
            assert ("WITH dirty" in statement) is overlaid
            for line in rpc(runtime, tenant, "explain", statement, params):
                if line == "SEARCH t USING INDEX things_by_id (id=?)":
                    continue  # a page's records by key, in the statement that measures it
                assert not line.startswith("SCAN things"), line  # never the whole table
                used.update(word for word in line.replace("(", " ").split() if word.startswith("things_"))
                if line.startswith("SEARCH things USING PRIMARY KEY"):
                    used.add("the key")  # (type, created_at, id): a type's rows in list order
        plans[overlaid] = used
    assert plans[False] == {"the key", "things_Item_g"}
    if statement_room:
        assert plans[True] == plans[False]
    else:  # the clause over the union: the table's side is read by type, through an index on it
        assert plans[True]


def test_the_keyed_tables_are_one_b_tree_each(runtime: LocalRuntime) -> None:
    """A table with a TEXT key and a rowid writes every new row twice (ADR 0020)."""
    tenant = new_tenant()
    with runtime.client(tenant) as c:
        assert c.get("/_rows/health").status_code == 200
    tables = rpc(runtime, tenant, "raw_rows", "SELECT name, sql FROM sqlite_master WHERE type = 'table'")
    with_rowid = sorted(
        row["name"]
        for row in tables
        if "WITHOUT ROWID" not in " ".join(row["sql"].upper().split()) and row["name"].startswith("dotdo_")
    )
    # the five tables of the document and the app's are checked by name; the runtime's own
    # (`_cf_*`, the local runtime's `__miniflare_*`) are not dotdo's
    documents = {"state", "things", "events", "schedules", "action_log"}
    assert documents <= {row["name"] for row in tables}
    assert not [
        row["name"]
        for row in tables
        if row["name"] in documents and "WITHOUT ROWID" not in " ".join(row["sql"].upper().split())
    ]
    # rarely written, keyed by an integer (the alarm) or written once per name or migration
    assert with_rowid == ["dotdo_alarm", "dotdo_identity", "dotdo_nouns", "dotdo_schema", "dotdo_verbs"]


# The default app (DOTDO serves DOFull, on DOStorage): a write is acknowledged at one log
# row (the thing and its event together), and the checkpoint writes each thing once.
TIERED_ROWS = {
    "thing create": 1,
    "thing update": 1,
    "thing soft delete": 1,
    "thing hard delete": 1,
    "send, 0 durable handlers": 1,
}


def test_the_default_app_acknowledges_a_write_at_one_log_row(runtime: LocalRuntime) -> None:
    """Issue 11: the default app's objects run on DOStorage. On the direct path (above) a
    create writes 5 rows and an update 4; here each is one row of the write-ahead log."""
    with runtime.client(new_tenant()) as c:

        def rows() -> int:
            stats = c.get("/stats")
            assert stats.status_code == 200, stats.text
            assert stats.json()["tiers"] is not None
            return int(stats.json()["rows_written"])

        counts: dict[str, int] = {}

        def count(name: str, method: str, path: str, **kwargs: Any) -> Any:
            before = rows()
            response = c.request(method, path, **kwargs)
            assert response.status_code < 300, (name, response.status_code, response.text)
            counts[name] = rows() - before
            return response.json()

        c.get("/health").raise_for_status()
        rows()  # the object's first request ran its migrations
        ada = count("thing create", "POST", "/Customer", json={"name": "Ada", "age": 36})
        count("thing update", "PATCH", f"/Customer/{ada['$id']}", json={"age": 37})
        count("thing soft delete", "DELETE", f"/Customer/{ada['$id']}")
        bob = c.post("/Customer", json={"name": "Bob", "age": 17}).json()
        count("thing hard delete", "DELETE", f"/Customer/{bob['$id']}", params={"hard": "true"})
        count("send, 0 durable handlers", "POST", "/events", json={"type": "Ping.h0", "data": {"x": 1}})
        assert counts == TIERED_ROWS
        flushed = c.post("/storage/flush").json()["rows_written"]
        # Ada once (her three writes coalesced), Bob's removal, the events' segment, the mark
        assert 0 < flushed <= 8, flushed
        assert c.get(f"/Customer/{ada['$id']}", params={"include_deleted": "true"}).json()["age"] == 37


def test_a_checkpoint_writes_each_created_thing_at_its_two_rows(runtime: LocalRuntime) -> None:
    """A checkpoint writes the things created since the last one in one statement (ADR
    0038); SQLite counts, as for one statement a thing, each thing's row and its id index
    entry, and nothing else grows with their number (one segment row, the mark)."""
    flushed: dict[int, int] = {}
    for n in (1, 6):
        with runtime.client(new_tenant()) as c:
            c.get("/health").raise_for_status()
            for i in range(n):
                c.post("/Customer", json={"$id": f"c{i}", "name": f"C {i}", "age": i}).raise_for_status()
            flushed[n] = c.post("/storage/flush").json()["rows_written"]
            listed = c.get("/Customer", params={"limit": 10}).json()["items"]
            assert [(t["$id"], t["age"], t["$version"]) for t in listed] == [
                (f"c{i}", i, 1) for i in range(n)
            ]
    assert flushed[6] - flushed[1] == 5 * 2, flushed
