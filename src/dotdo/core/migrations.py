"""Versioned schema migrations for the tables each layer owns, run once per object.

Every layer names a component ("core", "semantic", ...) and an ordered list of
migrations; the version reached is stored per component in `_dotdo_schema`, and
each migration runs in its own transaction together with the version bump.
"""

from __future__ import annotations

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


def migrate(sql: Sql, component: str, migrations: Sequence[Migration], now_ms: int) -> int:
    """Bring `component`'s tables to the newest version; returns that version."""
    versions = [m.version for m in migrations]
    if versions != sorted(set(versions)) or (versions and versions[0] < 1):
        raise ValueError(f"{component}: migration versions must be unique, ascending and >= 1")
    sql.run(_SCHEMA_TABLE)
    row = sql.first("SELECT version FROM _dotdo_schema WHERE component = ?", component)
    current = int(row["version"]) if row else 0
    for migration in migrations:
        if migration.version <= current:
            continue

        def apply(m: Migration = migration) -> None:
            for statement in m.statements:
                sql.run(statement)
            sql.run(
                "INSERT INTO _dotdo_schema (component, version, migrated_at) VALUES (?, ?, ?) "
                "ON CONFLICT(component) DO UPDATE SET version = excluded.version, "
                "migrated_at = excluded.migrated_at",
                component,
                m.version,
                now_ms,
            )

        sql.transaction(apply)
        current = migration.version
    return current
