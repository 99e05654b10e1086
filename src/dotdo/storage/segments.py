"""Packed event segments: where DOStorage's checkpoints put events (ADR 0023).

`dotdo_event_segments` holds events many to a row, so a checkpoint writes one row for
all the events it moves, however many there are, instead of one row (and its index rows)
per event:

    seq       INTEGER PRIMARY KEY   1, 2, ... in the order segments were opened
    first_id  TEXT                  the smallest event id in the segment
    last_id   TEXT                  the largest event id in the segment
    first_at  INTEGER               the smallest event timestamp (epoch ms)
    last_at   INTEGER               the largest event timestamp (epoch ms)
    count     INTEGER               events in the segment
    bytes     INTEGER               UTF-8 bytes of `events`
    sealed    INTEGER               0: the open segment (at most one, the last), which the
                                    next checkpoint appends to by an upsert of its row;
                                    1: sealed, never written again
    events    TEXT                  a JSON array of events, oldest first, each
                                    {"id", "type", "data", "timestamp", "subject", "object"}
                                    with `data` the event's JSON as text (exactly the
                                    `events.data` column of the direct path)

A segment is sealed when it holds `max_events` events or appending the next event would
take it past `max_bytes` (an event larger than that gets a segment of its own: a thing is
at most 1 MiB, well under Cloudflare's 2 MB cell). The read-only query's `events` is a
VIEW over the segments (`json_each`), with the direct path's columns.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from dotdo.core.sql import Sql
from dotdo.values import compact_json

__all__ = [
    "EVENTS_VIEW",
    "SEGMENTS_TABLE",
    "SEGMENT_BYTES",
    "SEGMENT_EVENTS",
    "EventSegments",
    "event_json",
    "events_into_segments",
    "utf8_size",
]

SEGMENT_EVENTS = 256
"""Events a segment holds before it is sealed."""
SEGMENT_BYTES = 256 * 1024
"""Bytes of events a segment holds before it is sealed: a checkpoint rewrites the open
segment's cell whole, so it stays small; far under the 2 MB cell limit
(https://developers.cloudflare.com/durable-objects/platform/limits/)."""

SEGMENTS_TABLE = """CREATE TABLE IF NOT EXISTS dotdo_event_segments (
  seq INTEGER PRIMARY KEY,
  first_id TEXT NOT NULL,
  last_id TEXT NOT NULL,
  first_at INTEGER NOT NULL,
  last_at INTEGER NOT NULL,
  count INTEGER NOT NULL,
  bytes INTEGER NOT NULL,
  sealed INTEGER NOT NULL,
  events TEXT NOT NULL
)"""

EVENTS_VIEW = """CREATE VIEW IF NOT EXISTS events AS SELECT
  json_extract(e.value, '$.id') AS id,
  json_extract(e.value, '$.type') AS type,
  json_extract(e.value, '$.data') AS data,
  json_extract(e.value, '$.timestamp') AS timestamp,
  json_extract(e.value, '$.subject') AS subject,
  json_extract(e.value, '$.object') AS object
FROM dotdo_event_segments s, json_each(s.events) e"""
"""`events` as the read-only query sees it on DOStorage: the direct path's columns, in
segment order (which is id order: an object's ids only increase)."""

_UPSERT = (
    "INSERT INTO dotdo_event_segments (seq, first_id, last_id, first_at, last_at, count, bytes, sealed, "
    "events) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(seq) DO UPDATE SET first_id = excluded.first_id, "
    "last_id = excluded.last_id, first_at = excluded.first_at, last_at = excluded.last_at, "
    "count = excluded.count, bytes = excluded.bytes, sealed = excluded.sealed, events = excluded.events"
)


def event_json(event: dict[str, Any]) -> str:
    """One event as a segment stores it (compact JSON, keys in the documented order)."""
    return compact_json({k: event[k] for k in ("id", "type", "data", "timestamp", "subject", "object")})


def utf8_size(text: str) -> int:
    """Bytes of `text` in UTF-8; ASCII text (`isascii` reads a flag) is not copied to count."""
    return len(text) if text.isascii() else len(text.encode())


class _Segment:
    """A segment being filled: its seq and its events as JSON texts."""

    def __init__(self, seq: int, texts: list[str], events: list[dict[str, Any]]) -> None:
        self.seq = seq
        self.texts = texts
        self.ids = [str(e["id"]) for e in events]
        self.times = [int(e["timestamp"]) for e in events]
        self.bytes = 2 + sum(utf8_size(t) + 1 for t in texts)

    def fits(self, size: int, max_events: int, max_bytes: int) -> bool:
        """Does an event of `size` bytes (`utf8_size` of its text) fit?"""
        return not self.texts or (len(self.texts) < max_events and self.bytes + size + 1 <= max_bytes)

    def add(self, text: str, size: int, event: dict[str, Any]) -> None:
        self.texts.append(text)
        self.ids.append(str(event["id"]))
        self.times.append(int(event["timestamp"]))
        self.bytes += size + 1

    def write(self, sql: Sql, sealed: bool) -> None:
        sql.run(
            _UPSERT,
            self.seq,
            min(self.ids),
            max(self.ids),
            min(self.times),
            max(self.times),
            len(self.texts),
            self.bytes,
            1 if sealed else 0,
            "[" + ",".join(self.texts) + "]",
        )


class EventSegments:
    """The segment table over `sql`: `append` packs events into the open segment (one row
    written a call, one more for each segment it seals), `find` reads one by id.
    `max_events` / `max_bytes` seal a segment (SEGMENT_EVENTS, SEGMENT_BYTES)."""

    def __init__(self, sql: Sql, max_events: int = SEGMENT_EVENTS, max_bytes: int = SEGMENT_BYTES) -> None:
        """Reads the open segment (if any) and the last seq."""
        self._sql = sql
        self.max_events = max_events
        self.max_bytes = max_bytes
        self.reload()

    def reload(self) -> None:
        """Read the open segment and the last seq again (after a rolled-back checkpoint)."""
        top = self._sql.first("SELECT max(seq) AS seq FROM dotdo_event_segments")
        self.last_seq = int(top["seq"]) if top and top["seq"] is not None else 0
        self._open: _Segment | None = None
        row = self._sql.first(
            "SELECT seq, events FROM dotdo_event_segments WHERE seq = ? AND sealed = 0", self.last_seq
        )
        if row is not None:
            events = json.loads(str(row["events"]))
            self._open = _Segment(int(row["seq"]), [event_json(e) for e in events], events)

    def append(self, events: Iterable[dict[str, Any]]) -> int:
        """Pack `events` (oldest first, as the log holds them) into segments inside the
        caller's transaction; returns the segment rows written."""
        written = 0
        segment = self._open
        changed = False
        for event in events:
            text = event_json(event)
            size = utf8_size(text)
            if segment is None or not segment.fits(size, self.max_events, self.max_bytes):
                if segment is not None:  # seal it: its row is rewritten once, with the flag
                    segment.write(self._sql, sealed=True)
                    written += 1
                self.last_seq += 1
                segment = _Segment(self.last_seq, [], [])
            segment.add(text, size, event)
            changed = True
        if changed and segment is not None:
            full = len(segment.texts) >= self.max_events
            segment.write(self._sql, sealed=full)
            written += 1
            if full:  # sealed now: the next event opens a new segment without rewriting this one
                segment = None
        self._open = segment
        return written

    def find(self, event_id: str) -> dict[str, Any] | None:
        """The event `event_id` from the segments, or None."""
        row = self._sql.first(
            "SELECT e.value AS value FROM dotdo_event_segments s, json_each(s.events) e "
            "WHERE s.first_id <= ?1 AND s.last_id >= ?1 AND json_extract(e.value, '$.id') = ?1",
            event_id,
        )
        return None if row is None else dict(json.loads(str(row["value"])))

    def stats(self) -> dict[str, Any]:
        """`{"segments", "open_events"}`: segments written and events in the open one."""
        return {"segments": self.last_seq, "open_events": len(self._open.texts) if self._open else 0}


def events_into_segments(sql: Sql) -> None:
    """A migration step: move the rows of an `events` table into sealed segments, in id
    order, then put the `events` VIEW in its place. Nothing is lost: the rows are copied in
    the migration's transaction before the table is dropped. A database whose `events` is
    the view already is left as it is."""
    sql.run(SEGMENTS_TABLE)
    found = sql.first("SELECT type FROM sqlite_master WHERE name = 'events'")
    if found is not None and str(found["type"]) == "table":
        segments = EventSegments(sql)
        after = ""
        while True:
            rows = sql.exec(
                "SELECT id, type, data, timestamp, subject, object FROM events "
                "WHERE id > ? ORDER BY id LIMIT 500",
                after,
            )
            if not rows:
                break
            segments.append(
                {
                    "id": str(r["id"]),
                    "type": str(r["type"]),
                    "data": str(r["data"]),
                    "timestamp": int(r["timestamp"]),
                    "subject": r["subject"],
                    "object": r["object"],
                }
                for r in rows
            )
            after = str(rows[-1]["id"])
        if segments.last_seq:
            sql.run("UPDATE dotdo_event_segments SET sealed = 1 WHERE seq = ?", segments.last_seq)
        sql.run("DROP TABLE events")
    sql.run(EVENTS_VIEW)


class PendingEvents:
    """Events logged and not in a segment yet, oldest first (`items`), and the bytes they
    are counted for in L0's bounds (`bytes`)."""

    def __init__(self) -> None:
        """None yet."""
        self.items: list[dict[str, Any]] = []
        self.bytes = 0

    def __bool__(self) -> bool:
        return bool(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def add(self, events: list[dict[str, Any]]) -> None:
        """Events just logged, after the others."""
        self.items.extend(events)
        self.bytes += sum(len(str(e["data"])) + 64 for e in events)

    def drop(self, events: list[dict[str, Any]]) -> None:
        """Forget these events (these objects: their log row rolled back)."""
        gone = {id(e) for e in events}
        self.reset([e for e in self.items if id(e) not in gone])

    def reset(self, items: list[dict[str, Any]]) -> None:
        """Hold exactly `items`."""
        self.items = items
        self.bytes = sum(len(str(e["data"])) + 64 for e in items)
