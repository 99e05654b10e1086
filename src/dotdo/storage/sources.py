"""Where L3's sealed batches of old events come from, and how they leave SQLite once
archived: the `EventSource` protocol, and `EventsTable` over today's `events` table
(ADR 0024)."""

from __future__ import annotations

import json
from typing import Any, Protocol

from dotdo.core.sql import Sql

__all__ = ["EventSource", "EventsTable", "PackedSegments"]


class EventSource(Protocol):
    """Where sealed batches of old events come from and how they are removed once archived."""

    def oldest(self) -> int | None:
        """When the oldest batch that can be taken whole was complete: the timestamp (epoch
        ms) of its newest event (for single events, the oldest event's); None when there
        is none. A pass is due `after_ms` later."""
        ...

    def held(self) -> int:
        """How many events are held."""
        ...

    def sealed(self, before: int | None, limit: int, max_bytes: int) -> list[dict[str, Any]]:
        """The oldest events, a contiguous run in id order: at most `limit` events and
        `max_bytes` of JSON (at least one), none at or after `before` (epoch ms; None: any
        age), none an unfinished delivery still needs."""
        ...

    def remove(self, first_id: str, last_id: str) -> int:
        """Remove the run `first_id`..`last_id` (inclusive); the rows written."""
        ...


class EventsTable:
    """`EventSource` over today's `events` table (one row an event).

    Removing an archived event deletes its row and its two index entries: three rows
    written, as many as its insert cost (ADR 0024 says when that pays). An event a delivery
    of the workflow layer (`dotdo_deliveries`, pending or dead) still names stays, and so
    does everything after it, so a retry or a revived dead letter finds its event.
    """

    def __init__(self, sql: Sql) -> None:
        """Over the object's `sql`."""
        self._sql = sql

    def oldest(self) -> int | None:
        """The oldest event's timestamp (one row read: the first by id)."""
        row = self._sql.first("SELECT timestamp FROM events ORDER BY id LIMIT 1")
        return None if row is None else int(row["timestamp"])

    def held(self) -> int:
        """`count(*)` of `events`."""
        row = self._sql.first("SELECT count(*) AS n FROM events")
        return 0 if row is None else int(row["n"])

    def _hold(self) -> str | None:
        table = self._sql.first(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'dotdo_deliveries'"
        )
        if table is None:
            return None
        row = self._sql.first("SELECT min(event_id) AS id FROM dotdo_deliveries")
        return None if row is None or row["id"] is None else str(row["id"])

    def sealed(self, before: int | None, limit: int, max_bytes: int) -> list[dict[str, Any]]:
        """The oldest run of events (see `EventSource.sealed`)."""
        hold = _hold(self._sql)
        rows = self._sql.exec(
            "SELECT id, type, data, timestamp, subject, object FROM events ORDER BY id LIMIT ?", limit
        )
        batch: list[dict[str, Any]] = []
        size = 0
        for row in rows:
            if before is not None and int(row["timestamp"]) >= before:
                break
            if hold is not None and str(row["id"]) >= hold:
                break
            size += len(str(row["data"]).encode()) + 128
            if batch and size > max_bytes:
                break
            batch.append(
                {
                    "id": str(row["id"]),
                    "type": str(row["type"]),
                    "data": json.loads(str(row["data"])),
                    "timestamp": int(row["timestamp"]),
                    "subject": row["subject"],
                    "object": row["object"],
                }
            )
        return batch

    def remove(self, first_id: str, last_id: str) -> int:
        """`DELETE` the run by its id range."""
        return self._sql.run("DELETE FROM events WHERE id >= ? AND id <= ?", first_id, last_id)


class PackedSegments:
    """`EventSource` over DOStorage's packed event segments (`dotdo_event_segments`, ADR
    0023): batches are whole sealed segments, oldest first (never the open one, which the
    next checkpoint still appends to), and removing a batch deletes its segment rows, one
    row written a segment of up to 256 events however many events it held.

    `sealed` joins consecutive sealed segments while they stay within `limit` events and
    `max_bytes` (always at least one whole segment), and stops before a segment an
    unfinished delivery's event is in, as `EventsTable` does.
    """

    def __init__(self, sql: Sql) -> None:
        """Over the object's `sql`."""
        self._sql = sql

    def oldest(self) -> int | None:
        """The newest timestamp of the oldest sealed segment (one row read): the segment
        is due whole once that is `after_ms` old. None while no segment is sealed."""
        row = self._sql.first(
            "SELECT last_at FROM dotdo_event_segments WHERE sealed = 1 ORDER BY seq LIMIT 1"
        )
        return None if row is None else int(row["last_at"])

    def held(self) -> int:
        """Events in the segments (the sum of their counts)."""
        row = self._sql.first("SELECT sum(count) AS n FROM dotdo_event_segments")
        return 0 if row is None or row["n"] is None else int(row["n"])

    def sealed(self, before: int | None, limit: int, max_bytes: int) -> list[dict[str, Any]]:
        """The oldest sealed segments' events (see the class docstring), `data` decoded."""
        hold = _hold(self._sql)
        # Whole rows of at most 256 KiB each; read a few at a time, not the table.
        rows = self._sql.exec(
            "SELECT last_id, last_at, count, bytes, sealed, events FROM dotdo_event_segments "
            "ORDER BY seq LIMIT 16"
        )
        batch: list[dict[str, Any]] = []
        size = 0
        for row in rows:
            if not int(row["sealed"]):
                break
            if before is not None and int(row["last_at"]) >= before:
                break
            if hold is not None and str(row["last_id"]) >= hold:
                break
            if batch and (len(batch) + int(row["count"]) > limit or size + int(row["bytes"]) > max_bytes):
                break
            size += int(row["bytes"])
            for event in json.loads(str(row["events"])):
                batch.append({**event, "data": json.loads(str(event["data"]))})
        return batch

    def remove(self, first_id: str, last_id: str) -> int:
        """Delete the sealed segment rows inside `first_id`..`last_id`."""
        return self._sql.run(
            "DELETE FROM dotdo_event_segments WHERE sealed = 1 AND first_id >= ? AND last_id <= ?",
            first_id,
            last_id,
        )


def _hold(sql: Sql) -> str | None:
    """The oldest event id an unfinished delivery (`dotdo_deliveries`) names, or None."""
    table = sql.first("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'dotdo_deliveries'")
    if table is None:
        return None
    row = sql.first("SELECT min(event_id) AS id FROM dotdo_deliveries")
    return None if row is None or row["id"] is None else str(row["id"])
