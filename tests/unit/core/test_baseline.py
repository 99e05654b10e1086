"""A new object creates the framework's current tables from the squashed baseline
(`dotdo/core/baseline.py`, ADR 0040) and ends exactly where replaying every migration
ends; anything the baseline cannot vouch for is replayed."""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from dotdo import DOCore, DOFull, DOSemantic, DOStorage, DOWorkflow
from dotdo.cli.squash import as_data, framework_components, schema_of, squash, written_baseline
from dotdo.core.baseline import BASELINE
from dotdo.core.migrations import SCHEMA_TABLE_SQL, Component, Migration, migrate
from dotdo.core.sql import Sql
from dotdo.semantic.store import THING_TABLES
from tests.storage import Storage


def components_of(cls: type[DOCore]) -> list[Component]:
    return cls.migrations(cls.__new__(cls))


APP = Component(
    "app_notes",
    (
        Migration(1, ("CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)",)),
        Migration(2, ("INSERT INTO notes (body) VALUES ('seeded')",)),
    ),
)
WITHOUT_TIERS = [c for c in components_of(DOWorkflow) if c.name not in ("storage", "archive")]
"""A class that drops components from the middle (tests/harness/harness_rows.py does)."""

LISTS = {
    "DOCore": components_of(DOCore),
    "DOSemantic": components_of(DOSemantic),
    "DOStorage": components_of(DOStorage),
    "DOWorkflow": components_of(DOWorkflow),
    "DOFull": components_of(DOFull),
    "DOFull and an app's own": [*components_of(DOFull), APP],
    "an app's own first": [APP, *components_of(DOSemantic)],
    "without the tiers": WITHOUT_TIERS,
}


def new_database() -> tuple[Sql, sqlite3.Connection]:
    """An empty database as an object sees it (tests/storage.py: a text of several statements
    runs whole, as on the runtime): the facade and the connection under it."""
    storage = Storage()
    return Sql(storage), storage.sql.db


def replayed(components: list[Component]) -> tuple[dict[str, int], sqlite3.Connection]:
    """What replaying every migration gives: an object that is not new (its schema table
    made first, as on every object migrated before the baseline)."""
    sql, db = new_database()
    sql.run(SCHEMA_TABLE_SQL)
    return migrate(sql, components, 1), db


@contextmanager
def counted(db: sqlite3.Connection) -> Iterator[list[str]]:
    """The statements SQLite runs on `db` meanwhile (savepoints included)."""
    statements: list[str] = []
    db.set_trace_callback(statements.append)
    try:
        yield statements
    finally:
        db.set_trace_callback(None)


def test_the_baseline_is_what_the_migrations_replay_to() -> None:
    """Fails when a component gained or changed a migration since the baseline was
    generated: run `scripts/squash-schema`."""
    assert written_baseline() == as_data(squash(framework_components())) == BASELINE


@pytest.mark.parametrize("name", LISTS)
def test_a_new_object_ends_where_replaying_every_migration_does(name: str) -> None:
    components = LISTS[name]
    sql, db = new_database()
    reached = migrate(sql, components, 1)
    expected, replay = replayed(components)
    assert reached == expected
    assert schema_of(db) == schema_of(replay)
    assert migrate(sql, components, 2) == reached  # and a later wake migrates nothing


def test_a_new_object_creates_the_framework_in_one_transaction_of_three_calls() -> None:
    storage = Storage()
    sql = Sql(storage)
    with counted(storage.sql.db) as statements:
        reached = migrate(sql, components_of(DOFull), 1)
    assert len([s for s in statements if s.startswith("SAVEPOINT")]) == 1
    run = [s for s in statements if not s.startswith(("SAVEPOINT", "RELEASE"))]
    # The check that it is new, `dotdo_schema`, the baseline, the versions in one INSERT;
    # `dotdo_schema` and the baseline in one call (each call is a crossing under Pyodide).
    assert len(run) == 1 + 1 + sum(len(entry[3]) for entry in BASELINE) + 1
    assert len(storage.sql.statements) == 3
    assert reached == {entry[0]: entry[1] for entry in BASELINE}
    assert sql.exec("SELECT DISTINCT migrated_at FROM dotdo_schema") == [{"migrated_at": 1}]


def test_a_later_wake_reads_two_statements() -> None:
    sql, db = new_database()
    migrate(sql, components_of(DOFull), 1)
    with counted(db) as statements:
        migrate(sql, components_of(DOFull), 2)
    assert len(statements) == 2


@pytest.mark.parametrize(
    "table",
    [
        "_cf_KV (key TEXT PRIMARY KEY, value BLOB) WITHOUT ROWID",  # Cloudflare's, the KV API's
        "__miniflare_do_name (id INTEGER PRIMARY KEY, name TEXT)",  # the local runtime's
    ],
)
def test_the_runtimes_own_tables_leave_an_object_new(table: str) -> None:
    """The runtime keeps tables of its own in the object's database before dotdo runs."""
    sql, db = new_database()
    sql.run(f"CREATE TABLE {table}")
    with counted(db) as statements:
        migrate(sql, components_of(DOFull), 1)
    assert len([s for s in statements if s.startswith("SAVEPOINT")]) == 1


