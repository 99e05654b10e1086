"""Group commit: writes held in memory until one log row commits them together (ADR 0023).

A transaction of the tiers that wrote nothing to SQLite but the tiers (no outbox row, no
edge, no other table) may leave its log entries in the open `Group` instead of writing
a row of its own:

- in `strict` mode, only while a request is being served (`acknowledging_after_commit`,
  which `DOStorage.fetch` enters): the group is logged as one row by a callback the
  event loop runs once the code now running yields (so every request whose writes
  completed before that await point shares the row), and the request's response waits
  for that row (`TieredThingStore.durable`);
- in `relaxed` mode, always: the write is acknowledged at once, and the group is logged
  when it holds `relaxed_max_writes` writes or its oldest is `relaxed_flush_ms` old (a
  timer source), so a crash loses at most that window, never part of a transaction.

Any transaction that logs a row of its own takes the open group into that row first, so
the log's order is the order in which writes were made.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from dotdo.core import faults
from dotdo.core.sql import Sql

__all__ = [
    "DURABILITY_MODES",
    "RELAXED",
    "STRICT",
    "Group",
    "GroupCommit",
    "acknowledging_after_commit",
    "in_request",
]

STRICT = "strict"
"""Nothing is acknowledged before the log row holding it is committed (the default)."""
RELAXED = "relaxed"
"""Acknowledged at once; logged at least every `relaxed_flush_ms` or `relaxed_max_writes`."""
DURABILITY_MODES = (STRICT, RELAXED)

_serving: ContextVar[object] = ContextVar("dotdo_storage_serving", default=None)


def _task() -> object:
    try:
        return asyncio.current_task()
    except RuntimeError:  # no loop running: synchronous code, which nothing awaits
        return None


@contextmanager
def acknowledging_after_commit() -> Iterator[None]:
    """Inside: the task now running (a request being served) waits for `durable()` before it
    answers, so its strict writes may join the group. Tasks it starts (a handler's drain)
    inherit the context but not the promise, so their writes are logged at once."""
    token = _serving.set(_task())
    try:
        yield
    finally:
        _serving.reset(token)


def in_request() -> bool:
    """Whether the running code is the task of a request that waits for its group's commit."""
    serving = _serving.get()
    return serving is not None and serving is _task()


class Group:
    """Writes not in the log yet: thing entries by id (the last state wins), events in
    order, the futures of the requests waiting for them, when the first came (epoch ms)
    and how many transactions they are."""

    def __init__(self) -> None:
        """An empty group."""
        self.entries: dict[str, dict[str, Any]] = {}
        self.events: list[dict[str, Any]] = []
        self.waiters: list[asyncio.Future[None]] = []
        self.first_at: int | None = None
        self.writes = 0
        self.scheduled = False

    def __bool__(self) -> bool:
        return bool(self.entries or self.events)

    def add(self, entries: dict[str, dict[str, Any]], events: list[dict[str, Any]], now: int) -> None:
        """One transaction's log entries (thing entries by id, events), made at `now`."""
        for thing_id, entry in entries.items():
            self.entries.pop(thing_id, None)  # re-inserted last: entries keep the order of last writes
            self.entries[thing_id] = entry
        self.events.extend(events)
        self.writes += 1
        if self.first_at is None:
            self.first_at = now

    def merge(self, later: Group) -> Group:
        """This group with `later`'s writes after its own (a taken group put back)."""
        if later.first_at is not None:
            self.add(later.entries, later.events, later.first_at)
            self.writes += later.writes - 1
        self.waiters.extend(later.waiters)
        self.scheduled = self.scheduled or later.scheduled
        return self

    def log_entries(self) -> list[dict[str, Any]]:
        """The entries of the log row that commits the group."""
        return [*self.entries.values(), *({"ev": event} for event in self.events)]

    def waiter(self) -> asyncio.Future[None]:
        """A future resolved once the group is committed (or failed with the error)."""
        future: asyncio.Future[None] = asyncio.get_event_loop().create_future()
        self.waiters.append(future)
        return future

    def release(self, error: BaseException | None = None) -> None:
        """Wake every waiter: committed, or `error`."""
        for future in self.waiters:
            if not future.done():
                if error is None:
                    future.set_result(None)
                else:
                    future.set_exception(error)
        self.waiters.clear()


class GroupCommit:
    """The open group (`open`) and the groups taken into log rows whose transaction has not
    been seen to commit yet. `sql` is the object's facade; `logged(events)` and
    `unlogged(events)` tell the tiers that a group's events moved into the log, or back."""

    def __init__(
        self,
        sql: Sql,
        logged: Callable[[list[dict[str, Any]]], None],
        unlogged: Callable[[list[dict[str, Any]]], None],
    ) -> None:
        """No writes held."""
        self._sql = sql
        self._logged = logged
        self._unlogged = unlogged
        self.open = Group()
        self._taken: list[Group] = []

    def take(self) -> list[dict[str, Any]]:
        """Inside a transaction: the open group's log entries, and a new open group. The
        taken one is put back if the transaction rolls back; its waiters are woken by
        `settle` once it has committed."""
        taken = self.open
        if not taken:
            return []
        self.open = Group()
        self._taken.append(taken)
        self._logged(taken.events)

        def put_back() -> None:
            self._taken.remove(taken)
            self._unlogged(taken.events)
            self.open = taken.merge(self.open)

        self._sql.on_rollback(put_back)
        return taken.log_entries()

    def settle(self, seq: int) -> None:
        """Outside a transaction: wake the waiters of the groups logged (up to row `seq`)."""
        if self._sql.in_transaction or not self._taken:
            return
        taken, self._taken = self._taken, []
        faults.reach_now(faults.STORAGE_GROUP_LOGGED, str(seq))
        for group in taken:
            group.release()

    def schedule(self, commit: Callable[[], None]) -> None:
        """Have the event loop run `commit` once the code now running awaits (once a group)."""
        if not self.open.scheduled:
            self.open.scheduled = True
            asyncio.get_event_loop().call_soon(commit)

    async def wait(self, commit: Callable[[], None], seq: int) -> None:
        """Return once the open group (if any) is logged by `commit`."""
        self.settle(seq)
        if self.open:
            self.schedule(commit)
            await self.open.waiter()
