"""Migrations run once per component and version, against a real SQLite (CPython's), and an
object migrated by an earlier release (one `semantic` track, unprefixed plumbing) keeps its
data through the split into components and the dotdo_ prefix."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import pytest

from dotdo.core.migrations import Component, Migration, migrate, without_rowid
from dotdo.core.sql import Sql
from dotdo.core.state import STATE_MIGRATIONS
from dotdo.semantic.graph import GRAPH_TABLES
from dotdo.semantic.registry import REGISTRY_TABLES
from dotdo.semantic.store import THING_TABLES
from dotdo.workflows.tables import WORKFLOW_MIGRATIONS
from tests.storage import split_statements

T = TypeVar("T")


class _Cursor:
    def __init__(self, rows: list[dict[str, Any]], written: int) -> None:
        self._rows = rows
        self.rowsWritten = written
        self.rowsRead = len(rows)

    def toArray(self) -> list[dict[str, Any]]:  # noqa: N802 (the JS API's name)
        return self._rows

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self._rows)


class _Storage:
    """`ctx.storage` with the `sql.exec` shape of the Durable Object API."""

    def __init__(self) -> None:
        self.db = sqlite3.connect(":memory:", isolation_level=None)
        self.db.row_factory = sqlite3.Row
        self.sql = self

    def exec(self, query: str, *params: Any) -> _Cursor:
        *leading, last = split_statements(query) or [query]
        for statement in leading:  # a text of several runs whole, as on the runtime
            self.db.execute(statement)
        cursor = self.db.execute(last, params)
        return _Cursor([dict(row) for row in cursor.fetchall()], max(cursor.rowcount, 0))


class SqliteSql(Sql):
    def __init__(self) -> None:
        self.storage = _Storage()
        super().__init__(self.storage)

    def transaction(self, work: Callable[[], T]) -> T:
        self.storage.db.execute("BEGIN")
        try:
            result = work()
        except BaseException:
            self.storage.db.execute("ROLLBACK")
            raise
        self.storage.db.execute("COMMIT")
        return result


@pytest.fixture
def sql() -> SqliteSql:
    return SqliteSql()


def test_a_second_version_runs_once(sql: SqliteSql) -> None:
    counting = (
        Migration(1, ("CREATE TABLE runs (n INTEGER)",)),
        Migration(2, ("INSERT INTO runs (n) VALUES (2)",)),
    )
    assert migrate(sql, [("c", counting[:1])], 1) == {"c": 1}
    for now in (2, 3, 4):
        assert migrate(sql, [("c", counting)], now) == {"c": 2}
    assert sql.exec("SELECT n FROM runs") == [{"n": 2}]
    assert sql.first("SELECT version, migrated_at FROM dotdo_schema") == {"version": 2, "migrated_at": 2}


def test_a_failing_migration_leaves_the_version_and_its_statements_undone(sql: SqliteSql) -> None:
    broken = (Migration(1, ("CREATE TABLE t (n INTEGER)", "NOT SQL")),)
    with pytest.raises(sqlite3.OperationalError):
        migrate(sql, [("c", broken)], 1)
    assert sql.exec("SELECT name FROM sqlite_master WHERE name IN ('t', 'dotdo_schema')") == [
        {"name": "dotdo_schema"}
    ]
    assert sql.exec("SELECT * FROM dotdo_schema") == []


def test_the_workflow_step_name_column_keeps_earlier_rows_unnamed(sql: SqliteSql) -> None:
    migrate(sql, [("workflow", WORKFLOW_MIGRATIONS[:1])], 1)
    sql.run(
        "INSERT INTO action_log (step_id, status, result, attempts, updated_at) "
        "VALUES ('run-1/step-1', 'completed', '1', 1, 1)"
    )
    assert migrate(sql, [("workflow", WORKFLOW_MIGRATIONS[:2])], 2) == {"workflow": 2}
    assert migrate(sql, [("workflow", WORKFLOW_MIGRATIONS[:2])], 3) == {"workflow": 2}  # ADD COLUMN once
    assert sql.first("SELECT step_id, name FROM action_log") == {"step_id": "run-1/step-1", "name": None}


# -- components, and an object migrated by the release before them ---------------------

# What the release before per-component tracks ran as `semantic` version 1 (the statements
# of store.py, registry.py and graph.py spliced into one migration), verbatim.
RELEASED_SEMANTIC_V1 = (
    """CREATE TABLE IF NOT EXISTS things (
  id TEXT PRIMARY KEY,
  type TEXT NOT NULL,
  data TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  deleted_at INTEGER,
  version INTEGER NOT NULL DEFAULT 1
)""",
    "CREATE INDEX IF NOT EXISTS things_by_type ON things (type, created_at, id)",
    """CREATE TABLE IF NOT EXISTS nouns (
  name TEXT PRIMARY KEY,
  plural TEXT NOT NULL,
  indexes TEXT NOT NULL,
  registered_at INTEGER NOT NULL
)""",
    """CREATE TABLE IF NOT EXISTS verbs (
  base TEXT PRIMARY KEY,
  past TEXT NOT NULL,
  participle TEXT NOT NULL,
  third_person TEXT NOT NULL,
  registered_at INTEGER NOT NULL
)""",
    """CREATE TABLE IF NOT EXISTS events (
  id TEXT PRIMARY KEY,
  type TEXT NOT NULL,
  data TEXT NOT NULL,
  timestamp INTEGER NOT NULL,
  subject TEXT,
  object TEXT
)""",
    "CREATE INDEX IF NOT EXISTS events_by_type ON events (type, id)",
    "CREATE INDEX IF NOT EXISTS events_by_subject ON events (subject, id)",
    """CREATE TABLE IF NOT EXISTS relationships (
  from_id TEXT NOT NULL,
  from_type TEXT NOT NULL,
  verb TEXT NOT NULL,
  to_id TEXT NOT NULL,
  to_type TEXT NOT NULL,
  data TEXT,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (from_id, verb, to_id)
) WITHOUT ROWID""",
    "CREATE INDEX IF NOT EXISTS relationships_backward ON relationships (to_id, verb, from_id)",
    """CREATE TABLE IF NOT EXISTS actions (
  id TEXT PRIMARY KEY,
  verb TEXT NOT NULL,
  subject_type TEXT NOT NULL,
  subject_id TEXT NOT NULL,
  object_type TEXT,
  object_id TEXT,
  data TEXT,
  event_id TEXT NOT NULL,
  created_at INTEGER NOT NULL
)""",
    "CREATE INDEX IF NOT EXISTS actions_by_subject ON actions (subject_id, id)",
    "CREATE INDEX IF NOT EXISTS actions_by_object ON actions (object_id, id)",
)
RELEASED_SCHEMA_TABLE = """CREATE TABLE IF NOT EXISTS _dotdo_schema (
  component TEXT PRIMARY KEY,
  version INTEGER NOT NULL,
  migrated_at INTEGER NOT NULL
)"""

# The components DOWorkflow migrates (DOCore's, DOSemantic's, its own), in its order.
LAYERS = [
    Component("core", STATE_MIGRATIONS),
    THING_TABLES,
    REGISTRY_TABLES,
    GRAPH_TABLES,
    Component("workflow", WORKFLOW_MIGRATIONS),
]
PREFIXED = ["dotdo_actions", "dotdo_nouns", "dotdo_relationships", "dotdo_schema", "dotdo_verbs"]
UNPREFIXED = ["_dotdo_schema", "actions", "nouns", "relationships", "verbs"]


def released_object(sql: SqliteSql) -> None:
    """A database as the release before components left it, holding one of everything."""
    sql.run(RELEASED_SCHEMA_TABLE)
    for component, statements in [
        ("core", STATE_MIGRATIONS[0].statements),
        ("semantic", RELEASED_SEMANTIC_V1),
        ("workflow", WORKFLOW_MIGRATIONS[0].statements + WORKFLOW_MIGRATIONS[1].statements),
    ]:
        for statement in statements:
            sql.run(statement)
        version = 2 if component == "workflow" else 1
        sql.run("INSERT INTO _dotdo_schema VALUES (?, ?, 100)", component, version)
    for statement in [
        "INSERT INTO state VALUES ('greeting', '\"hello\"')",
        "INSERT INTO things VALUES ('c-1', 'Customer', '{\"name\": \"Ada\"}', 1, 1, NULL, 1)",
        "INSERT INTO nouns VALUES ('Person', 'People', '[]', 1)",
        "INSERT INTO verbs VALUES ('run', 'ran', 'run', 'runs', 1)",
        "INSERT INTO events VALUES ('e-1', 'Customer.created', '{}', 1, 'Customer/c-1', NULL)",
        "INSERT INTO relationships VALUES ('c-1', 'Customer', 'owns', 'p-1', 'Product', NULL, 1)",
        "INSERT INTO actions VALUES ('a-1', 'owned', 'Customer', 'c-1', 'Product', 'p-1', NULL, 'e-1', 1)",
    ]:
        sql.run(statement)


def tables(sql: SqliteSql) -> set[str]:
    return {str(r["name"]) for r in sql.exec("SELECT name FROM sqlite_master WHERE type = 'table'")}


def indexes(sql: SqliteSql) -> dict[str, str]:
    rows = sql.exec("SELECT name, tbl_name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL")
    return {str(r["name"]): str(r["tbl_name"]) for r in rows}


def test_released_first_versions_never_change() -> None:
    """A version once released is history: a change to it would never reach the objects
    that ran it, so a change is a new version."""
    spliced = (
        THING_TABLES.migrations[0].statements
        + REGISTRY_TABLES.migrations[0].statements
        + GRAPH_TABLES.migrations[0].statements
    )
    assert spliced == RELEASED_SEMANTIC_V1


def test_a_released_object_keeps_its_data_under_the_prefixed_names(sql: SqliteSql) -> None:
    released_object(sql)
    reached = migrate(sql, LAYERS, 200)
    assert {name: reached[name] for name in ("core", "things", "registry", "graph", "semantic")} == {
        "core": 2,
        "things": 3,
        "registry": 2,
        "graph": 4,
        "semantic": 1,  # the former track's row stays: the record of what ran
    }
    assert set(PREFIXED) <= tables(sql) and not set(UNPREFIXED) & tables(sql)
    assert sql.exec("SELECT * FROM dotdo_nouns") == [
        {"name": "Person", "plural": "People", "indexes": "[]", "registered_at": 1}
    ]
    assert sql.first("SELECT past FROM dotdo_verbs WHERE base = 'run'") == {"past": "ran"}
    assert sql.exec("SELECT from_id, verb, to_id FROM dotdo_relationships") == [
        {"from_id": "c-1", "verb": "owns", "to_id": "p-1"}
    ]
    assert sql.exec("SELECT id, event_id FROM dotdo_actions") == [{"id": "a-1", "event_id": "e-1"}]
    assert sql.exec("SELECT id FROM things") == [{"id": "c-1"}]
    assert sql.exec("SELECT id FROM events") == [{"id": "e-1"}]
    assert sql.exec("SELECT value FROM state") == [{"value": '"hello"'}]
    found = indexes(sql)
    assert found["dotdo_relationships_backward"] == "dotdo_relationships"
    assert found["dotdo_actions_by_subject"] == found["dotdo_actions_by_object"] == "dotdo_actions"
    assert not {"relationships_backward", "actions_by_subject", "actions_by_object"} & set(found)
    assert found["things_by_id"] == "things" and found["events_by_type"] == "events"
    assert "things_by_type" not in found  # the table's key took its place (ADR 0039)


def test_each_migration_runs_once_on_a_released_object(sql: SqliteSql) -> None:
    released_object(sql)
    first = migrate(sql, LAYERS, 200)
    stamps = sql.exec("SELECT component, version, migrated_at FROM dotdo_schema ORDER BY component")
    for now in (300, 400):  # a rename or CREATE INDEX run twice would raise here
        assert migrate(sql, LAYERS, now) == first
    assert sql.exec("SELECT component, version, migrated_at FROM dotdo_schema ORDER BY component") == stamps
    by_name = {str(r["component"]): r for r in stamps}
    assert by_name["things"]["migrated_at"] == 200  # adopted from `semantic` v1, not run again
    assert (by_name["core"]["version"], by_name["core"]["migrated_at"]) == (2, 200)  # v2 ran once
    assert sql.exec("SELECT count(*) AS n FROM things") == [{"n": 1}]


def test_a_new_object_ends_where_a_released_one_does(sql: SqliteSql) -> None:
    released = SqliteSql()
    released_object(released)
    migrate(released, LAYERS, 1)
    migrate(sql, LAYERS, 1)
    assert tables(sql) == tables(released)
    assert indexes(sql) == indexes(released)
    reached = {str(r["component"]): int(r["version"]) for r in sql.exec("SELECT * FROM dotdo_schema")}
    assert reached == {k: v for k, v in migrate(released, LAYERS, 2).items() if k != "semantic"}


@pytest.mark.parametrize("released", [True, False])
def test_a_version_added_to_one_component_runs_once(sql: SqliteSql, released: bool) -> None:
    """The fault of one spliced `semantic` track: the things module's version 2 was never
    part of it, so it never ran. Each component now has its own track."""
    if released:
        released_object(sql)
    migrate(sql, LAYERS, 1)
    added = len(THING_TABLES.migrations) + 1
    tagged = Component(
        "things",
        (*THING_TABLES.migrations, Migration(added, ("ALTER TABLE things ADD COLUMN tag TEXT",))),
        formerly=THING_TABLES.formerly,
    )
    later = [tagged if c.name == "things" else c for c in LAYERS]
    for now in (2, 3, 4):  # ADD COLUMN twice would raise
        assert migrate(sql, later, now)["things"] == added
    assert "tag" in {str(r["name"]) for r in sql.exec("SELECT name FROM pragma_table_info('things')")}
    assert sql.first("SELECT version, migrated_at FROM dotdo_schema WHERE component = 'things'") == {
        "version": added,
        "migrated_at": 2,
    }
    assert sql.first("SELECT version FROM dotdo_schema WHERE component = 'registry'") == {"version": 2}


def test_a_component_adopts_the_version_its_former_track_reached(sql: SqliteSql) -> None:
    sql.run("CREATE TABLE t (n INTEGER)")
    migrate(sql, [("old", (Migration(1, ()), Migration(2, ()), Migration(3, ())))], 1)
    steps = (
        Migration(1, ("INSERT INTO t VALUES (1)",)),
        Migration(2, ("INSERT INTO t VALUES (2)",)),
        Migration(3, ("INSERT INTO t VALUES (3)",)),
    )
    reached = migrate(sql, [Component("early", steps, formerly=(("old", 2), ("missing", 1)))], 2)
    assert reached["early"] == 3
    assert sql.exec("SELECT n FROM t") == [{"n": 3}]  # 1 and 2 ran under `old`
    late = Component("late", steps, formerly=(("old", 4),))  # `old` never got that far
    assert migrate(sql, [late], 3)["late"] == 3
    assert sql.exec("SELECT n FROM t ORDER BY rowid") == [{"n": 3}, {"n": 1}, {"n": 2}, {"n": 3}]


def test_components_are_checked_before_anything_runs(sql: SqliteSql) -> None:
    with pytest.raises(ValueError, match="ascending"):
        Component("c", (Migration(2, ()), Migration(1, ())))
    with pytest.raises(ValueError, match="ascending"):
        migrate(sql, [("c", (Migration(0, ()),))], 1)
    with pytest.raises(ValueError, match="share a name"):
        migrate(sql, [Component("c", ()), ("c", (Migration(1, ("CREATE TABLE x (n)",)),))], 1)
    assert "x" not in tables(sql)


# -- tables rebuilt without rowid (ADR 0020) --------------------------------------------


def layout(sql: SqliteSql, table: str) -> str:
    found = sql.first("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", table)
    assert found is not None, table
    return "without rowid" if "WITHOUT ROWID" in str(found["sql"]).upper() else "rowid"


def index_sql(sql: SqliteSql, table: str) -> dict[str, str]:
    rows = sql.exec(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL", table
    )
    return {str(r["name"]): str(r["sql"]) for r in rows}


def test_a_rebuilt_table_keeps_its_rows_and_every_index(sql: SqliteSql) -> None:
    sql.run("CREATE TABLE t (id TEXT PRIMARY KEY, kind TEXT NOT NULL, n INTEGER)")
    sql.run("CREATE INDEX t_by_kind ON t (kind, id)")
    sql.run('CREATE INDEX "t_app\'s" ON t (lower(kind), id)')  # not dotdo's: kept as it was
    rows = [("b", "x", 2), ("a", "y", None), ("c", "x", 9007199254740993)]
    for row in rows:
        sql.run("INSERT INTO t VALUES (?, ?, ?)", *row)
    before = index_sql(sql, "t")
    rebuild = without_rowid(
        "t",
        "id TEXT PRIMARY KEY, kind TEXT NOT NULL, n INTEGER",
        ("CREATE INDEX IF NOT EXISTS t_by_kind ON t (kind, id) WHERE kind IS NOT NULL",),
    )
    assert migrate(sql, [("c", (Migration(1, (rebuild,)),))], 1) == {"c": 1}
    assert layout(sql, "t") == "without rowid"
    assert sql.exec("SELECT id, kind, n FROM t") == [
        {"id": "a", "kind": "y", "n": None},
        {"id": "b", "kind": "x", "n": 2},
        {"id": "c", "kind": "x", "n": 9007199254740993},
    ]
    after = index_sql(sql, "t")
    assert after["t_app's"] == before["t_app's"]
    assert after["t_by_kind"].endswith("WHERE kind IS NOT NULL")  # dotdo's own, as the step says
    assert set(after) == set(before)
    assert "dotdo_rebuilt_t" not in tables(sql)
    rebuild(sql)  # already without rowid: nothing to do
    assert layout(sql, "t") == "without rowid" and index_sql(sql, "t") == after


def test_a_table_past_the_rebuild_bound_keeps_its_layout(
    sql: SqliteSql, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr("dotdo.core.migrations.MAX_REBUILD_ROWS", 2)
    sql.run("CREATE TABLE t (id TEXT PRIMARY KEY)")
    for key in "abc":
        sql.run("INSERT INTO t VALUES (?)", key)
    with caplog.at_level("WARNING", logger="dotdo.migrations"):
        migrate(sql, [("c", (Migration(1, (without_rowid("t", "id TEXT PRIMARY KEY"),)),))], 1)
    assert layout(sql, "t") == "rowid" and sql.exec("SELECT count(*) AS n FROM t") == [{"n": 3}]
    assert "more than 2 rows" in caplog.text


def test_a_released_object_ends_with_one_b_tree_per_keyed_table(sql: SqliteSql) -> None:
    released_object(sql)
    sql.run(
        'CREATE INDEX "things_Customer_email" '
        "ON things (type, json_extract(data, '$.email'), created_at, id)"
    )
    migrate(sql, LAYERS, 200)
    for table in ("state", "things", "events", "dotdo_actions", "action_log", "dotdo_workflow_runs",
                  "schedules", "dotdo_deliveries", "dotdo_scheduled_sends", "dotdo_outbox"):  # fmt: skip
        assert layout(sql, table) == "without rowid", table
    assert "things_Customer_email" in index_sql(sql, "things")  # a noun's index survives the rebuild
    assert sql.exec("SELECT key, value FROM state") == [{"key": "greeting", "value": '"hello"'}]
    assert sql.exec("SELECT id, type FROM things") == [{"id": "c-1", "type": "Customer"}]
    assert sql.exec("SELECT id, subject FROM events") == [{"id": "e-1", "subject": "Customer/c-1"}]
    assert sql.exec("SELECT id, object_id FROM dotdo_actions") == [{"id": "a-1", "object_id": "p-1"}]
    assert "schedules_due" not in index_sql(sql, "schedules")


def primary_key(sql: SqliteSql, table: str) -> list[str]:
    rows = sql.exec("SELECT name FROM pragma_table_info(?) WHERE pk > 0 ORDER BY pk", table)
    return [str(r["name"]) for r in rows]


THINGS_V2 = Component("things", THING_TABLES.migrations[:2])
"""`things` as the release before ADR 0039 left it: keyed by id, with the type index."""
ROWS = [  # two types, a tie on created_at, a soft-deleted thing, an integer past 2^53
    ("b", "Customer", '{"tier":"gold"}', 5, 6, None, 2),
    ("a", "Customer", '{"tier":"platinum"}', 5, 5, None, 1),
    ("c", "Order", '{"n":9007199254740993}', 1, 1, None, 1),
    ("d", "Customer", "{}", 3, 4, 4, 2),
]


def test_things_are_keyed_by_the_list_order_keeping_rows_and_declared_indexes(sql: SqliteSql) -> None:
    migrate(sql, [THINGS_V2], 1)
    declared = (
        "CREATE INDEX \"things_Customer_tier\" ON things (type, json_extract(data, '$.tier'), created_at, id)"
    )
    sql.run(declared)
    for row in ROWS:
        sql.run("INSERT INTO things VALUES (?, ?, ?, ?, ?, ?, ?)", *row)
    before = sql.exec("SELECT * FROM things ORDER BY id")
    assert primary_key(sql, "things") == ["id"]
    assert migrate(sql, [THING_TABLES], 2) == {"things": 3}
    assert layout(sql, "things") == "without rowid"
    assert primary_key(sql, "things") == ["type", "created_at", "id"]
    assert sql.exec("SELECT * FROM things ORDER BY id") == before
    in_order = "SELECT id FROM things ORDER BY type, created_at, id"
    assert sql.exec(in_order) == [{"id": i} for i in ("d", "a", "b", "c")]
    plan = [str(r["detail"]) for r in sql.exec(f"EXPLAIN QUERY PLAN {in_order}")]
    assert plan == ["SCAN things"]  # the table is in that order: no index, no sort
    found = index_sql(sql, "things")
    assert set(found) == {"things_by_id", "things_Customer_tier"}
    assert found["things_Customer_tier"] == declared
    assert found["things_by_id"].startswith("CREATE UNIQUE INDEX")
    with pytest.raises(sqlite3.IntegrityError):  # ids stay unique across types and times
        sql.run("INSERT INTO things VALUES ('a', 'Order', '{}', 9, 9, NULL, 1)")


def test_a_new_object_s_things_are_keyed_by_the_list_order(sql: SqliteSql) -> None:
    migrate(sql, [THING_TABLES], 1)
    assert primary_key(sql, "things") == ["type", "created_at", "id"]
    assert set(index_sql(sql, "things")) == {"things_by_id"}
    rebuild = THING_TABLES.migrations[-1].statements[0]
    assert callable(rebuild)
    rebuild(sql)  # keyed so already: nothing to do
    assert primary_key(sql, "things") == ["type", "created_at", "id"]


def test_a_keyed_table_past_the_rebuild_bound_keeps_its_key(
    sql: SqliteSql, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A table already without rowid is counted (at most the bound and one rows read), not
    measured by a rowid it does not have."""
    migrate(sql, [THINGS_V2], 1)
    for row in ROWS:
        sql.run("INSERT INTO things VALUES (?, ?, ?, ?, ?, ?, ?)", *row)
    monkeypatch.setattr("dotdo.core.migrations.MAX_REBUILD_ROWS", 3)
    with caplog.at_level("WARNING", logger="dotdo.migrations"):
        assert migrate(sql, [THING_TABLES], 2) == {"things": 3}
    assert "more than 3 rows" in caplog.text
    assert primary_key(sql, "things") == ["id"] and "things_by_type" in index_sql(sql, "things")
    assert len(sql.exec("SELECT id FROM things")) == 4


