"""The scheduler: cron schedules persisted by handler name, fired by the alarm.

Class schedules (`@every...` on a method) are kept in step with the class's decorators
every time the object starts; run-time ones (`self.every...(self.method)`) stay until
removed. A schedule is a timer source (`schedules`): missed fire times (the object was
away) collapse into one firing, and the next time is computed from then.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from dotdo.workflows.delivery import HandlerTimeout
from dotdo.workflows.every import ScheduleSpec
from dotdo.workflows.host import DUE_BATCH, Host
from dotdo.workflows.schedule_store import ScheduleStore
from dotdo.workflows.steps import ScheduleInfo

__all__ = ["Scheduler", "runtime_schedule_id"]

logger = logging.getLogger("dotdo.workflows")


def runtime_schedule_id(handler: str, spec: ScheduleSpec) -> str:
    """Stable and URL-safe: one id per (handler, cron, time zone) of a run-time schedule."""
    import hashlib  # with the first run-time schedule, not with every app (ADR 0036)

    digest = hashlib.sha256(f"{spec.cron}|{spec.tz or 'UTC'}".encode()).hexdigest()[:12]
    return f"runtime-{handler}-{digest}"


def _next_fire(cron: str, tz: str | None, now: int) -> int:
    """The first fire time of `cron` in zone `tz` after `now` (epoch ms)."""
    # The cron parser loads with the first schedule, not with every app (ADR 0036).
    from dotdo.workflows.cron import parse_cron, resolve_zone

    return parse_cron(cron).next_after(now, resolve_zone(tz))


def _class_schedule_id(handler: str, spec: ScheduleSpec) -> str:
    return f"class:{handler}:{spec.cron}:{spec.tz or 'UTC'}"


def _takes_argument(method: Callable[..., Any]) -> bool:
    try:
        parameters = inspect.signature(method).parameters.values()
    except (TypeError, ValueError):
        return True
    return any(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL) for p in parameters)


class Scheduler:
    """One object's schedules. `class_schedules` are the (method name, spec) pairs its
    class declares; `run_handler` runs a handler under the bus's time bound; `host` is the
    object (its timers and methods by name), `store` the `schedules` table."""

    def __init__(
        self,
        host: Host,
        store: ScheduleStore,
        class_schedules: Sequence[tuple[str, ScheduleSpec]],
        run_handler: Callable[..., Awaitable[Any]],
    ) -> None:
        self._host = host
        self._store = store
        self._class_schedules = tuple(class_schedules)
        self._run_handler = run_handler

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
        """A run-time schedule of the method `handler`; its id. Adding it again is a no-op.

        Raises TypeError when the object has no such method."""
        if self._host.handler(handler) is None:
            raise TypeError(f"the object has no method {handler!r}")
        schedule_id = runtime_schedule_id(handler, spec)
        self._add(schedule_id, spec, handler, "runtime", self._host.timers.now())
        self._host.timers.rearm()
        return schedule_id

    def _add(self, schedule_id: str, spec: ScheduleSpec, handler: str, source: str, now: int) -> None:
        next_at = _next_fire(spec.cron, spec.tz, now)
        if self._store.add(schedule_id, spec.cron, spec.tz, handler, source, next_at, now):
            self._host.timers.changed()

    def list(self) -> list[dict[str, Any]]:
        """Every schedule: `id, cron, tz, handler, source, next_at, last_fired_at, registered_at`."""
        return self._store.all()

    def remove(self, schedule_id: str) -> bool:
        """Remove a schedule; False when there is none. A class-declared one comes back on
        the next start unless its decorator is removed too."""
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
        Firings missed while the object was away collapse into one; a handler's failure
        or timeout is logged, never raised."""
        fired = 0
        for row in self._store.due(now, DUE_BATCH):
            await self._fire(row, now)
            fired += 1
        return fired

    async def _fire(self, row: dict[str, Any], now: int) -> None:
        cron, tz = str(row["cron"]), row["tz"]
        # Fire times missed while the object was away collapse into this one firing;
        # the next is computed from now, so a long absence never causes a burst.
        next_at = _next_fire(cron, tz, now)
        self._store.fired(str(row["id"]), next_at, now)
        self._host.timers.changed()
        method = self._host.handler(str(row["handler"]))
        if method is None:
            logger.error("schedule %s names no method %r; skipped", row["id"], row["handler"])
            return
        info = ScheduleInfo(str(row["id"]), cron, tz, int(row["next_at"]), now)
        try:
            arguments = (info,) if _takes_argument(method) else ()
            await self._run_handler(method, *arguments)
        except HandlerTimeout as timeout:
            logger.error("schedule %s (handler %s) %s; it was cancelled", row["id"], row["handler"], timeout)
        except Exception:
            logger.exception("schedule %s (handler %s) failed", row["id"], row["handler"])
