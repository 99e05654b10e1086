"""Group commit: writes held in memory until one log row commits them together (ADRs 0023,
0029).

A transaction of the tiers that wrote nothing to SQLite but the tiers (no outbox row, no
edge, no other table) may leave its log entries in the open `Group` instead of writing
a row of its own:

- in `strict` mode, only while a request is being served (`GroupCommit.serving`, which
  `DOStorage.fetch` enters): the request's response waits for the row that logs its
  group (`TieredThingStore.durable`). When the first write joins an empty group and no
  other request is in the object, the group is logged as soon as the code now running
  yields to the event loop or its request waits for it (ADR 0034); when other requests
  are in the object (siblings), it is logged once every request in the object waits
  for it or has finished, or `commit_delay_ms` after it opened, whichever comes first
  (PostgreSQL's `commit_delay` / `commit_siblings`, ADR 0029). A sibling that let a delay run out
  without writing or waiting is idle: not waited for again until it writes;
- in `relaxed` mode, always: the write is acknowledged at once, and the group is logged
  when it holds `relaxed_max_writes` writes or its oldest is `relaxed_flush_ms` old (a
  timer source), so a crash loses at most that window, never part of a transaction.

Any transaction that logs a row of its own takes the open group into that row first, so
the log's order is the order in which writes were made.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import AbstractContextManager
from contextvars import ContextVar, Token
from typing import Any, Protocol

from dotdo.core import faults
from dotdo.core.sql import Sql

__all__ = [
    "DURABILITY_MODES",
    "RELAXED",
    "STRICT",
    "CallLater",
    "Group",
    "GroupCommit",
    "in_request",
]

STRICT = "strict"
"""Nothing is acknowledged before the log row holding it is committed (the default)."""
RELAXED = "relaxed"
"""Acknowledged at once; logged at least every `relaxed_flush_ms` or `relaxed_max_writes`."""
DURABILITY_MODES = (STRICT, RELAXED)


class Cancellable(Protocol):
    """A timer that can be called off (`asyncio.TimerHandle`)."""

    def cancel(self) -> None:
        """Call it off: the callback does not run."""


CallLater = Callable[[float, Callable[[], None]], Cancellable]
"""Run a callback after a delay in seconds: the event loop's `call_later` (Pyodide's
WebLoop: `setTimeout`); tests pass a clock they move by hand."""


def _loop_call_later(delay: float, callback: Callable[[], None]) -> Cancellable:
    return asyncio.get_event_loop().call_later(delay, callback)


class _Request:
    """One request in the object (`GroupCommit.serving`, a context manager): its task, the
    group it waits for (if any), and whether it is idle (it let a commit delay run out)."""

    __slots__ = ("_commits", "_token", "idle", "task", "waiting")

    def __init__(self, commits: GroupCommit, task: object) -> None:
        self._commits = commits
        self._token: Token[_Request | None] | None = None
        self.task = task
        self.waiting: Group | None = None
        self.idle = False

    # A class rather than a `@contextmanager` generator: entered and left on every
    # request, where the generator's machinery cost four more calls (ADR 0052).
    def __enter__(self) -> None:
        self._commits._requests.append(self)
        self._token = _serving.set(self)

    def __exit__(self, *exc: object) -> None:
        if self._token is not None:
            _serving.reset(self._token)
            self._token = None
        self._commits._requests.remove(self)
        self._commits._commit_if_ready()


_serving: ContextVar[_Request | None] = ContextVar("dotdo_storage_serving", default=None)


def _task() -> object:
    try:
        return asyncio.current_task()
    except RuntimeError:  # no loop running: synchronous code, which nothing awaits
        return None


def _current() -> _Request | None:
    """The request whose own task is running (not a task it started), or None."""
    request = _serving.get()
    if request is None:
        return None
    try:  # `_task()` inline: asked several times a write (ADR 0052)
        task = asyncio.current_task()
    except RuntimeError:  # no loop running: synchronous code, served as `serving` saw it
        task = None
    return request if request.task is task else None


def in_request() -> bool:
    """Whether the running code is the task of a request that waits for its group's commit."""
    return _current() is not None