def test_the_edges_key_gains_the_types_and_keeps_every_edge(sql: SqliteSql) -> None:
    """Graph version 4 (ADR 0041): an edge is keyed by its ends' types and ids, so the
    same ids under other types make another edge; every edge of version 3 is kept."""
    three = Component("graph", GRAPH_TABLES.migrations[:3], formerly=GRAPH_TABLES.formerly)
    migrate(sql, [THING_TABLES, REGISTRY_TABLES, three], 1)
    edges = [
        ("c-1", "Customer", "owns", "p-1", "Order", '{"n": 1}', 5),
        ("c-1", "Customer", "likes", "p-1", "Order", None, 6),
        ("p-1", "Order", "for", "c-1", "Customer", None, 7),
    ]
    for edge in edges:
        sql.run("INSERT INTO dotdo_relationships VALUES (?, ?, ?, ?, ?, ?, ?)", *edge)
    assert migrate(sql, [THING_TABLES, REGISTRY_TABLES, GRAPH_TABLES], 2)["graph"] == 4
    columns = "from_id, from_type, verb, to_id, to_type, data, created_at"
    kept = sql.exec(f"SELECT {columns} FROM dotdo_relationships ORDER BY created_at")
    assert [tuple(row.values()) for row in kept] == edges
    assert layout(sql, "dotdo_relationships") == "without rowid"
    assert indexes(sql)["dotdo_relationships_backward"] == "dotdo_relationships"
    sql.run("INSERT INTO dotdo_relationships VALUES ('c-1', 'Customer', 'owns', 'p-1', 'Project', NULL, 8)")
    with pytest.raises(sqlite3.IntegrityError):  # the same ends and verb: still one edge
        sql.run("INSERT INTO dotdo_relationships VALUES ('c-1', 'Customer', 'owns', 'p-1', 'Order', NULL, 9)")
