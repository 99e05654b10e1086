"""The turns of `TieredThingStore`: what one outermost transaction changed (`Turn`), and
which work is tried without a SQL transaction first (`ReadsFirst`, ADR 0034)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from dotdo.core.sql import Sql, WritesNeeded
from dotdo.semantic.store import Rerunnable
from dotdo.storage.l0 import L0Undo

__all__ = ["MAX_WRITING_NAMES", "ReadsFirst", "Turn"]

T = TypeVar("T")

MAX_WRITING_NAMES = 1024
"""Names of work seen to write SQL that `ReadsFirst` remembers (a few per noun)."""


@dataclass
class Turn:
    """One outermost transaction: its log entries (one per thing, the last state wins) and
    what it changed (L0, the log, the events, the timer), to put back if it rolls back."""

    entries: dict[str, dict[str, Any]] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)
    l0: L0Undo = field(default_factory=L0Undo)
    checkpointed_before: int | None = None
    events_before: list[dict[str, Any]] | None = None
    deferred: bool = False
    dirty_since: int | None = None


class ReadsFirst:
    """`Rerunnable` work whose writes the group will hold (a strict request's, or relaxed)
    is tried without `transactionSync` (`Sql.reads_only`): held in the group, its writes
    reach SQLite later, in the group's row, so if it only reads it needs no SQL
    transaction. If it runs a statement that writes (an outbox row, an edge), that
    statement is not run, the rollback hooks undo the turn, and the work runs again in a
    transaction; work of that name goes there at once from then on. `reruns` counts the
    works run again."""

    def __init__(self, sql: Sql) -> None:
        """Nothing seen to write yet."""
        self._sql = sql
        self.writing: set[str] = set()
        self.reruns = 0

    def run(
        self,
        work: Callable[[], T],
        held: bool,
        turn: Callable[[Callable[[], T], Callable[[Callable[[], T]], T], bool], T],
    ) -> T:
        """`turn(work, transaction, held)`, with `Sql.reads_only` for `transaction` first
        when `work` is `Rerunnable`, not named as writing, and `held` (its writes would
        wait in the group); else, or when it wrote, `Sql.transaction`."""
        name = work.name if isinstance(work, Rerunnable) else None
        if name is not None and held and name not in self.writing:
            try:
                return turn(work, self._sql.reads_only, held)
            except WritesNeeded:
                if len(self.writing) < MAX_WRITING_NAMES:
                    self.writing.add(name)
                self.reruns += 1
        return turn(work, self._sql.transaction, held)
