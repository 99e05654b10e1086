"""Versioned schema migrations for the tables each layer owns, run once per object.

Every layer names a component ("core", "semantic", ...) and an ordered list of
migrations; the version reached is stored per component in `_dotdo_schema`, and
each migration runs in its own transaction together with the version bump.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

from dotdo.core.sql import Sql

__all__ = ["Migration", "migrate"]

_SCHEMA_TABLE = """CREATE TABLE IF NOT EXISTS _dotdo_schema (
  component TEXT PRIMARY KEY,
  version INTEGER NOT NULL,
  migrated_at INTEGER NOT NULL
)"""


@dataclass(frozen=True)
class Migration:
    version: int
    statements: tuple[str, ...]


def migrate(sql: Sql, components: Sequence[tuple[str, Sequence[Migration]]], now_ms: int) -> dict[str, int]:
    """Bring every component's tables to its newest version; returns the versions reached."""
    sql.run(_SCHEMA_TABLE)
    reached = {
        str(r["component"]): int(r["version"])
        for r in sql.exec("SELECT component, version FROM _dotdo_schema")
    }
    for component, migrations in components:
        versions = [m.version for m in migrations]
        if versions != sorted(set(versions)) or (versions and versions[0] < 1):
            raise ValueError(f"{component}: migration versions must be unique, ascending and >= 1")
        for migration in migrations:
            if migration.version > reached.get(component, 0):
                sql.transaction(functools.partial(_apply, sql, component, migration, now_ms))
                reached[component] = migration.version
    return reached


def _apply(sql: Sql, component: str, migration: Migration, now_ms: int) -> None:
    for statement in migration.statements:
        sql.run(statement)
    sql.run(
        "INSERT INTO _dotdo_schema (component, version, migrated_at) VALUES (?, ?, ?) "
        "ON CONFLICT(component) DO UPDATE SET version = excluded.version, migrated_at = excluded.migrated_at",
        component,
        migration.version,
        now_ms,
    )
