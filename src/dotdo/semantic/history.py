"""A thing's history from the event log: every write of a thing records an event whose data
is the whole thing after the write (`Customer.created`, `.updated`, ..., a hard delete's
only `{"$id", "$type", "hard": true}`), so the thing as it was at any time is the data of
its last write event by then. `GET /:Noun/:id?as_of=<ms>` reads it (ADR 0025).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from dotdo.core.sql import Sql

__all__ = ["WRITE_SLACK_MS", "thing_at", "thing_state", "written_at"]

WRITE_SLACK_MS = 60_000
"""How much later than its write an event's `timestamp` may be: the event is recorded in the
write's transaction, a moment after the write took its time (`$updated_at`)."""


def written_at(event: Mapping[str, Any]) -> int:
    """When the write an event records happened (epoch ms): the thing's `$updated_at` in a
    write's event (the time the thing answers, so `as_of=<$updated_at>` finds that
    version), else the event's `timestamp`."""
    data = event.get("data")
    updated = data.get("$updated_at") if isinstance(data, dict) else None
    if isinstance(updated, int) and not isinstance(updated, bool):
        return updated
    return int(event["timestamp"])


def thing_state(
    event: Mapping[str, Any], type_name: str, thing_id: str
) -> tuple[bool, dict[str, Any] | None]:
    """What one event (`{"type", "subject", "data", ...}`, data decoded) says the thing
    `type_name`/`thing_id` was after it: `(True, thing)` for a write's event (its data is
    the whole thing, `$version` included), `(True, None)` for a hard delete's, and
    `(False, None)` for any other event of the subject (an action's, a custom one)."""
    data = event.get("data")
    if event.get("subject") != thing_id or not str(event.get("type", "")).startswith(type_name + "."):
        return False, None
    if not isinstance(data, dict) or data.get("$id") != thing_id or data.get("$type") != type_name:
        return False, None
    if "$version" in data:
        return True, data
    if data.get("hard") is True:
        return True, None
    return False, None


def thing_at(sql: Sql, type_name: str, thing_id: str, as_of: int) -> tuple[bool, dict[str, Any] | None]:
    """The thing as its last write event in `events` at or before `as_of` (epoch ms) left it
    (`thing_state`): `(True, thing)`, `(True, None)` when it was hard-deleted then,
    `(False, None)` when no write event of it is held here (it did not exist yet, or
    its history is older than the events held)."""
    before: list[str] = []
    while True:
        # Newest first along events_by_subject (subject, id); the thing's other events
        # (actions, custom ones) are skipped by `thing_state`.
        rows = sql.exec(
            "SELECT id, type, data, timestamp, subject FROM events WHERE subject = ? AND type >= ? "
            f"AND type < ? AND timestamp <= ?{' AND id < ?' if before else ''} "
            "ORDER BY id DESC LIMIT 100",
            thing_id,
            f"{type_name}.",
            f"{type_name}/",
            as_of + WRITE_SLACK_MS,
            *before,
        )
        for row in rows:
            event = {
                "type": row["type"],
                "subject": row["subject"],
                "data": json.loads(str(row["data"])),
                "timestamp": row["timestamp"],
            }
            if written_at(event) > as_of:
                continue
            found, thing = thing_state(event, type_name, thing_id)
            if found:
                return True, thing
        if len(rows) < 100:
            return False, None
        before = [str(rows[-1]["id"])]
