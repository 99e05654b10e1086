"""Versioned schema migrations, one version track per component, run once per object.

A component is a set of tables one module owns ("core" the `state` table, "things",
"registry", "graph", "workflow", or an app's own); its migrations are numbered from 1
and the version reached is stored per component in `dotdo_schema`. Each migration
runs in its own transaction together with its version bump, so a version runs once.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from dotdo.core.sql import Sql

__all__ = ["SCHEMA_TABLE", "Component", "Migration", "migrate"]

SCHEMA_TABLE = "dotdo_schema"
_FORMER_SCHEMA_TABLE = "_dotdo_schema"  # its name until the dotdo_ prefix (ADR 0013)

_CREATE_SCHEMA_TABLE = f"""CREATE TABLE IF NOT EXISTS {SCHEMA_TABLE} (
  component TEXT PRIMARY KEY,
  version INTEGER NOT NULL,
  migrated_at INTEGER NOT NULL
)"""


@dataclass(frozen=True)
class Migration:
    """One step of a component's schema: `statements` run in order, in one transaction."""

    version: int
    statements: tuple[str, ...]


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
    _schema_table(sql)
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


def _schema_table(sql: Sql) -> None:
    """Create `dotdo_schema`, or rename `_dotdo_schema` to it (with its rows) on an object
    migrated before the prefix."""
    found = {
        str(r["name"])
        for r in sql.exec(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name IN (?, ?)",
            SCHEMA_TABLE,
            _FORMER_SCHEMA_TABLE,
        )
    }
    if SCHEMA_TABLE in found:
        return
    if _FORMER_SCHEMA_TABLE in found:
        sql.run(f"ALTER TABLE {_FORMER_SCHEMA_TABLE} RENAME TO {SCHEMA_TABLE}")
    else:
        sql.run(_CREATE_SCHEMA_TABLE)


def _apply(sql: Sql, component: str, migration: Migration, now_ms: int) -> None:
    for statement in migration.statements:
        sql.run(statement)
    _record(sql, component, migration.version, now_ms)


def _record(sql: Sql, component: str, version: int, now_ms: int) -> None:
    sql.run(
        f"INSERT INTO {SCHEMA_TABLE} (component, version, migrated_at) VALUES (?, ?, ?) "
        "ON CONFLICT(component) DO UPDATE SET version = excluded.version, migrated_at = excluded.migrated_at",
        component,
        version,
        now_ms,
    )
