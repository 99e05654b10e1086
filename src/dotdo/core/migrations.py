"""Versioned schema migrations, one version track per component, run once per object.

A component is a set of tables one module owns ("core" the `state` table, "things",
"registry", "graph", "workflow", or an app's own); its migrations are numbered from 1
and the version reached is stored per component in `dotdo_schema`. Each migration
runs in its own transaction together with its version bump, so a version runs once.
A step is an SQL statement or, where the statements depend on what the database
holds, a Python function of the `Sql` facade (`without_rowid`).

A new object (nothing stored yet) does not replay the framework's history: it creates
each framework component's current tables from the squashed baseline
(`dotdo.core.baseline`, generated from these migrations by `scripts/squash-schema`) in
one transaction, and records each at its newest version (ADR 0040).
"""

from __future__ import annotations

import functools
import json
import logging
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from dotdo.core.sql import Sql

__all__ = [
    "MAX_REBUILD_ROWS",
    "SCHEMA_TABLE",
    "SCHEMA_TABLE_SQL",
    "Component",
    "Migration",
    "Step",
    "migrate",
    "without_rowid",
]

logger = logging.getLogger("dotdo.migrations")

Step = str | Callable[[Sql], None]
"""One step of a migration: an SQL statement, or a function run on the `Sql` facade."""

MAX_REBUILD_ROWS = 100_000
"""The most rows `without_rowid` copies. Copying runs inside the object's first request
after an upgrade (about 1 s per 100,000 events measured on the local runtime); a larger
table keeps its layout, which every query reads the same way."""

SCHEMA_TABLE = "dotdo_schema"
_FORMER_SCHEMA_TABLE = "_dotdo_schema"  # its name until the dotdo_ prefix (ADR 0013)

_RUNTIME_PREFIXES = ("_cf_", "sqlite_", "__miniflare_")
"""Names of what the runtime keeps in an object's database before dotdo runs, which leave it
new: Cloudflare's own tables (`_cf_KV`, the storage API's), SQLite's, and the name the local
runtime (miniflare) records for an object addressed by name (`__miniflare_do_name`)."""
_NOT_RUNTIMES = " AND ".join(f"substr(name, 1, {len(p)}) <> '{p}'" for p in _RUNTIME_PREFIXES)

SCHEMA_TABLE_SQL = f"""CREATE TABLE IF NOT EXISTS {SCHEMA_TABLE} (
  component TEXT PRIMARY KEY,
  version INTEGER NOT NULL,
  migrated_at INTEGER NOT NULL
)"""
"""The statement creating `dotdo_schema`, one row a component: the version it reached and when
(epoch ms)."""


@dataclass(frozen=True)
class Migration:
    """One step of a component's schema: `statements` (SQL text, or functions of the `Sql`
    facade) run in order, in one transaction."""

    version: int
    statements: tuple[Step, ...]


@dataclass(frozen=True)
class Component:
    """A set of tables with its own version track in `dotdo_schema`.

    `name` is the track's key; `migrations` have unique versions from 1, ascending, and
    a version once released never changes (a change is a new version). `formerly` names
    the tracks this one was split from, as `(component, version)` pairs: on an object
    where `component` reached `version` (or later) and this track has no row yet, this
    track starts at `version`, because the old track already ran its statements up to
    there. `Component("things", ..., formerly=(("semantic", 1),))` is how the `semantic`
    track, whose version 1 created the things, registry and graph tables together,
    became three.
    """

    name: str
    migrations: Sequence[Migration]
    formerly: tuple[tuple[str, int], ...] = ()

    def __post_init__(self) -> None:
        versions = [m.version for m in self.migrations]
        if versions != sorted(set(versions)) or (versions and versions[0] < 1):
            raise ValueError(f"{self.name}: migration versions must be unique, ascending and >= 1")


