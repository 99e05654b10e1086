"""The scheduler: cron schedules persisted by handler name, fired by the alarm.

Class schedules (`@every...` on a method) are kept in step with the class's decorators
every time the object starts; run-time ones (`self.every...(self.method)`) stay until
removed. A schedule is a timer source (`schedules`): missed fire times (the object was
away) collapse into one firing, and the next time is computed from then.

A firing is at least once, as an event's delivery to a durable handler is: it is written
down (with a lease: the handler time bound and a margin) before its handler runs and
cleared after, so a firing the object died in runs again when its lease runs out; a
handler that fails or times out is retried with the bus's policy (doubling waits, at most
`retry_limit` attempts), then given up on, its error kept in `last_error`. The next fire
time coming due first replaces a firing still to be retried (missed firings collapse).
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from dotdo.core.logs import instant
from dotdo.errors import BadRequest, Conflict
from dotdo.semantic.hops import checked_limit
from dotdo.semantic.ids import id_page
from dotdo.workflows.bus import DeliveryPolicy
from dotdo.workflows.delivery import HandlerTimeout
from dotdo.workflows.every import ScheduleSpec
from dotdo.workflows.failures import error_text
from dotdo.workflows.host import DUE_BATCH, Host
from dotdo.workflows.schedule_store import UTC, ScheduleStore
from dotdo.workflows.steps import ScheduleInfo

__all__ = [
    "LEASE_MARGIN_MS",
    "MAX_RUNTIME_SCHEDULES",
    "MAX_SCHEDULE_PAGE",
    "Scheduler",
    "runtime_schedule_id",
]


LEASE_MARGIN_MS = 5_000
"""A firing's lease is the handler time bound plus this: once it runs out, the handler was
cut off or the object died, and the alarm runs the firing again."""

MAX_RUNTIME_SCHEDULES = 100
"""Most run-time schedules (`self.every...` at run time) one object holds; the one past it
is a 409 `too_many_schedules`. A run-time schedule is one per (method, cron, time zone), so
an app needs a few; one per user or per thing is a delayed send's work (`send_event(...,
delay=)`). The table has no index (migration 4: a few rows read whole cost less than an
index row per firing), so every pass of the timer service reads every row: the bound keeps
that a few rows, and puts every run-time schedule due at one instant in one pass
(`DUE_BATCH`, 100). Class schedules are not counted: the code bounds them."""

MAX_SCHEDULE_PAGE = 1000
"""Most schedules one page of the listing answers (`GET /schedules?limit=`)."""


def runtime_schedule_id(handler: str, spec: ScheduleSpec) -> str:
    """Stable and URL-safe: one id per (handler, cron, time zone) of a run-time schedule."""
    import hashlib  # with the first run-time schedule, not with every app (ADR 0036)

    digest = hashlib.sha256(f"{spec.cron}|{spec.tz or UTC}".encode()).hexdigest()[:12]
    return f"runtime-{handler}-{digest}"


def _next_fire(cron: str, tz: str | None, now: int) -> int:
    """The first fire time of `cron` in zone `tz` after `now` (epoch ms)."""
    # The cron parser loads with the first schedule, not with every app (ADR 0036).
    from dotdo.workflows.cron import parse_cron, resolve_zone

    return parse_cron(cron).next_after(now, resolve_zone(tz))


def _class_schedule_id(handler: str, spec: ScheduleSpec) -> str:
    return f"class:{handler}:{spec.cron}:{spec.tz or UTC}"


def _takes_argument(method: Callable[..., Any]) -> bool:
    try:
        parameters = inspect.signature(method).parameters.values()
    except (TypeError, ValueError):
        return True
    return any(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL) for p in parameters)


class Scheduler:
    """One object's schedules. `class_schedules` are the (method name, spec) pairs its
    class declares; `run_handler` runs a handler under the bus's time bound; `host` is the
    object (its timers and methods by name), `store` the `schedules` table; `policy` the
    retries of a failed firing and the time bound its lease covers."""

    def __init__(
        self,
        host: Host,
        store: ScheduleStore,
        class_schedules: Sequence[tuple[str, ScheduleSpec]],
        run_handler: Callable[..., Awaitable[Any]],
        policy: DeliveryPolicy | None = None,
    ) -> None:
        self._host = host
        self._store = store
        self._class_schedules = tuple(class_schedules)
        self._run_handler = run_handler
        self._policy = policy or DeliveryPolicy()
        self._firing: set[str] = set()  # schedules whose handler runs here now: not lost

    def sync_class_schedules(self) -> None:
        """Add the class's schedules that are not stored, remove those it no longer has."""
        now = self._host.timers.now()
        wanted = {_class_schedule_id(name, spec): (name, spec) for name, spec in self._class_schedules}
        stored = self._store.ids("class")
        for schedule_id in stored - set(wanted):
            self._store.delete(schedule_id)
            self._host.timers.changed()
        for schedule_id in set(wanted) - stored:
            name, spec = wanted[schedule_id]
            self._add(schedule_id, spec, name, "class", now)

    def add(self, spec: ScheduleSpec, handler: str) -> str:
        """A run-time schedule of the method `handler`; its id. Adding it again is a no-op
        (at the bound too: it is already counted).

        Raises TypeError when the object has no such method; 409 `too_many_schedules`, with
        nothing written, when the object holds MAX_RUNTIME_SCHEDULES run-time schedules."""
        if self._host.handler(handler) is None:
            raise TypeError(f"the object has no method {handler!r}")
        schedule_id = runtime_schedule_id(handler, spec)
        if self._store.source(schedule_id) is None and self._store.count("runtime") >= MAX_RUNTIME_SCHEDULES:
            raise Conflict(
                f"an object holds at most {MAX_RUNTIME_SCHEDULES} run-time schedules: remove one "
                "(remove_schedule, DELETE /schedules/:id) before adding another",
                code="too_many_schedules",
            )
        self._add(schedule_id, spec, handler, "runtime", self._host.timers.now())
        self._host.timers.rearm()
        return schedule_id

    def _add(self, schedule_id: str, spec: ScheduleSpec, handler: str, source: str, now: int) -> None:
        next_at = _next_fire(spec.cron, spec.tz, now)
        if self._store.add(schedule_id, spec.cron, spec.tz, handler, source, next_at, now):
            self._host.timers.changed()

    def list(self) -> list[dict[str, Any]]:
        """Every schedule: `id, cron, tz` ("UTC" when declared without one), `handler,
        source, next_at, last_fired_at, registered_at, firing_at, firing_attempts,
        firing_until, last_error` (see `ScheduleStore`)."""
        return self._store.all()

    def page(self, limit: int = 100, cursor: str | None = None) -> dict[str, Any]:
        """A page of schedules by id: `{"items", "has_more", "cursor"}`, at most `limit` (1
        to MAX_SCHEDULE_PAGE) after `cursor` (the previous page's: its last schedule's id;
        None on the last page). Items are `list`'s. 400 `invalid_limit`, `invalid_cursor`
        (not an id a schedule can have)."""
        limit = checked_limit(limit, MAX_SCHEDULE_PAGE)
        if cursor is not None and not (isinstance(cursor, str) and cursor.startswith(("class:", "runtime-"))):
            raise BadRequest("cursor is the `cursor` of a previous page", code="invalid_cursor")
        return id_page(self._store.page(cursor, limit + 1), limit)  # one more: whether there is a next page

    def remove(self, schedule_id: str) -> bool:
        """Remove a run-time schedule; False when there is none. A schedule the class
        declares (`@every` on a method) is a 409 `schedule_declared`: the class registers
        it again whenever the object starts, so only removing its decorator removes it."""
        if self._store.source(schedule_id) == "class":
            raise Conflict(
                f"schedule {schedule_id!r} is declared in the class (@every on a method) and is "
                "registered again whenever the object starts: remove its decorator instead",
                code="schedule_declared",
            )
        removed = self._store.delete(schedule_id)
        if removed:
            self._host.timers.changed()
            self._host.timers.rearm()
        return removed

    # -- the timer source ------------------------------------------------------

    def next_wake(self) -> int | None:
        """When the next schedule is due (epoch ms), or None."""
        return self._store.next_at()

    async def run_due(self, now: int) -> int:
        """Fire the schedules due at `now` (epoch ms), at most DUE_BATCH; how many fired.
        Firings missed while the object was away collapse into one; a firing whose lease
        ran out or whose retry is due runs again; a handler's failure or timeout is logged
        and retried, never raised."""
        fired = 0
        for listed in self._store.due(now, DUE_BATCH):
            schedule_id = str(listed["id"])
            # Read again after an earlier handler of this pass ran: it may have removed this
            # schedule, or another pass fired it meanwhile (the batch's row would fire it anyway).
            row = listed if not fired else self._store.due_now(schedule_id, now)
            if row is None:
                continue
            if schedule_id in self._firing:
                # Its handler still runs here (its lease ran out, or its next fire time came,
                # meanwhile): never a second handler at once; due again when the lease ends.
                self._store.hold(schedule_id, now + self._lease_ms())
                self._host.timers.changed()
                continue
            await self._fire(row, now)
            fired += 1
        return fired

    def _lease_ms(self) -> int:
        return int(self._policy.handler_timeout * 1000) + LEASE_MARGIN_MS

    async def _fire(self, row: dict[str, Any], now: int) -> None:
        schedule_id, handler = str(row["id"]), str(row["handler"])
        cron, tz = str(row["cron"]), str(row["tz"])
        if int(row["next_at"]) <= now:
            # A fire time: times missed while the object was away collapse into this one
            # firing (and replace a firing still to be retried); the next is computed from
            # now, so a long absence never causes a burst.
            scheduled, attempts, next_at = int(row["next_at"]), 1, _next_fire(cron, tz, now)
        else:  # the lease or the retry of an unfinished firing
            scheduled, attempts, next_at = (
                int(row["firing_at"]),
                int(row["firing_attempts"]) + 1,
                int(row["next_at"]),
            )
        method = self._host.handler(handler)
        if method is None:  # no attempt can succeed until the code has the method again
            self._host.log.error("schedule %s names no method %r; skipped", schedule_id, handler)
            self._store.firing(schedule_id, next_at, now, scheduled, attempts, now)
            self._store.fired(schedule_id, f"no method {handler!r}")
            self._host.timers.changed()
            return
        # Written before the handler runs: if the object dies in it, the alarm runs it again.
        self._store.firing(schedule_id, next_at, now, scheduled, attempts, now + self._lease_ms())
        self._host.timers.changed()
        error = await self._call(schedule_id, method, ScheduleInfo(schedule_id, cron, tz, scheduled, now))
        if error is None:
            self._store.fired(schedule_id, None)
        elif attempts >= self._policy.retry_limit:
            self._host.log.error(
                "schedule %s (handler %s) firing for %s given up after %d attempts (last: %s)",
                schedule_id,
                handler,
                instant(scheduled),
                attempts,
                error,
            )
            self._store.fired(schedule_id, error)
        else:
            self._store.retry(schedule_id, self._host.timers.now() + self._policy.wait_ms(attempts), error)
        self._host.timers.changed()

    async def _call(self, schedule_id: str, method: Callable[..., Any], info: ScheduleInfo) -> str | None:
        """Run the schedule's handler under the time bound; its error as text, or None."""
        self._firing.add(schedule_id)
        try:
            arguments = (info,) if _takes_argument(method) else ()
            await self._run_handler(method, *arguments)
        except HandlerTimeout as timeout:
            self._host.log.error(
                "schedule %s (method %s) %s; it was cancelled", schedule_id, method.__name__, timeout
            )
            return str(timeout)
        except Exception as error:
            self._host.log.exception("schedule %s (method %s) failed", schedule_id, method.__name__)
            return error_text(error)
        finally:
            self._firing.discard(schedule_id)
        return None
