"""How a checkpoint writes one thing into `things` at the fewest rows (ADRs 0019, 0020)."""

from __future__ import annotations

from dotdo.core.sql import Sql
from dotdo.semantic.store import ThingRecord

__all__ = ["write_thing"]

_COLUMNS = "id, type, data, created_at, updated_at, deleted_at, version"
_SAME_TYPE_UPDATE = (
    "UPDATE things SET data = ?, created_at = ?, updated_at = ?, deleted_at = ?, version = ? "
    "WHERE id = ? AND type = ?"
)
_UPSERT = (
    f"INSERT INTO things ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET "
    "type = excluded.type, data = excluded.data, created_at = excluded.created_at, "
    "updated_at = excluded.updated_at, deleted_at = excluded.deleted_at, version = excluded.version"
)


def write_thing(sql: Sql, thing_id: str, record: ThingRecord | None) -> None:
    """Put `record` (None: deleted for good) into `things` as the last state of `thing_id`.

    `type` is matched, not assigned: an assigned column's index entries are rewritten and
    billed, changed or not; only a new or re-typed thing takes the upsert."""
    if record is None:
        sql.run("DELETE FROM things WHERE id = ?", thing_id)
        return
    values = (record.data, record.created_at, record.updated_at, record.deleted_at)
    if not sql.run(_SAME_TYPE_UPDATE, *values, record.version, record.id, record.type):
        sql.run(_UPSERT, record.id, record.type, *values, record.version)
