"""A thing's history from the event log: every write of a thing records an event whose data
is the whole thing after the write (`Customer.created`, `.updated`, ..., a hard delete's
only `{"$id", "$type", "hard": true}`), so the thing as it was at any time is the data of
its last write event by then. `GET /:Noun/:id?as_of=<ms>` reads it (ADR 0024).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dotdo.semantic.graph import MAX_EVENTS, EventLog
from dotdo.values import INT64_MAX

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


def thing_at(log: EventLog, type_name: str, thing_id: str, as_of: int) -> tuple[bool, dict[str, Any] | None]:
    """The thing as its last write event at or before `as_of` (epoch ms) left it
    (`thing_state`), read through the object's event log (`log.list`, so DOStorage's
    events not yet in a segment count too): `(True, thing)`, `(True, None)` when it was
    hard-deleted then, `(False, None)` when the log holds no write of it by then (it did
    not exist yet, or its history is older than the events held). Reads the thing's
    events of its type up to `as_of`, oldest first, a page of MAX_EVENTS at a time."""
    found: tuple[bool, dict[str, Any] | None] = (False, None)
    cursor: str | None = None
    while True:
        # Clamped: `as_of` may be any 64-bit integer, and a bound past it is a 400 from the SQL facade.
        until = min(as_of + WRITE_SLACK_MS + 1, INT64_MAX)
        page = log.list(f"{type_name}.*", thing_id, None, cursor, MAX_EVENTS, until)
        for event in page["items"]:
            if written_at(event) > as_of:
                continue
            state = thing_state(event, type_name, thing_id)
            if state[0]:
                found = state
        cursor = page["cursor"]
        if cursor is None:
            return found
