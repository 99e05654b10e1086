"""`CachedThingStore`: a bounded LRU of thing records in front of any `ThingStore`, which
drops what a rolled-back transaction wrote."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, TypeVar

from dotdo.core.page_bytes import text_bytes
from dotdo.semantic.store import QueriesBelow, ThingRecord, ThingStore, data_bytes, read_many

if TYPE_CHECKING:
    pass

__all__ = ["CachedThingStore"]

T = TypeVar("T")


class CachedThingStore(QueriesBelow):
    """A bounded LRU of records in front of another store: at most `capacity` records
    holding at most `max_bytes` characters of JSON properties together, so a thousand
    large things (each up to 1 MiB) never sit in an object's 128 MB at once.

    Reads by id are served from memory; every write goes through and updates the
    cache. A write made inside a transaction registers its own eviction with the
    store below, so a rollback, of this store's transaction or of any enclosing
    one, leaves nothing in the cache that SQLite does not hold.

    `inner` is the store behind it; `capacity` how many ids it remembers (at least
    1, else ValueError), an absent id included. `hits` and `misses` count reads.
    """

    def __init__(self, inner: ThingStore, capacity: int = 1024, max_bytes: int = 16 * 1024 * 1024) -> None:
        if capacity < 1:
            raise ValueError("capacity is at least 1")
        self._inner = inner
        self._capacity = capacity
        self._max_bytes = max_bytes
        self._records: OrderedDict[str, ThingRecord | None] = OrderedDict()
        self._bytes = 0
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._records)

    def _remember(self, thing_id: str, record: ThingRecord | None) -> None:
        self._drop(thing_id)
        self._records[thing_id] = record
        self._bytes += _size(record)
        while len(self._records) > self._capacity or (
            self._bytes > self._max_bytes and len(self._records) > 1
        ):
            _, evicted = self._records.popitem(last=False)
            self._bytes -= _size(evicted)

    def _drop(self, thing_id: str) -> None:
        if thing_id in self._records:
            self._bytes -= _size(self._records.pop(thing_id))

    def _forget_on_rollback(self, thing_id: str) -> None:
        def forget() -> None:
            self._drop(thing_id)

        self._inner.on_rollback(forget)

    def read(self, thing_id: str) -> ThingRecord | None:
        """As `ThingStore.read`, from memory when the id was read or written lately."""
        if thing_id in self._records:
            self.hits += 1
            self._records.move_to_end(thing_id)
            return self._records[thing_id]
        self.misses += 1
        record = self._inner.read(thing_id)
        self._remember(thing_id, record)
        return record

    def read_many(self, ids: Sequence[str]) -> dict[str, ThingRecord | None]:
        """`read` of each id: the ones not in memory from the store below together."""
        held = {thing_id: self.read(thing_id) for thing_id in ids if thing_id in self._records}
        missed = [thing_id for thing_id in dict.fromkeys(ids) if thing_id not in held]
        self.misses += len(missed)
        for thing_id, record in (read := read_many(self._inner, missed)).items():
            self._remember(thing_id, record)
        return {**held, **read}

    def data_bytes(self, ids: Sequence[str]) -> dict[str, int]:
        """As `SqliteThingStore.data_bytes`: the held ones' from memory, the rest below."""
        held = {i: self._records[i] for i in ids if i in self._records}
        sizes = data_bytes(self._inner, [i for i in ids if i not in held])
        sizes.update((i, text_bytes(r.data)) for i, r in held.items() if r is not None)
        return sizes

    def insert(self, record: ThingRecord) -> bool:
        """As `ThingStore.insert`; the cache keeps the record once it is written."""
        self._forget_on_rollback(record.id)
        inserted = self._inner.insert(record)
        if inserted:
            self._remember(record.id, record)
        else:
            self._drop(record.id)
        return inserted

    def write(self, record: ThingRecord, expected_version: int) -> bool:
        """As `ThingStore.write`; on a lost race the cached record is dropped, not kept stale."""
        self._forget_on_rollback(record.id)
        written = self._inner.write(record, expected_version)
        if written:
            self._remember(record.id, record)
        else:
            self._drop(record.id)
        return written

    def remove(self, thing_id: str) -> bool:
        """As `ThingStore.remove`; the cache remembers the id as absent."""
        self._forget_on_rollback(thing_id)
        removed = self._inner.remove(thing_id)
        self._remember(thing_id, None)
        return removed

    def atomically(self, work: Callable[[], T]) -> T:
        """As `ThingStore.atomically`, by the store below."""
        return self._inner.atomically(work)

    def on_rollback(self, hook: Callable[[], None]) -> None:
        """As `ThingStore.on_rollback`, by the store below."""
        self._inner.on_rollback(hook)


def _size(record: ThingRecord | None) -> int:
    return 0 if record is None else len(record.data)
