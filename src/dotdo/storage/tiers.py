"""`TieredThingStore`: the `ThingStore` of DOStorage (ADR 0019).

- L0 (`l0.py`): every thing read or written is kept in memory, the clean ones bounded (least
  recently used out first), the dirty ones (not yet in `things`) until a checkpoint.
- L1: the writes of one transaction (`atomically`, one thing operation or a batch) and
  the events it records are one row of the write-ahead log (`log.py`), so nothing is
  acknowledged before it is durable.
- L2: a checkpoint writes each dirty thing into `things` once, however often it changed,
  and the events logged since the last one into the open event segment (`segments.py`,
  one row for all of them), then moves the log's mark. It runs when the oldest dirty
  write is `checkpoint_delay_ms` old (a timer source), when the dirty set or the log
  passes a bound, and on demand (`flush`).
- Queries lay the queried type's dirty things over `things` and write nothing (`queries.py`)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, TypeVar

from dotdo.core import faults
from dotdo.core.logs import Log
from dotdo.core.sql import Sql
from dotdo.semantic.store import QueriesBelow, SqliteThingStore, ThingRecord
from dotdo.storage.cache import ABSENT
from dotdo.storage.checkpoint import write_things
from dotdo.storage.commit import RELAXED, CallLater, GroupCommit, in_request
from dotdo.storage.l0 import L0
from dotdo.storage.log import WriteAheadLog, entry_record, thing_entry
from dotdo.storage.options import TierOptions
from dotdo.storage.queries import TierQueries
from dotdo.storage.segments import EventSegments, PendingEvents
from dotdo.storage.turns import ReadsFirst, Turn

if TYPE_CHECKING:  # the query model loads with the first list or count (ADR 0036)
    pass

__all__ = ["TierOptions", "TieredThingStore"]

T = TypeVar("T")
logger = logging.getLogger("dotdo.storage")


class TieredThingStore(QueriesBelow):
    """Things in L0, L1 and L2 over the object's SQLite (see the module docstring).

    `clock` gives epoch ms (the timer service's `now`); `on_wake_changed` is called when
    the time of the next checkpoint moves (the owner re-arms the alarm); `call_later` runs
    the commit delay's timer (default: the event loop's); `log` takes its lines
    (`dotdo.storage`; DOStorage gives its object's `ObjectLog`: `[acme] ...`). Construction
    replays the log rows above the mark into L0, so they are dirty again. Queries read
    `things` with L0's dirty things as an overlay (`queries.py`).
    """

    _inner: SqliteThingStore

    def __init__(
        self,
        sql: Sql,
        clock: Callable[[], int],
        options: TierOptions | None = None,
        on_wake_changed: Callable[[], None] = lambda: None,
        call_later: CallLater | None = None,
        log: Log = logger,
    ) -> None:
        """Tiers over `sql`, the rest as the class docstring says."""
        self.options = options or TierOptions()
        self._log = log
        self._sql = sql
        self._clock = clock
        self._on_wake_changed = on_wake_changed
        self.log = WriteAheadLog(sql, self.options.log_slots, self.options.max_row_bytes)
        self.segments = EventSegments(sql, self.options.segment_events, self.options.segment_bytes)
        self._events = PendingEvents()  # logged, not yet in a segment
        self.l0 = L0(self.options.cache_size, self.options.cache_bytes, lambda: sql.in_transaction)
        self.queries = TierQueries(
            lambda: self.l0.dirty, self.l0.cache, self.flush, self.options.overlay_bytes
        )
        self._inner = SqliteThingStore(sql, self.queries)  # its queries read L0's dirty things too
        self._dirty_since: int | None = None
        self._turn: Turn | None = None
        self._groups = GroupCommit(  # `commit.py`
            sql,
            self._events.add,
            self._events.drop,
            self.commit_group,
            lambda: self.log.last_seq,
            self.options.commit_delay_ms,
            call_later,
        )
        self._reads_first = ReadsFirst(sql)  # `turns.py`
        self.checkpoints = 0
        self.checkpoint_rows = 0
        self.last_checkpoint_at: int | None = None
        self.replayed_rows = 0
        self._replay()

    # -- L0 ------------------------------------------------------------------

    def read(self, thing_id: str, keep_absent: bool = True) -> ThingRecord | None:
        """The thing by id (None: absent): from L0, else from `things`, then held (None if `keep_absent`)."""
        record: ThingRecord | None = self.l0.get(thing_id)
        if record is ABSENT:
            record = self._inner.read(thing_id)
            if record is not None or keep_absent:
                self.l0.keep(thing_id, record)
        return record

    def read_many(self, ids: Sequence[str]) -> dict[str, ThingRecord | None]:
        """`read` of each id; those L0 does not hold from `things` in a few statements."""
        return self.l0.read_through(ids, self._inner.read_many)

    def data_bytes(self, ids: Sequence[str]) -> dict[str, int]:
        """As `SqliteThingStore.data_bytes`: L0's from memory, the rest from `things`."""
        return self.l0.data_bytes(ids, self._inner.data_bytes)

    def _set(self, thing_id: str, type_name: str, record: ThingRecord | None) -> None:
        turn = self._turn
        if turn is None:  # every write runs in a turn; `atomically` opens one around it
            raise RuntimeError("a tiered store writes only inside atomically()")
        self.l0.write(thing_id, type_name, record, turn.l0)
        turn.entries.pop(thing_id, None)  # re-inserted last: entries keep the order of last writes
        turn.entries[thing_id] = thing_entry(thing_id, type_name, record)

    def insert(self, record: ThingRecord) -> bool:
        """Add a new thing to L0 (dirty) and the log (a row a transaction); False when its id is taken."""

        def work() -> bool:
            # A free id is not held as absent first: the write holds the thing there at once.
            if self.read(record.id, keep_absent=False) is not None:
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
        """Add one event (`EventLog.new_event`'s shape) to the running transaction, or to one of
        its own: logged in that transaction's row, in a segment from the next full checkpoint."""

        def work() -> None:
            assert self._turn is not None
            self._turn.events.append(event)

        self.atomically(work)

    def pending_events(self) -> list[dict[str, Any]]:
        """Events not in a segment yet, oldest first: logged ones, then the running
        transaction's (which its own reads see, as on the direct path)."""
        running = self._turn.events if self._turn is not None else []
        return self._events.items + self._groups.open.events + running

    # -- L1: transactions and the log ------------------------------------------

    def atomically(self, work: Callable[[], T]) -> T:
        """Run `work` in one SQLite transaction whose thing writes and events become one log
        row (more only past `max_row_bytes`), appended in that transaction, or held in the
        group (`commit.py`) when the transaction wrote nothing else; a rollback (of it or of
        an enclosing transaction) puts L0 back as it was. `Rerunnable` work is tried
        without a SQL transaction first where that may do (`ReadsFirst`, ADR 0034)."""
        if self._turn is not None:  # joins it, as `_atomically` would (ADR 0038)
            return work()
        held = not self._sql.in_transaction and (self.options.durability == RELAXED or in_request())
        return self._reads_first.run(work, held, self._atomically)

    def _atomically(
        self, work: Callable[[], T], transaction: Callable[[Callable[[], T]], T], held: bool
    ) -> T:
        """`atomically`, the SQL transaction run by `transaction` (`Sql.transaction`, or
        `Sql.reads_only`); `held` is `atomically`'s: writes alone may wait in the group."""
        if self._turn is not None:
            return work()
        self._groups.settle()
        turn = Turn(l0=self.l0.begin(), dirty_since=self._dirty_since)
        owned = not self._sql.in_transaction
        log_state = (self.log.last_seq, self.log.pending_bytes, self.log.rows_appended)

        def rollback() -> None:
            self._undo(turn, log_state)

        def run() -> T:
            self._sql.on_rollback(rollback)
            before = self._sql.rows_written
            result = work()
            if turn.entries or turn.events:
                alone = owned and self._sql.rows_written == before and turn.checkpointed_before is None
                if alone and held:
                    turn.deferred = True
                else:
                    self._append([*turn.entries.values(), *({"ev": e} for e in turn.events)])
            return result

        self._turn = turn
        try:
            result = transaction(run)
        finally:
            self._turn = None
        if turn.entries or turn.events:
            if turn.deferred:
                self._defer(turn)
            else:
                self._add_events(turn.events, turn)
                # Durable now; the caller acknowledges when this returns.
                faults.reach_now(faults.STORAGE_LOGGED, str(self.log.last_seq))
                self._groups.settle()
            if self._dirty_since is None:
                self._dirty_since = self._clock()
                self._on_wake_changed()
            self.l0.evict()
            if self._over_bounds():
                self.flush()
        return result

    def _append(self, entries: list[dict[str, Any]], packed: list[str] | None = None) -> None:
        """Inside a transaction: log the open group's writes, then `entries`, in one row (more
        past `max_row_bytes`; `packed`: those rows, packed already), checkpointing first if
        the ring has no room."""
        taken = self._groups.take()
        if packed is None:
            packed = self.log.pack([*taken.log_entries(), *entries] if taken else entries)
        if len(packed) > self.log.room():
            self._checkpoint(None)
        self.log.append(packed)

    def _defer(self, turn: Turn) -> None:
        """Hold a committed transaction's writes in the group until a row logs them."""
        self._groups.open.add(turn.entries, turn.events, self._clock())
        if self.options.durability == RELAXED:
            if self._groups.open.writes >= self.options.relaxed_max_writes:
                self.commit_group()
            elif self._groups.open.writes == 1:
                self._on_wake_changed()
        else:
            # Logged when the code now running awaits, or (with other requests in the
            # object) once they all wait for it or the commit delay runs out.
            self._groups.schedule()

    def commit_group(self) -> None:
        """Log the open group as one row now and wake its waiters (with the error, if the
        row could not be written: nothing of it was acknowledged)."""
        self._groups.settle()
        if not self._groups.open:
            return
        group = self._groups.open
        bodies = self.log.pack(group.log_entries())
        try:
            if len(bodies) == 1 and self.log.room() >= 1 and self._turn is None:
                # Nearly always: one INSERT, no `transactionSync` nor turn (ADRs 0034, 0038).
                self.log.append_alone(bodies[0], self._groups.take)
            else:
                # A turn of its own: if `_append` checkpoints (the ring is full) and the row
                # then fails, the checkpointed things are dirty again, as in any rolled-back turn.
                self.atomically(lambda: self._append([]))
        except Exception as error:  # the group is back in place (rollback): a later commit retries
            self._log.exception("group commit failed")
            group.release(error)
            return
        self._groups.settle()

    def serving(self) -> AbstractContextManager[None]:
        """A request in the object, start to answer (`DOStorage.fetch`; it awaits `durable()`
        before it answers): a sibling a group's commit may wait for (ADR 0029)."""
        return self._groups.serving()

    def durable(self) -> Coroutine[Any, Any, None]:
        """Awaited: return once every write made so far is in the log (a strict request's
        last await); raises the error of the group's row if it could not be written."""
        return self._groups.wait()  # not a coroutine of its own: one frame less a request

    def _add_events(self, events: list[dict[str, Any]], turn: Turn | None = None) -> None:
        self._events.add(events)
        if turn is not None and self._sql.in_transaction:
            # Logged in a transaction that is still open: gone again if that one rolls back.
            self._sql.on_rollback(lambda: self._events.drop(events))

    def _undo(self, turn: Turn, log_state: tuple[int, int, int]) -> None:
        if turn.events_before is not None:
            # A checkpoint inside the transaction moved events into segments: they went back.
            self._events.reset(turn.events_before)
            self.segments.reload()
        if turn.checkpointed_before is not None:
            self.log.checkpointed = turn.checkpointed_before
        self.l0.undo(turn.l0)
        self.log.undo(*log_state)
        if self._dirty_since != turn.dirty_since:
            # Set by writes now gone, or cleared by a checkpoint whose things are dirty again.
            self._dirty_since = turn.dirty_since
            self._on_wake_changed()

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
                self.l0.replayed(str(entry["id"]), str(entry["t"]), entry_record(entry))
        self.replayed_rows = len(rows)
        if self.l0.dirty or self._events:
            # Due at once: the log does not say when these were written, and counted from each
            # start, the delay of an object evicted sooner (at every alarm) would never run out.
            self._dirty_since = self._clock() - self.options.checkpoint_delay_ms
            # debug: every wake of an object with unflushed rows says it (a dev server's whole log)
            self._log.debug("replayed %d log rows: %d things to checkpoint", len(rows), len(self.l0.dirty))

    # -- L2: checkpoints -------------------------------------------------------

    def _over_bounds(self) -> bool:
        return (
            len(self.l0.dirty) > self.options.max_dirty
            or self.l0.dirty_bytes + self._events.bytes > self.options.max_dirty_bytes
            or self.log.room() < self.log.slots // 4
        )

    def flush(self, type_name: str | None = None) -> int:
        """Checkpoint the dirty things (of `type_name` only, if given) into `things`; returns
        the rows written. A full flush also moves the log's mark past every row. Inside an
        enclosing transaction that later rolls back, the things are dirty again (a turn of
        `atomically` remembers what to put back)."""
        if type_name is None and (
            self._events or self._groups.open or self.log.pending_rows or self.l0.dirty
        ):
            written = self.atomically(lambda: self._checkpoint(None))
        elif type_name is not None and any(type_name in types for types in self.l0.dirty.values()):
            written = self.atomically(lambda: self._checkpoint(type_name))
        else:
            return 0
        self._groups.settle()
        return written

    def _checkpoint(self, type_name: str | None) -> int:
        """Inside a transaction: write the dirty things into `things`, then move the mark."""
        turn = self._turn
        if turn is not None and turn.checkpointed_before is None:
            self.l0.checkpointing(turn.l0)
            turn.checkpointed_before = self.log.checkpointed
            turn.events_before = list(self._events.items)
        before = self._sql.rows_written
        if type_name is None:
            self._groups.take()  # its things are dirty, its events go to the segment: all in `things`
        elif self._groups.open:
            # Writes of the group reach `things` now: log them first, so none is there without
            # its event and its transaction's other writes.
            taken = self._groups.take()
            bodies = self.log.pack(taken.log_entries() if taken else [])
            if len(bodies) > self.log.room():
                type_name = None
            else:
                self.log.append(bodies)
        ids = self.l0.dirty_ids(type_name)
        write_things(self._sql, ids, self.l0.cache.peek)  # the fault point after each thing
        if type_name is None and self._events:
            # Only logged events: the running transaction's are not in the log yet.
            self.segments.append(self._events.items)
            self._events.reset([])
        faults.reach_now(faults.STORAGE_CHECKPOINTED, str(len(ids)))
        if type_name is None:
            self.log.mark(self.log.last_seq)
        self.l0.clean(ids)
        if not self.l0.dirty and not self._events:
            self.l0.dirty_bytes = 0
            if self._dirty_since is not None:
                self._dirty_since = None
                self._on_wake_changed()
        written = self._sql.rows_written - before
        self.checkpoints += 1
        self.checkpoint_rows += written
        self.last_checkpoint_at = self._clock()
        self.l0.evict()
        return written

    # -- the timer source --------------------------------------------------------

    def next_wake(self) -> int | None:
        """When the oldest dirty write is due for its checkpoint (epoch ms), or None."""
        wakes = []
        if self._dirty_since is not None:
            wakes.append(self._dirty_since + self.options.checkpoint_delay_ms)
        if self._groups.open.first_at is not None and self.options.durability == RELAXED:
            wakes.append(self._groups.open.first_at + self.options.relaxed_flush_ms)
        return min(wakes, default=None)

    async def run_due(self, now: int) -> int:
        """Checkpoint everything if the oldest dirty write is due at `now`; 1 if it ran."""
        wake = self.next_wake()
        if wake is None or wake > now:
            return 0
        if self._dirty_since is not None and self._dirty_since + self.options.checkpoint_delay_ms <= now:
            self.flush()
        else:
            self.commit_group()  # relaxed: the oldest unlogged write is due
        return 1

    # -- figures -----------------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        """The tiers' figures: L0's (`L0.stats`); L1 rows and bytes pending, the group
        commit's (`GroupCommit.stats`), `reruns` (`ReadsFirst`); L2 checkpoints, rows they
        wrote, the last one's time; queries."""
        log = self.log
        l1 = dict(rows_pending=log.pending_rows, bytes_pending=log.pending_bytes, slots=log.slots)
        l1.update(rows_appended=log.rows_appended, events_pending=len(self._events))
        l1.update(self._groups.stats(), replayed_rows=self.replayed_rows, reruns=self._reads_first.reruns)
        l2 = dict(checkpoints=self.checkpoints, rows_written=self.checkpoint_rows, **self.segments.stats())
        l2.update(self.queries.stats())
        l2.update(last_checkpoint_at=self.last_checkpoint_at, next_checkpoint_at=self.next_wake())
        return {"l0": self.l0.stats(), "l1": l1, "l2": l2}
