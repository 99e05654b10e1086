"""The tiers' queries (ADR 0030): a list, count or scan of a type reads `things` with that
type's dirty things laid over it (`semantic/overlay.py`) and writes nothing; past
`TierOptions.overlay_bytes` of them, they are checkpointed first instead (ADR 0019)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from dotdo.semantic.store import ThingRecord
from dotdo.storage.cache import ThingCache

if TYPE_CHECKING:
    from dotdo.semantic.overlay import Overlay

__all__ = ["TierQueries"]


class TierQueries:
    """The overlay source (`OverlaySource`) of the tiers' `SqliteThingStore`.

    `dirty()` gives the tiers' dirty set (id -> the types the thing had since the last
    checkpoint), `cache` L0 (which holds every dirty thing: None when deleted for good),
    `checkpoint(type_name)` writes a type's dirty things into `things` (the tiers'
    `flush`); `max_bytes` bounds the overlay's JSON parameter, in UTF-8 bytes. `overlaid`
    counts the statements that read an overlay, `checkpointed` the queries that
    checkpointed their type instead.
    """

    def __init__(
        self,
        dirty: Callable[[], dict[str, set[str]]],
        cache: ThingCache,
        checkpoint: Callable[[str], int],
        max_bytes: int,
    ) -> None:
        """The source over the tiers' dirty set and L0 (see the class docstring)."""
        self._dirty = dirty
        self._cache = cache
        self._checkpoint = checkpoint
        self._max_bytes = max_bytes
        self.overlaid = 0
        self.checkpointed = 0

    def __call__(self, type_name: str) -> Overlay | None:
        """The overlay a query of `type_name` reads; None when it has no dirty thing, or
        when they were just checkpointed (more than `max_bytes` of them)."""
        # Every thing that had the type since the last checkpoint: its `things` row, if
        # any, may be of the type while the thing now is not (deleted, re-created).
        ids = [thing_id for thing_id, types in self._dirty().items() if type_name in types]
        records: dict[str, ThingRecord | None] = {thing_id: self._cache.peek(thing_id) for thing_id in ids}
        if not records:
            return None
        from dotdo.semantic.overlay import Overlay  # with the first query over dirty things (ADR 0036)

        overlay = Overlay(records)
        if overlay.size > self._max_bytes:
            self.checkpointed += 1
            self._checkpoint(type_name)
            return None
        self.overlaid += 1
        return overlay

    def stats(self) -> dict[str, int]:
        """`{"overlaid_queries", "query_checkpoints"}`: the two counts."""
        return {"overlaid_queries": self.overlaid, "query_checkpoints": self.checkpointed}
