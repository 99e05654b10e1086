"""L0's memory: thing records by id in least-recently-used order, with their size, for
`TieredThingStore` (ADR 0019)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Collection, Iterator
from typing import Any

from dotdo.semantic.store import ThingRecord

__all__ = ["ABSENT", "ThingCache", "record_size"]

ABSENT: Any = object()
"""What `ThingCache.peek` answers for an id it does not hold (None means "known absent")."""


def record_size(record: ThingRecord | None) -> int:
    """The bytes a record is counted for in L0's bounds (its data, its id, 64 for the rest)."""
    return 0 if record is None else len(record.data) + len(record.id) + 64


class ThingCache:
    """Records by id (None: the thing is known not to exist), oldest use first; `bytes` is
    the sum of their `record_size`."""

    def __init__(self) -> None:
        """An empty cache."""
        self._records: OrderedDict[str, ThingRecord | None] = OrderedDict()
        self.bytes = 0

    def __contains__(self, thing_id: object) -> bool:
        return thing_id in self._records

    def __len__(self) -> int:
        return len(self._records)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._records))

    def use(self, thing_id: str) -> ThingRecord | None:
        """The record held for `thing_id` (it must be held), now the most recently used."""
        self._records.move_to_end(thing_id)
        return self._records[thing_id]

    def peek(self, thing_id: str) -> Any:
        """The record held for `thing_id`, or ABSENT; the order is left alone."""
        return self._records.get(thing_id, ABSENT)

    def put(self, thing_id: str, record: ThingRecord | None) -> None:
        """Hold `record` for `thing_id`, the most recently used."""
        self.drop(thing_id)
        self._records[thing_id] = record
        self.bytes += record_size(record)

    def drop(self, thing_id: str) -> None:
        """Forget `thing_id` (nothing if it is not held)."""
        old = self._records.pop(thing_id, ABSENT)
        if old is not ABSENT:
            self.bytes -= record_size(old)

    def evict(self, pinned: Collection[str], max_count: int, max_bytes: int) -> None:
        """Drop records not in `pinned`, least recently used first, until at most
        `max_count` unpinned ones are left and all of them take at most `max_bytes`.

        Costs the records it drops and the pinned ones older than the last of them, not
        the whole cache: it runs after every write."""
        clean = len(self._records) - len(pinned)
        size = self.bytes
        if clean <= max_count and size <= max_bytes:
            return
        victims = []
        for thing_id, record in self._records.items():
            if clean <= max_count and size <= max_bytes:
                break
            if thing_id in pinned:
                continue
            victims.append(thing_id)
            clean -= 1
            size -= record_size(record)
        for thing_id in victims:
            self.drop(thing_id)