def migrate(
    sql: Sql, components: Iterable[Component | tuple[str, Sequence[Migration]]], now_ms: int
) -> dict[str, int]:
    """Bring every component's tables to its newest version; returns `{component: version}`
    for every track recorded (former tracks included).

    A `(name, migrations)` pair is shorthand for `Component(name, migrations)`. Raises
    ValueError for two components of one name or versions out of order, and whatever
    SQLite raises for a failing statement (that migration and its version bump are
    rolled back; earlier ones stay).
    """
    checked = [c if isinstance(c, Component) else Component(c[0], tuple(c[1])) for c in components]
    names = [c.name for c in checked]
    if len(names) != len(set(names)):
        twice = sorted(n for n in set(names) if names.count(n) > 1)
        raise ValueError(f"Two components share a name: {twice}")
    if _schema_table(sql):
        reached = _create_new(sql, checked, now_ms)
    else:
        reached = {
            str(r["component"]): int(r["version"])
            for r in sql.exec(f"SELECT component, version FROM {SCHEMA_TABLE}")
        }
    for component in checked:
        if component.name not in reached:
            adopted = max((v for old, v in component.formerly if reached.get(old, 0) >= v), default=0)
            if adopted:
                _record(sql, component.name, adopted, now_ms)
                reached[component.name] = adopted
        for migration in component.migrations:
            if migration.version > reached.get(component.name, 0):
                sql.transaction(functools.partial(_apply, sql, component.name, migration, now_ms))
                reached[component.name] = migration.version
    return reached


def _schema_table(sql: Sql) -> bool:
    """Whether the object is new (nothing stored: no table, index or view but the runtime's
    own, `_RUNTIME_PREFIXES`), in which case nothing is created here. Otherwise make sure
    `dotdo_schema` exists: create it, or rename `_dotdo_schema` to it (with its rows) on an
    object migrated before the prefix. One statement on every wake, as before the baseline."""
    (found,) = sql.exec(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?) AS current, "
        "EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?) AS former, "
        f"EXISTS (SELECT 1 FROM sqlite_master WHERE {_NOT_RUNTIMES}) AS stored",
        SCHEMA_TABLE,
        _FORMER_SCHEMA_TABLE,
    )
    if found["current"]:
        return False
    if found["former"]:
        sql.run(f"ALTER TABLE {_FORMER_SCHEMA_TABLE} RENAME TO {SCHEMA_TABLE}")
        return False
    if found["stored"]:
        sql.run(SCHEMA_TABLE_SQL)
        return False
    return True


def _create_new(sql: Sql, components: Sequence[Component], now_ms: int) -> dict[str, int]:
    """On a new object: create `dotdo_schema` and the current tables of the leading
    components the baseline holds at their newest version, in one transaction, and record
    each at that version; `{component: version}` of those. The components after the first
    one it does not hold (an app's own, or a framework component changed since the
    baseline was generated) are left to replay, on the same tables their history would
    have built."""
    from dotdo.core.baseline import BASELINE  # only a new object reads it

    taken: list[tuple[str, int]] = []
    statements: list[str] = []
    for component, (name, version, source, steps) in zip(components, BASELINE, strict=False):
        if component.name != name or _newest(component) != version or not _same_history(component, source):
            break
        taken.append((name, version))
        statements.extend(steps)

    def create() -> None:
        sql.script([SCHEMA_TABLE_SQL, *statements])
        if taken:  # one statement for them all: `[[component, version], ...]` as one parameter
            sql.run(
                f"INSERT INTO {SCHEMA_TABLE} (component, version, migrated_at) "
                "SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), ? FROM json_each(?)",
                now_ms,
                json.dumps(taken),
            )

    sql.transaction(create)
    return dict(taken)


def _newest(component: Component) -> int:
    """The version a component's history ends at (0: it has none)."""
    return component.migrations[-1].version if component.migrations else 0


def _same_history(component: Component, source: str) -> bool:
    """Whether `component`'s migrations are the ones the baseline was generated from:
    `source` names them, `module:attribute` (a tuple of migrations, or a `Component`).
    The module is looked up, not imported: a component built from it has imported it."""
    module_name, _, attribute = source.partition(":")
    found = getattr(sys.modules.get(module_name), attribute, None)
    if isinstance(found, Component):
        found = found.migrations
    return found is not None and tuple(found) == tuple(component.migrations)


def _apply(sql: Sql, component: str, migration: Migration, now_ms: int) -> None:
    for statement in migration.statements:
        if isinstance(statement, str):
            sql.run(statement)
        else:
            statement(sql)
    _record(sql, component, migration.version, now_ms)


