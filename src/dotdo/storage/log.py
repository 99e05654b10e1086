"""L1: the write-ahead log. The writes of one transaction are packed into one log row
(split only past `max_row_bytes`), written in the same SQLite transaction as the rest of
the write, so a write is durable before it is acknowledged at the cost of one row.

The log is a ring of `slots` rows keyed by slot (`seq % slots`), so appending is one
row written and trimming is free: a checkpoint only moves the mark (`dotdo_storage_mark`,
one row) past what it wrote, and the slots behind the mark are overwritten later. A
DELETE per trimmed row would cost a second written row per log row.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from dotdo.core.migrations import Component, Migration
from dotdo.core.sql import Sql
from dotdo.semantic.store import ThingRecord
from dotdo.storage.segments import events_into_segments, utf8_size
from dotdo.values import compact_json

__all__ = [
    "ARCHIVE_TABLES",
    "MAX_ROW_BYTES",
    "STORAGE_TABLES",
    "LogRow",
    "WriteAheadLog",
    "entry_record",
    "thing_entry",
]

MAX_ROW_BYTES = 1_000_000
"""Bytes of one log row's body: half of Cloudflare's 2 MB limit on a string or BLOB
(https://developers.cloudflare.com/durable-objects/platform/limits/), so a row never nears it."""

STORAGE_TABLES = Component(
    "storage",
    (
        Migration(
            1,
            (
                """CREATE TABLE IF NOT EXISTS dotdo_storage_log (
  slot INTEGER PRIMARY KEY,
  seq INTEGER NOT NULL,
  body TEXT NOT NULL
)""",
                """CREATE TABLE IF NOT EXISTS dotdo_storage_mark (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  checkpointed INTEGER NOT NULL
)""",
                "INSERT OR IGNORE INTO dotdo_storage_mark (id, checkpointed) VALUES (1, 0)",
            ),
        ),
        # Events move into packed segments, `events` becomes a view over them (ADR 0023).
        # Runs after the `graph` component made (and perhaps filled) the `events` table.
        Migration(2, (events_into_segments,)),
    ),
)

# L3's index (`archive_format.py`): every object makes it, so it is here and an object
# without an `archive_binding` never loads the archive's modules (ADR 0036).
ARCHIVE_TABLES = Component(
    "archive",
    (
        Migration(
            1,
            (
                # One row a segment, keyed by its first event id: WITHOUT ROWID keeps one
                # b-tree, so adding a segment is one row written (ADR 0020).
                """CREATE TABLE IF NOT EXISTS dotdo_archive_segments (
  first_id TEXT PRIMARY KEY,
  last_id TEXT NOT NULL,
  first_ts INTEGER NOT NULL,
  last_ts INTEGER NOT NULL,
  events INTEGER NOT NULL,
  bytes INTEGER NOT NULL,
  key TEXT NOT NULL,
  archived_at INTEGER NOT NULL
) WITHOUT ROWID""",
            ),
        ),
    ),
)


def thing_entry(thing_id: str, type_name: str, record: ThingRecord | None) -> dict[str, Any]:
    """The log entry of a thing's last state in a transaction: `{"id", "t": type, "r":
    [type, data, created_at, updated_at, deleted_at, version]}`, `"r": null` when it was
    deleted for good. (An event's entry is `{"ev": {...}}`, `EventLog.new_event`'s shape.)"""
    if record is None:
        return {"id": thing_id, "t": type_name, "r": None}
    return {
        "id": thing_id,
        "t": type_name,
        "r": list(record.columns()[1:]),  # the id is the entry's own
    }


def entry_record(entry: dict[str, Any]) -> ThingRecord | None:
    """The thing record a `thing_entry` holds (None: deleted for good)."""
    values = entry["r"]
    if values is None:
        return None
    kind, data, created, updated, deleted, version = values
    return ThingRecord(str(entry["id"]), kind, data, created, updated, deleted, version)


@dataclass(frozen=True)
class LogRow:
    """One log row as replayed: its sequence number and its entries (JSON objects)."""

    seq: int
    entries: list[dict[str, Any]]


class WriteAheadLog:
    """The ring of log rows over `sql`; `seq` numbers rows from 1, and every row with a
    seq above the mark holds writes not yet checkpointed into `things`."""

    def __init__(self, sql: Sql, slots: int = 1024, max_row_bytes: int = MAX_ROW_BYTES) -> None:
        """The ring over `sql` with `slots` rows (at least 2); a row holds at most `max_row_bytes` of writes
        (more are split). Reads the mark and the last seq. ValueError for fewer than 2 slots."""
        if slots < 2:
            raise ValueError("a log ring has at least 2 slots")
        self._sql = sql
        self.slots = slots
        self._max_row_bytes = max_row_bytes
        mark = sql.first("SELECT checkpointed FROM dotdo_storage_mark WHERE id = 1")
        self.checkpointed = int(mark["checkpointed"]) if mark else 0
        last = sql.first("SELECT max(seq) AS seq FROM dotdo_storage_log")
        self.last_seq = max(self.checkpointed, int(last["seq"]) if last and last["seq"] is not None else 0)
        self.pending_bytes = 0
        self.rows_appended = 0

    @property
    def pending_rows(self) -> int:
        """Log rows written and not yet checkpointed."""
        return self.last_seq - self.checkpointed

    def room(self) -> int:
        """Rows that can be appended before the ring would overwrite a pending row."""
        return self.slots - (self.last_seq - self.checkpointed)  # `pending_rows`, asked 3 times a create

    def pack(self, entries: list[dict[str, Any]]) -> list[str]:
        """The bodies of the rows that carry `entries`, in order: as many entries a row as
        fit under `max_row_bytes` (an entry never splits; one larger than that, which the
        thing size limit rules out, gets a row to itself)."""
        # Nearly always they all fit in one row: one encoding of the list is that row's body,
        # the text the entries' own encodings joined in brackets would give.
        whole = compact_json(entries)
        if utf8_size(whole) < self._max_row_bytes or len(entries) < 2:
            return [whole] if entries else []
        bodies: list[str] = []
        chunk: list[str] = []
        size = 2
        for entry in entries:
            text = compact_json(entry)
            length = utf8_size(text) + 1
            if chunk and size + length > self._max_row_bytes:
                bodies.append("[" + ",".join(chunk) + "]")
                chunk, size = [], 2
            chunk.append(text)
            size += length
        if chunk:
            bodies.append("[" + ",".join(chunk) + "]")
        return bodies

    def append(self, bodies: list[str]) -> int:
        """Write packed rows (`pack`); returns the seq of the last. The caller makes room
        first (`room`) and runs this inside the write's transaction."""
        if len(bodies) > self.room():
            raise RuntimeError("the write-ahead log is full: checkpoint before appending")
        for body in bodies:
            self.last_seq += 1
            self._sql.run(
                "INSERT INTO dotdo_storage_log (slot, seq, body) VALUES (?, ?, ?) "
                "ON CONFLICT(slot) DO UPDATE SET seq = excluded.seq, body = excluded.body",
                self.last_seq % self.slots,
                self.last_seq,
                body,
            )
            self.pending_bytes += utf8_size(body)
            self.rows_appended += 1
        return self.last_seq

    def append_alone(self, body: str, first: Callable[[], object]) -> None:
        """Append the one row `body` as a transaction of its own of one statement
        (`Sql.one_statement`, ADR 0034), `first()` run inside it before (the rest of that
        transaction, above SQLite, with its own rollback hooks); the counters are put back
        if it fails. The caller checked `room`."""
        counters = (self.last_seq, self.pending_bytes, self.rows_appended)

        def run() -> None:
            self._sql.on_rollback(lambda: self.undo(*counters))
            first()
            self.append([body])

        self._sql.one_statement(run)

    def undo(self, last_seq: int, pending_bytes: int, rows_appended: int) -> None:
        """Forget appends a rolled-back transaction made (the rows went with it)."""
        self.last_seq, self.pending_bytes, self.rows_appended = last_seq, pending_bytes, rows_appended

    def mark(self, seq: int) -> None:
        """Everything up to `seq` is in `things`: move the mark (one row written)."""
        if seq <= self.checkpointed:
            return
        self._sql.run("UPDATE dotdo_storage_mark SET checkpointed = ? WHERE id = 1", seq)
        self.checkpointed = seq
        if seq >= self.last_seq:
            self.pending_bytes = 0

    def replay(self) -> list[LogRow]:
        """The rows above the mark, oldest first (what start-up applies again)."""
        rows = self._sql.exec(
            "SELECT seq, body FROM dotdo_storage_log WHERE seq > ? ORDER BY seq", self.checkpointed
        )
        replayed = [LogRow(int(r["seq"]), json.loads(str(r["body"]))) for r in rows]
        self.pending_bytes = sum(len(str(r["body"]).encode()) for r in rows)
        return replayed
