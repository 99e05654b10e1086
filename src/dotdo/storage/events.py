"""`TieredEventLog`: DOStorage's event log (ADR 0023). An event is logged in its
transaction's write-ahead log row with the things it wrote, and reaches a packed segment
(`segments.py`) at the next full checkpoint; reads answer exactly as the direct path's
`EventLog` does, from the segments (the `events` VIEW) with the events not yet in a
segment merged in by id."""

from __future__ import annotations

import builtins
import json
from collections.abc import Callable
from typing import Any

from dotdo.core.page_bytes import MAX_PAGE_BYTES, value_bytes
from dotdo.core.page_rows import PageColumns
from dotdo.semantic.eventtypes import validate_pattern
from dotdo.semantic.graph import EventLog
from dotdo.semantic.ids import id_cursor, id_page
from dotdo.storage.tiers import TieredThingStore
from dotdo.wire.codec import dumps

__all__ = ["TieredEventLog"]

_EVENT_VALUES = (
    "json_extract(e.value, '$.id') AS id, json_extract(e.value, '$.type') AS type, "
    "json_extract(e.value, '$.data') AS data, json_extract(e.value, '$.timestamp') AS timestamp, "
    "json_extract(e.value, '$.subject') AS subject, json_extract(e.value, '$.object') AS object"
)
"""The `events` VIEW's columns (`segments.EVENTS_VIEW`) of an event `e` of a segment's array."""
_SEGMENT_EVENTS = (
    f"(SELECT {_EVENT_VALUES}, s.seq AS _seq, s.last_id AS _last_id "
    "FROM dotdo_event_segments s, json_each(s.events) e)"
)
"""The `events` VIEW's columns, with each event's segment (`_seq`, whose order is id order,
and within it the array's) and that segment's last id."""
_PAGE_COLUMNS = PageColumns(
    ("id", "type", "data", "timestamp", "subject", "object", "_at"),
    key="_at",
    by_key=(
        f"SELECT {_EVENT_VALUES}, json_array(s.seq, json_extract(e.value, '$.id')) AS _at "
        "FROM json_each(?) k, dotdo_event_segments s, json_each(s.events) e "
        "WHERE s.seq = json_extract(k.value, '$[0]') "
        "AND json_extract(e.value, '$.id') = json_extract(k.value, '$[1]')"
    ),
    measured=("id", "type", "data", "subject", "object"),
)
"""A page of stored events (`Sql.page`), each keyed by its segment and id (`_at`): a larger
one is read from its segment, by the segment's key."""


def _answer(event: dict[str, Any]) -> dict[str, Any]:
    return {**event, "data": json.loads(str(event["data"]))}


class TieredEventLog(EventLog):
    """The event log on `tiers` (`clock` epoch ms, `ids` new ULIDs, as `EventLog`)."""

    _page_columns = _PAGE_COLUMNS  # each event keyed by its segment and id

    def __init__(self, tiers: TieredThingStore, clock: Callable[[], int], ids: Callable[[], str]) -> None:
        """The log over `tiers` and the object's SQL (the `events` VIEW over the segments)."""
        super().__init__(tiers.sql, clock, ids)
        self._tiers = tiers

    def record(self, event_type: str, subject: str | None, data: Any, object_id: str | None = None) -> str:
        """Log one event in the running transaction (or one of its own); its id. 400
        `invalid_data` as `EventLog.record`."""
        event = self.new_event(event_type, subject, data, object_id)
        self._tiers.record_event(event)
        return str(event["id"])

    def get(self, event_id: str) -> dict[str, Any] | None:
        """One event by id (pending or in a segment), as `list` answers it; None when absent."""
        for event in self._tiers.pending_events():
            if event["id"] == event_id:
                return _answer(event)
        found = self._tiers.segments.find(event_id)
        return None if found is None else _answer(found)

    def list(
        self,
        pattern: str | None = None,
        subject: str | None = None,
        since: int | None = None,
        cursor: str | None = None,
        limit: int = 100,
        until: int | None = None,
        *,
        used_bytes: int = 0,
    ) -> dict[str, Any]:
        """`EventLog.list` over the segments, with the events not in one yet merged in by
        id: the same page, cursor and errors as the direct path, cut by its bytes over both
        (MAX_PAGE_BYTES, with the `used_bytes` it holds already)."""
        stored = super().list(pattern, subject, since, cursor, limit, until, used_bytes=used_bytes)
        cursor = id_cursor(cursor) if cursor else None  # compared below as the ids are stored
        noun = verb = "*"
        if pattern:
            noun, _, verb = validate_pattern(pattern).partition(".")
        pending = [  # as logged: `data` still its JSON text
            e
            for e in self._tiers.pending_events()
            if (noun == "*" or f"{noun}." <= str(e["type"]) < f"{noun}/")
            and (verb == "*" or _verb(str(e["type"])) == verb)
            and (not subject or e["subject"] == subject)
            and (since is None or int(e["timestamp"]) >= since)
            and (until is None or int(e["timestamp"]) < until)
            and (not cursor or str(e["id"]) > cursor)
        ]
        if stored["has_more"]:
            # Stored events follow the page's last: a pending one past it waits for its turn
            # (a page cut by its bytes, `Sql.page`, ends before `limit`, or holds none).
            last = str(stored["items"][-1]["id"]) if stored["items"] else ""
            pending = [e for e in pending if str(e["id"]) < last]
        if not pending:
            return stored
        logged = {str(e["id"]) for e in pending}
        kept: list[dict[str, Any]] = []
        size, cut = used_bytes, False
        for event in sorted([*stored["items"], *pending], key=lambda e: str(e["id"])):
            held = str(event["id"]) in logged
            size += value_bytes(event if held else {**event, "data": dumps(event["data"])})
            if (kept or used_bytes) and size > MAX_PAGE_BYTES:
                cut = True
                break
            kept.append(_answer(event) if held else event)
            if len(kept) > limit:
                break
        return id_page(kept, limit, more=stored["has_more"] or cut)

    def _page_sql(
        self, conditions: builtins.list[str], params: builtins.list[Any], after: str | None
    ) -> tuple[str, builtins.list[Any]]:
        """As `EventLog._page_sql`, over the segments in segment order (id order), each
        segment that ends at or before `after` skipped unparsed: SQLite sorts nothing
        (`ORDER BY id` over the `events` VIEW sorted every event, data and all)."""
        if after is not None:
            conditions, params = [*conditions, "_last_id > ?", "id > ?"], [*params, after, after]
        return (
            "SELECT id, type, data, timestamp, subject, object, json_array(_seq, id) AS _at "
            f"FROM {_SEGMENT_EVENTS} WHERE {' AND '.join(conditions)} ORDER BY _seq LIMIT ?",
            params,
        )


def _verb(event_type: str) -> str:
    """`substr(type, instr(type, '.') + 1)`, as the direct path's filter computes it."""
    return event_type[event_type.find(".") + 1 :]
