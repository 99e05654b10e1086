"""How a checkpoint writes things into `things` at the fewest rows (ADRs 0019, 0020), and
the things created since the last one at the fewest statements (ADR 0038)."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from dotdo.core import faults
from dotdo.core.sql import Sql
from dotdo.semantic.store import ThingRecord
from dotdo.values import compact_json

__all__ = ["MAX_BATCH_BYTES", "MAX_BATCH_DATA", "write_thing", "write_things"]

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
    both are in the table's key (`(type, created_at, id)`, ADR 0039), so in the id index
    and every declared property index (ADR 0020); a rowid-era table too big to rebuild
    keeps them in its type index `things_by_type`. Only a new thing, or one deleted for
    good and created again (a new `created_at`) or re-typed since `things` last held it,
    takes the upsert.

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


_UPSERT_MANY = (
    f"INSERT INTO things ({_COLUMNS}) "
    "SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]'), "
    "json_extract(value, '$[3]'), json_extract(value, '$[4]'), json_extract(value, '$[5]'), "
    "json_extract(value, '$[6]') FROM json_each(?) WHERE true "  # `WHERE`: SQLite's upsert grammar
    "ON CONFLICT(id) DO UPDATE SET "
    "type = excluded.type, data = excluded.data, created_at = excluded.created_at, "
    "updated_at = excluded.updated_at, deleted_at = excluded.deleted_at, version = excluded.version"
)
MAX_BATCH_DATA = 16 * 1024
"""A created thing whose `data` is longer than this (characters) is written by a statement
of its own (`write_thing`), so that no batch parameter nears Cloudflare's 2 MB cap on a
string (https://developers.cloudflare.com/durable-objects/platform/limits/)."""
MAX_BATCH_BYTES = 256 * 1024
"""About how many characters of JSON one batch statement's parameter holds at most."""


def write_things(
    sql: Sql,
    ids: Iterable[str],
    record_of: Callable[[str], ThingRecord | None],
) -> None:
    """`write_thing` for each of `ids` in order (its record: `record_of(id)`, None when
    deleted for good), the things created since the last checkpoint (version 1, `data`
    within MAX_BATCH_DATA) together: one statement a batch of up to MAX_BATCH_BYTES of
    JSON instead of one a thing, the same rows written. The fault point
    `storage_in_checkpoint` is reached for each thing once its statement has run, in the
    order of `ids`.

    A batch is `_UPSERT`, the statement `write_thing` runs for such a record, over the rows
    of one JSON parameter (`json_each`): SQLite inserts (or, in the rare replay, updates)
    each row as that statement does, at the same rows of the table and its indexes; the
    values arrive exactly as bound ones (`json_extract` gives a JSON integer as an
    INTEGER, within the 64 bits every stored integer is held to, a string as TEXT and
    null as NULL, https://sqlite.org/json1.html). Distinct ids (a checkpoint writes each
    dirty thing once) make the order of the statements immaterial to the table."""
    batch: list[list[object]] = []
    in_batch: list[str] = []
    size = 0

    def flush() -> None:
        nonlocal size
        if batch:
            sql.run(_UPSERT_MANY, compact_json(batch))
            for done in in_batch:
                faults.reach_now(faults.STORAGE_IN_CHECKPOINT, done)
            batch.clear()
            in_batch.clear()
            size = 0

    for thing_id in ids:
        record = record_of(thing_id)
        if record is not None and record.version == 1 and len(record.data) <= MAX_BATCH_DATA:
            batch.append([record.id, *record.columns()[1:]])
            in_batch.append(thing_id)
            size += len(record.data) + 100
            if size >= MAX_BATCH_BYTES:
                flush()
            continue
        flush()
        write_thing(sql, thing_id, record)
        faults.reach_now(faults.STORAGE_IN_CHECKPOINT, thing_id)
    flush()
