"""How a checkpoint writes one thing into `things` at the fewest rows (ADRs 0019, 0020)."""

from __future__ import annotations

from dotdo.core.sql import Sql
from dotdo.semantic.store import ThingRecord

__all__ = ["write_thing"]

_COLUMNS = "id, type, data, created_at, updated_at, deleted_at, version"
_SAME_BIRTH_UPDATE = (
    "UPDATE things SET data = ?, updated_at = ?, deleted_at = ?, version = ? "
    "WHERE id = ? AND type = ? AND created_at = ?"
)
_UPSERT = (
    f"INSERT INTO things ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET "
    "type = excluded.type, data = excluded.data, created_at = excluded.created_at, "
    "updated_at = excluded.updated_at, deleted_at = excluded.deleted_at, version = excluded.version"
)


def write_thing(sql: Sql, thing_id: str, record: ThingRecord | None) -> None:
    """Put `record` (None: deleted for good) into `things` as the last state of `thing_id`.

    `type` and `created_at` are matched, not assigned: SQLite rewrites (and Cloudflare
    bills) the entry of every index on a column an UPDATE assigns, changed or not, and
    both are in the type index (`things_by_type`) and in every declared property index
    (ADR 0020). Only a new thing, or one deleted for good and created again (a new
    `created_at`) or re-typed since `things` last held it, takes the upsert.

    A record at version 1 is a life created since the last checkpoint, which `things`
    holds only if a checkpoint of its type wrote it and the object restarted before the
    log's mark moved past it: it takes the upsert at once, not after an UPDATE that
    matches nothing (one statement a created thing instead of two, at the same rows; in
    that rare replay the upsert rewrites the row, correct at its index entries' rows)."""
    if record is None:
        sql.run("DELETE FROM things WHERE id = ?", thing_id)
        return
    if record.version == 1:
        values = (record.data, record.created_at, record.updated_at, record.deleted_at)
        sql.run(_UPSERT, record.id, record.type, *values, record.version)
        return
    changed = (record.data, record.updated_at, record.deleted_at, record.version)
    if not sql.run(_SAME_BIRTH_UPDATE, *changed, record.id, record.type, record.created_at):
        values = (record.data, record.created_at, record.updated_at, record.deleted_at)
        sql.run(_UPSERT, record.id, record.type, *values, record.version)
