"""L0 of `TieredThingStore` (ADR 0019): the things held in memory, which of them are dirty
(written, not yet in `things`), how the clean ones are bounded, and what a transaction
that rolls back puts back."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from dotdo.core.page_bytes import text_bytes
from dotdo.semantic.store import ThingRecord
from dotdo.storage.cache import ABSENT, ThingCache, record_size

__all__ = ["L0", "L0Undo"]


@dataclass
class L0Undo:
    """What one transaction changed in L0 (a turn of `TieredThingStore.atomically`), for
    `L0.undo`: `records` maps each id it wrote to what L0 held before its first write
    there (the record or ABSENT, the thing's dirty types or ABSENT); `dirty_before` is the
    whole dirty set before its first checkpoint (None: it ran none); `dirty_bytes` is
    `L0.dirty_bytes` when it began (`L0.begin`)."""

    records: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    dirty_before: dict[str, set[str]] | None = None
    dirty_bytes: int = 0


class L0:
    """Things in memory: `cache` holds every thing read or written (None: known absent),
    `dirty` maps each thing written since the last checkpoint to the types it had since,
    `dirty_bytes` adds up the `record_size` of every dirty write (the bound
    `max_dirty_bytes` is checked against it), `hits` and `misses` count reads by id.

    Every dirty thing is in `cache`, pinned (L0 holds its only copy until a checkpoint), and
    so is a thing a checkpoint made clean while a transaction is open (`in_transaction()`):
    if it rolls back, the thing is dirty again. The other, clean, ones are dropped least
    recently used first past `max_clean` of them or `max_clean_bytes` (`ThingCache.evict`).
    """

    def __init__(self, max_clean: int, max_clean_bytes: int, in_transaction: Callable[[], bool]) -> None:
        """An empty L0 with its bounds (things, bytes) and the SQL facade's
        `in_transaction` (see the class docstring)."""
        self.cache = ThingCache()
        self.dirty: dict[str, set[str]] = {}
        self.dirty_bytes = 0
        self.hits = 0
        self.misses = 0
        self._max_clean = max_clean
        self._max_clean_bytes = max_clean_bytes
        self._in_transaction = in_transaction
        self._checkpointed: set[str] = set()  # made clean in a transaction still open

    def begin(self) -> L0Undo:
        """What a transaction beginning now fills in as it changes L0, for `undo`."""
        return L0Undo(dirty_bytes=self.dirty_bytes)

    def get(self, thing_id: str) -> Any:
        """The record held for `thing_id` (None: known absent), now the most recently used,
        counted as a hit; ABSENT (a miss) when L0 does not hold it."""
        if thing_id in self.cache:
            self.hits += 1
            return self.cache.use(thing_id)
        self.misses += 1
        return ABSENT

    def keep(self, thing_id: str, record: ThingRecord | None) -> None:
        """Hold `record`, read from `things` after a miss, as clean; evicts."""
        self.cache.put(thing_id, record)
        self.evict()

    def read_through(
        self, ids: Sequence[str], read_many: Callable[[Sequence[str]], dict[str, ThingRecord | None]]
    ) -> dict[str, ThingRecord | None]:
        """`get` of each id (None: absent), the ones L0 does not hold read by one call of
        `read_many` (from `things`) and kept, absent ones too, as `keep` keeps one."""
        held = {thing_id: self.get(thing_id) for thing_id in dict.fromkeys(ids)}
        read = read_many([thing_id for thing_id, record in held.items() if record is ABSENT])
        for thing_id, record in read.items():
            self.cache.put(thing_id, record)
        self.evict()
        return {**held, **read}

    def data_bytes(
        self, ids: Sequence[str], below: Callable[[Sequence[str]], dict[str, int]]
    ) -> dict[str, int]:
        """The UTF-8 bytes of each thing's properties by id (an absent one left out): the
        ones L0 holds from memory (their order of use left alone), the rest by `below`."""
        held = {thing_id: self.cache.peek(thing_id) for thing_id in ids if thing_id in self.cache}
        sizes = below([thing_id for thing_id in ids if thing_id not in held])
        sizes.update((i, text_bytes(r.data)) for i, r in held.items() if r is not None)
        return sizes

    def write(self, thing_id: str, type_name: str, record: ThingRecord | None, undo: L0Undo) -> None:
        """Hold `record` (None: deleted for good) as the dirty state of `thing_id` of type
        `type_name`, remembering in `undo` what L0 held before the transaction's first
        write of it."""
        if thing_id not in undo.records:
            before = self.dirty.get(thing_id)
            undo.records[thing_id] = (self.cache.peek(thing_id), ABSENT if before is None else set(before))
        self.replayed(thing_id, type_name, record)

    def replayed(self, thing_id: str, type_name: str, record: ThingRecord | None) -> None:
        """Hold `record` as dirty with nothing to undo (a log row replayed at start-up)."""
        self.cache.put(thing_id, record, pinned=True)
        self.dirty.setdefault(thing_id, set()).add(type_name)
        self.dirty_bytes += record_size(record)

    def dirty_ids(self, type_name: str | None = None) -> list[str]:
        """The dirty things (those that had `type_name` since the last checkpoint, if given),
        in the order they first became dirty."""
        return [i for i, types in self.dirty.items() if type_name is None or type_name in types]

    def checkpointing(self, undo: L0Undo) -> None:
        """A checkpoint starts in the transaction `undo` belongs to: remember the dirty set
        as it was before the transaction's first one, for `undo`."""
        if undo.dirty_before is None:
            undo.dirty_before = {i: set(t) for i, t in self.dirty.items()}

    def clean(self, ids: list[str]) -> None:
        """Mark `ids` clean: a checkpoint wrote them into `things`."""
        self._checkpointed.update(ids)
        for thing_id in ids:
            del self.dirty[thing_id]

    def evict(self) -> None:
        """Drop clean things, least recently used first, until L0's clean part fits its
        bounds; costs the things it drops (it runs after every write)."""
        # Things a checkpoint made clean stay pinned while a transaction is open: if it
        # rolls back they are dirty again, and L0 holds their only copy.
        if self._checkpointed and not self._in_transaction():
            self.cache.unpin(i for i in self._checkpointed if i not in self.dirty)
            self._checkpointed.clear()
        self.cache.evict(self._max_clean, self._max_clean_bytes)

    def undo(self, undo: L0Undo) -> None:
        """Put L0 back as it was before the transaction `undo` belongs to (it rolled back).

        Transactions joined into one that rolls back are undone last first (`Sql.on_rollback`)."""
        if undo.dirty_before is not None:
            self.dirty = undo.dirty_before
            # The checkpoint's writes to `things` rolled back too: what L0 read from them
            # may be gone, so only dirty things (true in the log) stay, and those an earlier
            # transaction joined into this one checkpointed (its undo, next, makes them dirty).
            for thing_id in [i for i in self.cache if i not in self.dirty and i not in self._checkpointed]:
                self.cache.drop(thing_id)
            for thing_id in self.dirty:  # dirty again: only L0 holds them
                self.cache.pin(thing_id)
        for thing_id, (cached, dirty) in undo.records.items():
            if cached is ABSENT:
                self.cache.drop(thing_id)
            else:
                pinned = dirty is not ABSENT or thing_id in self._checkpointed
                self.cache.put(thing_id, cached, pinned)
            if dirty is ABSENT:
                self.dirty.pop(thing_id, None)
            else:
                self.dirty[thing_id] = dirty
        self.dirty_bytes = undo.dirty_bytes

    def stats(self) -> dict[str, int]:
        """`{"hits", "misses", "things", "bytes", "dirty", "dirty_bytes"}`: reads by id that
        L0 answered or not, things and bytes held, dirty things and their bytes."""
        return dict(
            hits=self.hits,
            misses=self.misses,
            things=len(self.cache),
            bytes=self.cache.bytes,
            dirty=len(self.dirty),
            dirty_bytes=self.dirty_bytes,
        )
