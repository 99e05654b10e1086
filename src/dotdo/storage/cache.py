"""L0's memory: thing records by id, each pinned or clean, the clean ones in
least-recently-used order, with their size, for `L0` (ADR 0019)."""

from __future__ import annotations

import heapq
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from typing import Any

from dotdo.semantic.store import ThingRecord

__all__ = ["ABSENT", "ThingCache", "record_size"]

ABSENT: Any = object()
"""What `ThingCache.peek` answers for an id it does not hold (None means "known absent")."""


def record_size(record: ThingRecord | None) -> int:
    """The bytes a record is counted for in L0's bounds (its data, its id, 64 for the rest)."""
    return 0 if record is None else len(record.data) + len(record.id) + 64


class ThingCache:
    """Records by id (None: the thing is known not to exist); `bytes` is the sum of their
    `record_size`, `clean_bytes` that of the clean ones.

    A record is pinned (`evict` never drops it: L0 holds a dirty thing's only copy) or
    clean. The clean ones are kept in an order of their own, by last use, so that `evict`
    costs the records it drops and not the pinned ones it would otherwise walk past; a
    record unpinned goes back to the place of its last use, so the order is the one a
    single least-recently-used list would give.
    """

    def __init__(self) -> None:
        """An empty cache."""
        self._records: dict[str, ThingRecord | None] = {}
        self._clean: OrderedDict[str, int] = OrderedDict()  # id -> its last use, oldest first
        self._pinned: dict[str, int] = {}  # id -> its last use
        self._uses = 0  # a clock of uses: each put or use takes the next tick
        self.bytes = 0
        self.clean_bytes = 0

    def __contains__(self, thing_id: object) -> bool:
        return thing_id in self._records

    def __len__(self) -> int:
        return len(self._records)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._records))

    def _tick(self) -> int:
        self._uses += 1
        return self._uses

    def use(self, thing_id: str) -> ThingRecord | None:
        """The record held for `thing_id` (it must be held), now the most recently used."""
        if thing_id in self._pinned:
            self._pinned[thing_id] = self._tick()
        else:
            self._clean[thing_id] = self._tick()
            self._clean.move_to_end(thing_id)
        return self._records[thing_id]

    def peek(self, thing_id: str) -> Any:
        """The record held for `thing_id`, or ABSENT; the order is left alone."""
        return self._records.get(thing_id, ABSENT)

    def put(self, thing_id: str, record: ThingRecord | None, pinned: bool = False) -> None:
        """Hold `record` for `thing_id`, pinned or clean, the most recently used."""
        self.drop(thing_id)
        self._records[thing_id] = record
        (self._pinned if pinned else self._clean)[thing_id] = self._tick()
        self.bytes += record_size(record)
        if not pinned:
            self.clean_bytes += record_size(record)

    def drop(self, thing_id: str) -> None:
        """Forget `thing_id` (nothing if it is not held)."""
        old = self._records.pop(thing_id, ABSENT)
        if old is not ABSENT:
            self.bytes -= record_size(old)
            if self._clean.pop(thing_id, None) is not None:
                self.clean_bytes -= record_size(old)
            self._pinned.pop(thing_id, None)

    def pin(self, thing_id: str) -> None:
        """Keep `thing_id` from eviction (nothing if it is not held or already pinned)."""
        if thing_id in self._clean:
            self._pinned[thing_id] = self._clean.pop(thing_id)
            self.clean_bytes -= record_size(self._records[thing_id])

    def unpin(self, ids: Iterable[str]) -> None:
        """Let `ids` be evicted again, each at the place of its last use among the clean
        records (ids not held or not pinned are skipped). Costs the clean records when one
        of `ids` is older than the newest of them (a merge), else only `ids`."""
        moved = sorted((self._pinned.pop(i), i) for i in ids if i in self._pinned)
        if not moved:
            return
        self.clean_bytes += sum(record_size(self._records[i]) for _, i in moved)
        if self._clean and next(reversed(self._clean.values())) > moved[0][0]:
            merged = heapq.merge(((used, i) for i, used in self._clean.items()), moved)
            self._clean = OrderedDict((i, used) for used, i in merged)
        else:
            self._clean.update((i, used) for used, i in moved)

    def evict(self, max_count: int, max_bytes: int) -> None:
        """Drop clean records, least recently used first, until at most `max_count` of them
        are left, taking at most `max_bytes` (pinned ones are not counted).

        Costs the records it drops: it runs after every write."""
        while self._clean and (len(self._clean) > max_count or self.clean_bytes > max_bytes):
            thing_id, _ = self._clean.popitem(last=False)
            size = record_size(self._records.pop(thing_id))
            self.bytes -= size
            self.clean_bytes -= size
