"""`TieredThingStore`: the `ThingStore` of DOStorage (ADR 0019).

- L0: every thing read or written is kept in memory; the clean ones are bounded by count
  and bytes (least recently used first out), the dirty ones (written, not yet in
  `things`) stay until a checkpoint.
- L1: the writes of one transaction (`atomically`, one thing operation or a batch) and
  the events it records are one row of the write-ahead log (`log.py`), so nothing is
  acknowledged before it is durable.
- L2: a checkpoint writes each dirty thing into `things` once, however often it changed,
  and the events logged since the last one into the open event segment (`segments.py`,
  one row for all of them), then moves the log's mark. It runs when the oldest dirty
  write is `checkpoint_delay_ms` old (a timer source), when the dirty set or the log passes a bound, on demand
  (`flush`), and before a query reads `things` (flush-before-query, for the dirty things
  of the queried type only).
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

from dotdo.core import faults
from dotdo.core.sql import Sql
from dotdo.semantic.query import ThingQuery
from dotdo.semantic.store import SqliteThingStore, ThingRecord
from dotdo.storage.log import WriteAheadLog, entry_record, thing_entry
from dotdo.storage.options import TierOptions
from dotdo.storage.segments import EventSegments

__all__ = ["TierOptions", "TieredThingStore"]

T = TypeVar("T")
logger = logging.getLogger("dotdo.storage")

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
_ABSENT: Any = object()


@dataclass
class _Turn:
    """One outermost transaction: its log entries (one per thing, the last state wins) and
    what L0 held before it, to put back if it rolls back."""

    entries: dict[str, dict[str, Any]] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)
    undo: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    dirty_before: dict[str, set[str]] | None = None
    checkpointed_before: int | None = None
    events_before: list[dict[str, Any]] | None = None


def _size(record: ThingRecord | None) -> int:
    return 0 if record is None else len(record.data) + len(record.id) + 64


class TieredThingStore:
    """Things in L0, L1 and L2 over the object's SQLite (see the module docstring).

    `clock` gives epoch ms (the timer service's `now`); `on_wake_changed` is called when
    the time of the next checkpoint moves (the owner re-arms the alarm). Construction
    replays the log rows above the mark into L0, so they are dirty again.
    """

    def __init__(
        self,
        sql: Sql,
        clock: Callable[[], int],
        options: TierOptions | None = None,
        on_wake_changed: Callable[[], None] = lambda: None,
    ) -> None:
        """Tiers over `sql` (epoch-ms `clock`, `options` or the defaults, `on_wake_changed`
        as in the class docstring); replays the log rows above the mark into L0."""
        self.options = options or TierOptions()
        self._sql = sql
        self._inner = SqliteThingStore(sql)
        self._clock = clock
        self._on_wake_changed = on_wake_changed
        self.log = WriteAheadLog(sql, self.options.log_slots, self.options.max_row_bytes)
        self.segments = EventSegments(sql, self.options.segment_events, self.options.segment_bytes)
        self._events: list[dict[str, Any]] = []  # logged, not yet in a segment, oldest first
        self._events_bytes = 0
        self._cache: OrderedDict[str, ThingRecord | None] = OrderedDict()
        self._cache_bytes = 0
        self._dirty: dict[str, set[str]] = {}
        self._dirty_bytes = 0
        self._dirty_since: int | None = None
        self._turn: _Turn | None = None
        self.hits = 0
        self.misses = 0
        self.checkpoints = 0
        self.checkpoint_rows = 0
        self.last_checkpoint_at: int | None = None
        self.replayed_rows = 0
        self._replay()

    # -- L0 ------------------------------------------------------------------

    def _put(self, thing_id: str, record: ThingRecord | None) -> None:
        old = self._cache.pop(thing_id, _ABSENT)
        if old is not _ABSENT:
            self._cache_bytes -= _size(old)
        self._cache[thing_id] = record
        self._cache_bytes += _size(record)

    def _evict(self) -> None:
        """Drop clean things, oldest first, until L0's clean part fits its bounds."""
        clean = len(self._cache) - len(self._dirty)
        if clean <= self.options.cache_size and self._cache_bytes <= self.options.cache_bytes:
            return
        for thing_id in list(self._cache):
            if clean <= self.options.cache_size and self._cache_bytes <= self.options.cache_bytes:
                break
            if thing_id in self._dirty:
                continue
            self._cache_bytes -= _size(self._cache.pop(thing_id))
            clean -= 1

    def read(self, thing_id: str) -> ThingRecord | None:
        """The thing by id: from L0 when held there (no SQLite read), else from `things` (then kept in L0);
        None when absent."""
        if thing_id in self._cache:
            self.hits += 1
            self._cache.move_to_end(thing_id)
            return self._cache[thing_id]
        self.misses += 1
        record = self._inner.read(thing_id)
        self._put(thing_id, record)
        self._evict()
        return record

    def _set(self, thing_id: str, type_name: str, record: ThingRecord | None) -> None:
        turn = self._turn
        if turn is None:  # every write runs in a turn; `atomically` opens one around it
            raise RuntimeError("a tiered store writes only inside atomically()")
        if thing_id not in turn.undo:
            before = self._dirty.get(thing_id)
            turn.undo[thing_id] = (
                self._cache.get(thing_id, _ABSENT),
                _ABSENT if before is None else set(before),
            )
        self._put(thing_id, record)
        self._dirty.setdefault(thing_id, set()).add(type_name)
        self._dirty_bytes += _size(record)
        turn.entries.pop(thing_id, None)  # re-inserted last: entries keep the order of last writes
        turn.entries[thing_id] = thing_entry(thing_id, type_name, record)

    def insert(self, record: ThingRecord) -> bool:
        """Add a new thing to L0 as dirty and to the log (one row per transaction); False when the id is
        taken."""

        def work() -> bool:
            if self.read(record.id) is not None:
                return False
            self._set(record.id, record.type, record)
            return True

        return self.atomically(work)

    def write(self, record: ThingRecord, expected_version: int) -> bool:
        """Replace a thing at `expected_version` in L0 (dirty) and the log; False when its version moved."""

        def work() -> bool:
            current = self.read(record.id)
            if current is None or current.version != expected_version:
                return False
            self._set(record.id, record.type, record)
            return True

        return self.atomically(work)

    def remove(self, thing_id: str) -> bool:
        """Delete a thing for good: from L0, the log and (at the checkpoint) `things`; False when absent."""

        def work() -> bool:
            current = self.read(thing_id)
            if current is None:
                return False
            self._set(thing_id, current.type, None)
            return True

        return self.atomically(work)

    # -- events ----------------------------------------------------------------

    @property
    def sql(self) -> Sql:
        """The object's SQL facade the tiers write through."""
        return self._sql

    def record_event(self, event: dict[str, Any]) -> None:
        """Add one event (`EventLog.new_event`'s shape) to the transaction now running, or to
        a transaction of its own: it is logged in that transaction's log row and reaches a
        segment at the next full checkpoint."""

        def work() -> None:
            assert self._turn is not None
            self._turn.events.append(event)

        self.atomically(work)

    def pending_events(self) -> list[dict[str, Any]]:
        """Events not in a segment yet, oldest first: logged ones, then the running
        transaction's (which its own reads see, as on the direct path)."""
        return self._events + (self._turn.events if self._turn is not None else [])

    # -- queries: flush-before-query -------------------------------------------

    def scan(self, type_name: str, query: ThingQuery) -> Iterator[ThingRecord]:
        """Every match of `query` among `type_name`'s things, after checkpointing that type's dirty things."""
        self.flush(type_name)
        return self._inner.scan(type_name, query)

    def page(self, type_name: str, query: ThingQuery) -> list[ThingRecord]:
        """One page of matches, after checkpointing that type's dirty things."""
        self.flush(type_name)
        return self._inner.page(type_name, query)

    def count(self, type_name: str, query: ThingQuery) -> int:
        """How many things match, after checkpointing that type's dirty things."""
        self.flush(type_name)
        return self._inner.count(type_name, query)

    # -- L1: transactions and the log ------------------------------------------

    def atomically(self, work: Callable[[], T]) -> T:
        """Run `work` in one SQLite transaction whose thing writes become one log row (more
        only past `max_row_bytes`), appended in that transaction; a rollback (of it or of
        an enclosing transaction) puts L0 back as it was."""
        if self._turn is not None:
            return work()
        turn = _Turn()
        log_state = (self.log.last_seq, self.log.pending_bytes, self.log.rows_appended)

        def rollback() -> None:
            self._undo(turn, log_state)

        def run() -> T:
            self._sql.on_rollback(rollback)
            result = work()
            if turn.entries or turn.events:
                entries = [*turn.entries.values(), *({"ev": e} for e in turn.events)]
                bodies = self.log.pack(entries)
                if len(bodies) > self.log.room():
                    self._checkpoint(None)
                self.log.append(bodies)
            return result

        self._turn = turn
        try:
            result = self._sql.transaction(run)
        finally:
            self._turn = None
        if turn.entries or turn.events:
            self._add_events(turn.events)
            # Durable now; the caller acknowledges when this returns.
            faults.reach_now(faults.STORAGE_LOGGED, str(self.log.last_seq))
            if self._dirty_since is None:
                self._dirty_since = self._clock()
                self._on_wake_changed()
            self._evict()
            if self._over_bounds():
                self.flush()
        return result

    def _add_events(self, events: list[dict[str, Any]]) -> None:
        self._events.extend(events)
        self._events_bytes += sum(len(str(e["data"])) + 64 for e in events)

    def _undo(self, turn: _Turn, log_state: tuple[int, int, int]) -> None:
        if turn.events_before is not None:
            # A checkpoint inside the transaction moved events into segments: they went back.
            self._events = turn.events_before
            self._events_bytes = sum(len(str(e["data"])) + 64 for e in self._events)
            self.segments.reload()
        if turn.dirty_before is not None:
            self._dirty = turn.dirty_before
            # The checkpoint's writes to `things` rolled back too: what L0 read from them
            # may be gone, so only dirty things (true in the log) stay.
            for thing_id in [i for i in self._cache if i not in self._dirty]:
                self._cache_bytes -= _size(self._cache.pop(thing_id))
        if turn.checkpointed_before is not None:
            self.log.checkpointed = turn.checkpointed_before
        for thing_id, (cached, dirty) in turn.undo.items():
            if cached is _ABSENT:
                old = self._cache.pop(thing_id, _ABSENT)
                if old is not _ABSENT:
                    self._cache_bytes -= _size(old)
            else:
                self._put(thing_id, cached)
            if dirty is _ABSENT:
                self._dirty.pop(thing_id, None)
            else:
                self._dirty[thing_id] = dirty
        self.log.undo(*log_state)

    def on_rollback(self, hook: Callable[[], None]) -> None:
        """Call `hook` if the transaction now running rolls back (the SQL facade's rule)."""
        self._sql.on_rollback(hook)

    def _replay(self) -> None:
        rows = self.log.replay()
        for row in rows:
            for entry in row.entries:
                if "ev" in entry:
                    self._add_events([entry["ev"]])
                    continue
                record = entry_record(entry)
                self._put(str(entry["id"]), record)
                self._dirty.setdefault(str(entry["id"]), set()).add(str(entry["t"]))
                self._dirty_bytes += _size(record)
        self.replayed_rows = len(rows)
        if self._dirty or self._events:
            self._dirty_since = self._clock()
            logger.info("replayed %d log rows: %d things to checkpoint", len(rows), len(self._dirty))

    # -- L2: checkpoints -------------------------------------------------------

    def _over_bounds(self) -> bool:
        return (
            len(self._dirty) > self.options.max_dirty
            or self._dirty_bytes + self._events_bytes > self.options.max_dirty_bytes
            or self.log.room() < self.log.slots // 4
        )

    def flush(self, type_name: str | None = None) -> int:
        """Checkpoint the dirty things (of `type_name` only, if given) into `things`; returns
        the rows written. A full flush also moves the log's mark past every row."""
        if type_name is None and self._events:
            return self._sql.transaction(lambda: self._checkpoint(None))
        if not self._dirty:
            if type_name is None and self.log.pending_rows:
                return self._sql.transaction(lambda: self._checkpoint(None))
            return 0
        if type_name is not None and not any(type_name in types for types in self._dirty.values()):
            return 0
        return self._sql.transaction(lambda: self._checkpoint(type_name))

    def _checkpoint(self, type_name: str | None) -> int:
        """Inside a transaction: write the dirty things into `things`, then move the mark."""
        turn = self._turn
        if turn is not None and turn.dirty_before is None:
            turn.dirty_before = {i: set(t) for i, t in self._dirty.items()}
            turn.checkpointed_before = self.log.checkpointed
            turn.events_before = list(self._events)
        before = self._sql.rows_written
        ids = [i for i, types in self._dirty.items() if type_name is None or type_name in types]
        for thing_id in ids:
            record = self._cache[thing_id]
            if record is None:
                self._sql.run("DELETE FROM things WHERE id = ?", thing_id)
            else:
                # `type` is matched, not assigned (an assigned column's indexes are rewritten and
                # billed, changed or not); only a new or re-typed thing takes the upsert.
                values = (record.data, record.created_at, record.updated_at, record.deleted_at)
                if not self._sql.run(_SAME_TYPE_UPDATE, *values, record.version, record.id, record.type):
                    self._sql.run(_UPSERT, record.id, record.type, *values, record.version)
            faults.reach_now(faults.STORAGE_IN_CHECKPOINT, thing_id)
        if type_name is None and self._events:
            # Only logged events: the running transaction's are not in the log yet.
            self.segments.append(self._events)
            self._events, self._events_bytes = [], 0
        faults.reach_now(faults.STORAGE_CHECKPOINTED, str(len(ids)))
        if type_name is None:
            self.log.mark(self.log.last_seq)
        for thing_id in ids:
            del self._dirty[thing_id]
        if not self._dirty and not self._events:
            self._dirty_bytes = 0
            if self._dirty_since is not None:
                self._dirty_since = None
                self._on_wake_changed()
        written = self._sql.rows_written - before
        self.checkpoints += 1
        self.checkpoint_rows += written
        self.last_checkpoint_at = self._clock()
        self._evict()
        return written

    # -- the timer source --------------------------------------------------------

    def next_wake(self) -> int | None:
        """When the oldest dirty write is due for its checkpoint (epoch ms), or None."""
        if self._dirty_since is None:
            return None
        return self._dirty_since + self.options.checkpoint_delay_ms

    async def run_due(self, now: int) -> int:
        """Checkpoint everything if the oldest dirty write is due at `now`; 1 if it ran."""
        wake = self.next_wake()
        if wake is None or wake > now:
            return 0
        self.flush()
        return 1

    # -- figures -----------------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        """The tiers' figures: L0 hits, misses, things and bytes held, dirty things; L1
        rows and bytes pending; L2 checkpoints, rows they wrote, the last one's time."""
        return {
            "l0": {
                "hits": self.hits,
                "misses": self.misses,
                "things": len(self._cache),
                "bytes": self._cache_bytes,
                "dirty": len(self._dirty),
                "dirty_bytes": self._dirty_bytes,
            },
            "l1": {
                "rows_pending": self.log.pending_rows,
                "bytes_pending": self.log.pending_bytes,
                "rows_appended": self.log.rows_appended,
                "events_pending": len(self._events),
                "replayed_rows": self.replayed_rows,
                "slots": self.log.slots,
            },
            "l2": {
                "checkpoints": self.checkpoints,
                "rows_written": self.checkpoint_rows,
                "last_checkpoint_at": self.last_checkpoint_at,
                "next_checkpoint_at": self.next_wake(),
                **self.segments.stats(),
            },
        }