def without_rowid(
    table: str,
    columns: str,
    indexes: Sequence[str] = (),
    *,
    key: Sequence[str] | None = None,
    dropped: Sequence[str] = (),
) -> Callable[[Sql], None]:
    """A migration step that rebuilds `table` as a WITHOUT ROWID table keyed by its primary
    key, keeping its rows and indexes.

    A table with a TEXT primary key otherwise stores every row twice, in the table under
    its rowid and in the key's index, and SQLite counts (Cloudflare bills) both on every
    insert; WITHOUT ROWID keeps one b-tree ordered by the key
    (https://sqlite.org/withoutrowid.html). `columns` is the column list of the new
    table as in CREATE TABLE (the key included); the rows are copied column by column.
    `indexes` are the CREATE [UNIQUE] INDEX statements of the indexes dotdo owns on the
    table, run on the new one; `dropped` names indexes of the old table dotdo no longer
    keeps; any other index the old table had (a noun's indexed property) is created again
    as it was.

    `key` is the new primary key's columns in order, given when it differs from the old
    table's (a table keyed anew, e.g. `things` by its list order, ADR 0039); without it
    the key stays the table's own. Nothing is done for a table already without rowid and
    keyed by `key`, and a table of more than MAX_REBUILD_ROWS rows keeps its layout
    (logged): every statement dotdo runs on it is valid on both layouts and answers the
    same, only its plans and its writes' index entries differ.
    """

    def step(sql: Sql) -> None:
        found = sql.first("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", table)
        if found is None:
            raise ValueError(f"without_rowid: no table {table!r}")
        has_rowid = "WITHOUT ROWID" not in " ".join(str(found["sql"]).upper().split())
        if not has_rowid and (key is None or _primary_key(sql, table) == tuple(key)):
            return
        if _more_rows_than(sql, table, MAX_REBUILD_ROWS, has_rowid):
            logger.warning(
                "table %s has more than %d rows: kept as it is (its inserts may write an index more, "
                "its reads take other plans); everything else works the same",
                table,
                MAX_REBUILD_ROWS,
            )
            return
        names = [str(r["name"]) for r in sql.exec("SELECT name FROM pragma_table_info(?)", table)]
        ours = {_index_name(statement) for statement in indexes} | set(dropped)
        kept = [
            str(r["sql"])
            for r in sql.exec(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? "
                "AND sql IS NOT NULL",
                table,
            )
            if str(r["name"]) not in ours
        ]
        rebuilt = f"dotdo_rebuilt_{table}"
        listed = ", ".join(f'"{name}"' for name in names)
        sql.run(f"CREATE TABLE {rebuilt} ({columns}) WITHOUT ROWID")
        sql.run(f"INSERT INTO {rebuilt} ({listed}) SELECT {listed} FROM {table}")
        sql.run(f"DROP TABLE {table}")
        sql.run(f"ALTER TABLE {rebuilt} RENAME TO {table}")
        for statement in (*indexes, *kept):
            sql.run(statement)

    return step


def _primary_key(sql: Sql, table: str) -> tuple[str, ...]:
    """The columns of `table`'s primary key, in the key's order."""
    rows = sql.exec("SELECT name FROM pragma_table_info(?) WHERE pk > 0 ORDER BY pk", table)
    return tuple(str(r["name"]) for r in rows)


def _more_rows_than(sql: Sql, table: str, bound: int, has_rowid: bool) -> bool:
    """Does `table` hold more than `bound` rows? Reads one row (a rowid table's last key) or
    at most `bound + 1`."""
    if has_rowid:  # the rowid b-tree's last key: no scan
        top = sql.first(f"SELECT max(rowid) AS n FROM {table}")
        return top is not None and top["n"] is not None and int(top["n"]) > bound
    counted = sql.first(f"SELECT count(*) AS n FROM (SELECT 1 FROM {table} LIMIT ?)", bound + 1)
    return counted is not None and int(counted["n"]) > bound


def _index_name(statement: str) -> str:
    """The name a `CREATE [UNIQUE] INDEX [IF NOT EXISTS] name ON ...` statement gives its index."""
    words = statement.split()
    if words[1].upper() == "UNIQUE":
        del words[1]
    at = 5 if [w.upper() for w in words[2:5]] == ["IF", "NOT", "EXISTS"] else 2
    return words[at].strip('"')


def _record(sql: Sql, component: str, version: int, now_ms: int) -> None:
    sql.run(
        f"INSERT INTO {SCHEMA_TABLE} (component, version, migrated_at) VALUES (?, ?, ?) "
        "ON CONFLICT(component) DO UPDATE SET version = excluded.version, migrated_at = excluded.migrated_at",
        component,
        version,
        now_ms,
    )