class Group:
    """Writes not in the log yet: thing entries by id (the last state wins), events in
    order, the futures of the requests waiting for them, when the first came (epoch ms),
    how many transactions they are, and the commit scheduled for them (`scheduled`; the
    delay's timer, if one runs, and the siblings seen when it opened)."""

    def __init__(self) -> None:
        """An empty group."""
        self.entries: dict[str, dict[str, Any]] = {}
        self.events: list[dict[str, Any]] = []
        self.waiters: list[asyncio.Future[None]] = []
        self.first_at: int | None = None
        self.writes = 0
        self.scheduled = False
        self.timer: Cancellable | None = None
        self.soon: Cancellable | None = None
        self.siblings = 0

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
        """This group with `later`'s writes after its own (a taken group put back). Its
        commit is no longer scheduled: the caller schedules one if anything waits."""
        if later.first_at is not None:
            self.add(later.entries, later.events, later.first_at)
            self.writes += later.writes - 1
        self.waiters.extend(later.waiters)
        self.unschedule()
        later.unschedule()
        return self

    def unschedule(self) -> None:
        """Forget the commit scheduled for this group (its delay's timer, or its callback on
        the next turn, called off)."""
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if self.soon is not None:
            # Logged (or put back) before its callback ran: left to run, the callback would
            # log whichever group is open by then, early, ahead of that group's own schedule.
            self.soon.cancel()
            self.soon = None
        self.scheduled = False

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
    """The open group (`open`), the groups taken into log rows whose transaction has not
    been seen to commit yet, and the requests in the object (`serving`).

    `sql` is the object's facade; `logged(events)` and `unlogged(events)` tell the tiers
    that a group's events moved into the log, or back; `commit()` logs the open group in
    a row of its own (`TieredThingStore.commit_group`); `last_seq()` is the newest log
    row's sequence number (the fault point's detail); `delay_ms` (an attribute too) is
    the commit delay with siblings in ms (0: none); `call_later` runs the delay's timer.

    Figures: `groups_logged` and `writes_logged` (groups committed and the transactions
    they held), `delayed` (groups that waited for siblings), `expired` (delays that ran
    out), `siblings_seen` (siblings in the object when the logged groups opened, summed).
    """

    def __init__(
        self,
        sql: Sql,
        logged: Callable[[list[dict[str, Any]]], None],
        unlogged: Callable[[list[dict[str, Any]]], None],
        commit: Callable[[], None],
        last_seq: Callable[[], int],
        delay_ms: int = 0,
        call_later: CallLater | None = None,
    ) -> None:
        """No writes held, no request in the object."""
        self._sql = sql
        self._logged = logged
        self._unlogged = unlogged
        self._commit = commit
        self._last_seq = last_seq
        self.delay_ms = delay_ms
        self._call_later = call_later or _loop_call_later
        self.open = Group()
        self._taken: list[Group] = []
        self._requests: list[_Request] = []
        self.groups_logged = 0
        self.writes_logged = 0
        self.delayed = 0
        self.expired = 0
        self.siblings_seen = 0

    # -- requests ------------------------------------------------------------

    def serving(self) -> AbstractContextManager[None]:
        """Inside: a request in the object, from its start to its answer. Its task's strict
        writes may join the group, so it must await `wait` before it answers. Tasks it
        starts (a handler's drain) inherit the context but not the promise: their writes
        are logged at once. Leaving may commit a group that waited only for this request."""
        return _Request(self, _task())

    @property
    def requests(self) -> int:
        """Requests in the object now."""
        return len(self._requests)

    def stats(self) -> dict[str, int]:
        """The figures as the tiers' `stats()` names them: `group_writes` (transactions in
        the open group), `groups_logged`, `group_writes_logged`, `groups_delayed`,
        `group_delays_expired`, `group_siblings` (the class docstring's figures), `requests`."""
        return dict(
            group_writes=self.open.writes,
            groups_logged=self.groups_logged,
            group_writes_logged=self.writes_logged,
            groups_delayed=self.delayed,
            group_delays_expired=self.expired,
            group_siblings=self.siblings_seen,
            requests=self.requests,
        )

    def _siblings(self, writer: _Request | None) -> int:
        """Requests in the object that a delayed group waits for: not `writer`, not waiting
        for the open group, not idle, and not in the task of one of those (a request
        served inside another's `fetch` runs in its task: they wait as one)."""
        requests = self._requests
        if len(requests) == 1 and requests[0] is writer:
            return 0  # the writer alone in the object (ADR 0052)
        group = self.open
        busy = {r.task for r in requests if r.waiting is group}
        if writer is not None:
            busy.add(writer.task)
        return sum(1 for r in self._requests if r.task not in busy and not r.idle)

    def _commit_if_ready(self) -> None:
        """Commit the open group now if its delay runs and nothing is left to wait for."""
        group = self.open
        if group.timer is not None and self._siblings(None) == 0:
            group.unschedule()
            self._commit()

    def _expire(self, group: Group) -> None:
        """The delay ran out: every request still neither waiting nor finished is idle."""
        group.timer = None
        if group is not self.open:
            self.settle()  # taken into another row meanwhile: wake its requests once committed
            return
        self.expired += 1
        for request in self._requests:
            if request.waiting is not group:
                request.idle = True
        self._commit()

    # -- the group -----------------------------------------------------------

    def take(self) -> Group | None:
        """Inside a transaction: the open group (None when it holds no write), and a new
        open group. The taken one is put back if the transaction rolls back; its waiters
        are woken by `settle` once it has committed. Its row's entries are its
        `log_entries()` (a caller that packed them already does not ask again)."""
        taken = self.open
        if not taken:
            return None
        self.open = Group()
        self._taken.append(taken)
        self._logged(taken.events)

        def put_back() -> None:
            self._taken.remove(taken)
            self._unlogged(taken.events)
            self.open = taken.merge(self.open)
            if self.open.waiters:
                # Requests wait for it: commit again on the next turn, unless the failure
                # that put it back wakes them with its error first (`retry`).
                asyncio.get_event_loop().call_soon(self._retry)

        self._sql.on_rollback(put_back)
        return taken

    def _retry(self) -> None:
        if self.open.waiters and not self.open.scheduled:
            self._commit()

    def settle(self) -> None:
        """Outside a transaction: wake the waiters of the groups logged (up to the newest row)."""
        if not self._taken or self._sql.in_transaction:  # most calls: nothing taken
            return
        taken, self._taken = self._taken, []
        faults.reach_now(faults.STORAGE_GROUP_LOGGED, str(self._last_seq()))
        for group in taken:
            group.unschedule()
            self.groups_logged += 1
            self.writes_logged += group.writes
            self.siblings_seen += group.siblings
            group.release()

    def schedule(self) -> None:
        """A strict write of the running request joined the open group: schedule the
        group's commit if it is not yet, at once (when the code now running yields) with
        no sibling, else when every request waits or has finished, or after the delay."""
        writer = _current()
        if writer is not None:
            writer.idle = False  # it writes: a group may wait for it again
        group = self.open
        if group.scheduled:
            return
        group.scheduled = True
        group.siblings = self._siblings(writer)
        if group.siblings and self.delay_ms > 0:
            self.delayed += 1
            group.timer = self._call_later(self.delay_ms / 1000, lambda: self._expire(group))
        else:
            group.soon = asyncio.get_event_loop().call_soon(self._commit)

    async def wait(self) -> None:
        """Return once the open group (if any) is logged (raise its error if its row failed)."""
        self.settle()
        group = self.open
        if not group:
            return
        future = group.waiter()
        request = _current()
        if request is not None:
            request.waiting = group
            request.idle = False
        if not group.scheduled:  # put back after a failure, or written outside a request
            group.scheduled = True
            group.soon = asyncio.get_event_loop().call_soon(self._commit)
        elif group.soon is not None and not self._sql.in_transaction and self._siblings(request) == 0:
            # Due on the next turn, and no request in the object could still join it (none
            # is neither waiting for it nor idle): the callback would log these same writes,
            # so log them now. The waiter then returns without suspending, which under
            # Pyodide saves the turns of the loop (macrotasks, ADR 0031) that waking it costs.
            # Nothing is acknowledged earlier than before: `future` is resolved only by the
            # row's commit (`settle`), or fails with its error.
            self._commit()
        else:
            self._commit_if_ready()
        try:
            await future
        finally:
            if request is not None:
                request.waiting = None