def test_an_object_with_tables_of_its_own_replays() -> None:
    """Something stored before the first migration (a class that was not dotdo's): the
    history replays, `IF NOT EXISTS` and all, as it did before the baseline."""
    components = components_of(DOSemantic)
    sql, db = new_database()
    sql.run("CREATE TABLE state (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    sql.run("INSERT INTO state VALUES ('kept', '1')")
    with counted(db) as statements:
        migrate(sql, components, 1)
    assert len([s for s in statements if s.startswith("SAVEPOINT")]) > 1
    assert sql.exec("SELECT key FROM state") == [{"key": "kept"}]
    _, replay = replayed(components)
    assert schema_of(db)["master"] == schema_of(replay)["master"]


def with_things(things: Component) -> list[Component]:
    return [things if c.name == "things" else c for c in components_of(DOFull)]


@pytest.mark.parametrize(
    "things",
    [
        # A migration added to `things` after the baseline was generated.
        Component(
            "things",
            (
                *THING_TABLES.migrations,
                Migration(
                    THING_TABLES.migrations[-1].version + 1, ("ALTER TABLE things ADD COLUMN tag TEXT",)
                ),
            ),
            formerly=THING_TABLES.formerly,
        ),
        # An app's own history under the framework's name, at the same version.
        Component(
            "things",
            (
                *(Migration(v.version, ()) for v in THING_TABLES.migrations[:-1]),
                Migration(
                    THING_TABLES.migrations[-1].version,
                    ("CREATE TABLE things (id TEXT PRIMARY KEY, blob TEXT)",),
                ),
            ),
        ),
    ],
    ids=["a newer version", "another history"],
)
def test_a_component_the_baseline_does_not_hold_replays_with_everything_after_it(things: Component) -> None:
    components = with_things(things)
    sql, db = new_database()
    with counted(db) as statements:
        reached = migrate(sql, components, 1)
    expected, replay = replayed(components)
    assert reached == expected and reached["things"] == things.migrations[-1].version
    assert schema_of(db) == schema_of(replay)
    # The four of DOCore from the baseline, in one transaction; then each migration its own.
    assert len([s for s in statements if s.startswith("SAVEPOINT")]) == 1 + sum(
        len(c.migrations) for c in components[4:]
    )


def test_a_baseline_behind_its_component_is_not_used(monkeypatch: pytest.MonkeyPatch) -> None:
    behind = [(n, v - 1 if n == "graph" else v, s, steps) for n, v, s, steps in BASELINE]
    monkeypatch.setattr("dotdo.core.baseline.BASELINE", tuple(behind))
    components = components_of(DOFull)
    sql, db = new_database()
    reached = migrate(sql, components, 1)
    expected, replay = replayed(components)
    assert reached == expected and schema_of(db) == schema_of(replay)
    newest = next(c for c in components if c.name == "graph").migrations[-1].version
    assert sql.first("SELECT version FROM dotdo_schema WHERE component = 'graph'") == {"version": newest}


def test_schema_of_tells_two_layouts_apart() -> None:
    """The comparison the tests above rest on sees a column, an index's column, its
    condition and a row."""

    def described(*statements: str) -> dict[str, Any]:
        sql, db = new_database()
        for statement in statements:
            sql.run(statement)
        return schema_of(db)

    base = described("CREATE TABLE t (a TEXT PRIMARY KEY, b INTEGER)", "CREATE INDEX t_b ON t (b)")
    assert base == described("CREATE TABLE t (a TEXT  PRIMARY KEY,\n b INTEGER)", "CREATE INDEX t_b ON t (b)")
    for other in (
        ("CREATE TABLE t (a TEXT PRIMARY KEY, b INTEGER, c TEXT)", "CREATE INDEX t_b ON t (b)"),
        ("CREATE TABLE t (a TEXT PRIMARY KEY, b INTEGER)", "CREATE INDEX t_b ON t (a)"),
        ("CREATE TABLE t (a TEXT PRIMARY KEY, b INTEGER)", "CREATE INDEX t_b ON t (b) WHERE b > 0"),
        ("CREATE TABLE t (a TEXT PRIMARY KEY, b INTEGER) WITHOUT ROWID", "CREATE INDEX t_b ON t (b)"),
        (
            "CREATE TABLE t (a TEXT PRIMARY KEY, b INTEGER)",
            "CREATE INDEX t_b ON t (b)",
            "INSERT INTO t VALUES ('x', 1)",
        ),
    ):
        assert described(*other) != base, other


@pytest.mark.parametrize("seed", range(40))
def test_any_list_of_components_ends_where_replaying_it_does(seed: int) -> None:
    """Seeded: framework components kept or dropped (in DOFull's order, sometimes two
    swapped) and an app's own put anywhere; the baseline is taken as far as it matches."""
    rng = random.Random(seed)
    components = [c for c in components_of(DOFull) if rng.random() < 0.8]
    if len(components) > 2 and rng.random() < 0.2:
        i = rng.randrange(len(components) - 1)
        components[i], components[i + 1] = components[i + 1], components[i]
    if rng.random() < 0.5:
        components.insert(rng.randrange(len(components) + 1), APP)
    sql, db = new_database()
    try:
        reached: dict[str, int] | Exception = migrate(sql, components, 1)
    except sqlite3.Error as error:  # a list no history could build (graph after storage)
        reached = error
    try:
        expected: dict[str, int] | Exception
        expected, replay = replayed(components)
    except sqlite3.Error as error:
        expected = error
    if isinstance(expected, Exception):
        assert type(reached) is type(expected) and str(reached) == str(expected)
    else:
        assert reached == expected and schema_of(db) == schema_of(replay)
