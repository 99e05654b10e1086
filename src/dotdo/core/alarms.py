"""The application's alarm: `self.alarms.set(when)` / `get()` / `cancel()` and the
`on_alarm(info)` hook, on every layer.

It is one source of the timer service (`dotdo.core.timers`), which owns the object's one
runtime alarm: the time the application asked for is kept in the `dotdo_alarm` table, so
it survives whatever else re-arms the runtime's alarm (schedules, retries, workflow runs)
and the object's eviction. When it is due, `on_alarm` runs; if it raises, it is retried
as Cloudflare's runtime retries a failed alarm: after 2 s, doubling, up to 6 retries
(https://developers.cloudflare.com/durable-objects/api/alarms/).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from dotdo.core.hooks import completed
from dotdo.core.logs import instant
from dotdo.core.migrations import Migration
from dotdo.core.sql import Sql
from dotdo.core.timers import TimerService, backoff

__all__ = ["ALARM_MIGRATIONS", "MAX_RETRIES", "AlarmInfo", "Alarms", "to_epoch_ms"]

logger = logging.getLogger("dotdo.timers")

_LATEST_MS = 8.64e15  # the largest time a JavaScript Date holds
MAX_RETRIES = 6
"""Retries of a failed `on_alarm` before it is given up (Cloudflare's runtime retries 6 times)."""
FIRST_RETRY_MS = 2_000
"""The wait before the first retry; doubled each time after."""

ALARM_MIGRATIONS = (
    Migration(
        1,
        (
            # One row at most: the application's alarm. `scheduled_at` is the time asked
            # for; `due_at` when it runs next (later while a failed `on_alarm` is retried).
            """CREATE TABLE IF NOT EXISTS dotdo_alarm (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  scheduled_at INTEGER NOT NULL,
  due_at INTEGER NOT NULL,
  retries INTEGER NOT NULL DEFAULT 0
)""",
        ),
    ),
)


@dataclass(frozen=True)
class AlarmInfo:
    """What `on_alarm` receives: `scheduled_time` is the time the alarm was set for (epoch
    ms); `retry_count` how many times this alarm was retried after `on_alarm` raised."""

    retry_count: int
    is_retry: bool
    scheduled_time: int | None


def to_epoch_ms(when: datetime | timedelta | int | float, now: int | None = None) -> int:
    """An absolute time in epoch milliseconds from a datetime, a delay from `now` (epoch
    ms; the wall clock by default), or epoch ms.

    Raises TypeError for another type, ValueError for a naive datetime or a time a
    JavaScript Date cannot hold (the runtime refuses those)."""
    if isinstance(when, bool):
        raise TypeError("an alarm time is a datetime, a timedelta or epoch milliseconds")
    if isinstance(when, datetime):
        if when.tzinfo is None:
            raise ValueError("alarm datetimes must be timezone-aware (use UTC)")
        at: float = when.timestamp() * 1000
    elif isinstance(when, timedelta):
        base = now if now is not None else time.time() * 1000
        at = base + when.total_seconds() * 1000
    elif isinstance(when, int | float):
        at = when
    else:
        raise TypeError("an alarm time is a datetime, a timedelta or epoch milliseconds")
    if not 0 < at < _LATEST_MS:  # the runtime refuses <= 0; also refuses NaN
        raise ValueError(f"an alarm time is epoch milliseconds after 1970 that a Date can hold, not {at!r}")
    return int(at)


class Alarms:
    """The application's one alarm, kept in `dotdo_alarm` and run as a timer source.

    `on_alarm` is the object's hook, awaited when the alarm is due; `sql` holds the
    table and `timers` is the service it registers with (its clock is the alarm's).
    """

    def __init__(
        self,
        sql: Sql,
        timers: TimerService,
        on_alarm: Callable[[AlarmInfo], Awaitable[None] | None],
        log: logging.Logger | logging.LoggerAdapter[logging.Logger] = logger,
    ) -> None:
        """The alarm kept in `sql`, armed through `timers`, running `on_alarm`; a failing
        one is logged to `log` (DOCore's names the object, `core/logs.ObjectLog`)."""
        self._sql = sql
        self._timers = timers
        self._on_alarm = on_alarm
        self._log = log

    async def get(self) -> int | None:
        """When the application's alarm fires next, in epoch ms, or None."""
        row = self._sql.first("SELECT due_at FROM dotdo_alarm WHERE id = 1")
        return None if row is None else int(row["due_at"])

    async def set(self, when: datetime | timedelta | int | float) -> int:
        """Set the application's alarm to `when` (replacing any); returns it in epoch ms."""
        at = to_epoch_ms(when, self._timers.now())
        self._store(at, at, 0)
        return at

    async def set_earliest(self, when: datetime | timedelta | int | float) -> int:
        """Move the application's alarm earlier to `when`, never later; returns its time."""
        at = to_epoch_ms(when, self._timers.now())
        current = await self.get()
        if current is not None and current <= at:
            return current
        self._store(at, at, 0)
        return at

    async def cancel(self) -> None:
        """Remove the application's alarm (the other timers keep theirs)."""
        if self._sql.run("DELETE FROM dotdo_alarm WHERE id = 1"):
            self._timers.changed()
            self._timers.rearm()

    # -- the timer source ------------------------------------------------

    def next_wake(self) -> int | None:
        """When the alarm is due, in epoch ms, or None (as `get`, for the timer service)."""
        row = self._sql.first("SELECT due_at FROM dotdo_alarm WHERE id = 1")
        return None if row is None else int(row["due_at"])

    async def run_due(self, now: int) -> int:
        """Run `on_alarm` if the alarm is due. The row is removed first, so `on_alarm` may
        set the next alarm (and `get()` answers None while it runs, as the runtime's
        `getAlarm` does); if `on_alarm` raises and set none, a retry is stored."""
        row = self._sql.first("SELECT scheduled_at, due_at, retries FROM dotdo_alarm WHERE id = 1")
        if row is None or int(row["due_at"]) > now:
            return 0
        scheduled, retries = int(row["scheduled_at"]), int(row["retries"])
        self._sql.run("DELETE FROM dotdo_alarm WHERE id = 1")
        self._timers.changed()
        try:
            await completed(self._on_alarm(AlarmInfo(retries, retries > 0, scheduled)))
        except Exception:
            if retries >= MAX_RETRIES:
                self._log.exception(
                    "on_alarm failed %d times; the alarm set for %s is given up",
                    retries + 1,
                    instant(scheduled),
                )
            elif await self.get() is None:
                wait = int(backoff(FIRST_RETRY_MS, retries + 1))
                self._log.exception("on_alarm failed (attempt %d); retried in %d ms", retries + 1, wait)
                self._store(scheduled, self._timers.now() + wait, retries + 1)
            else:
                self._log.exception("on_alarm failed and set a new alarm: that one stands, no retry")
        return 1

    def _store(self, scheduled: int, due: int, retries: int) -> None:
        self._sql.run(
            "INSERT INTO dotdo_alarm (id, scheduled_at, due_at, retries) VALUES (1, ?, ?, ?) "
            "ON CONFLICT(id) DO UPDATE SET scheduled_at = excluded.scheduled_at, "
            "due_at = excluded.due_at, retries = excluded.retries "
            # the same alarm set again writes nothing
            "WHERE (dotdo_alarm.scheduled_at, dotdo_alarm.due_at, dotdo_alarm.retries) "
            "IS NOT (excluded.scheduled_at, excluded.due_at, excluded.retries)",
            scheduled,
            due,
            retries,
        )
        self._timers.changed()
        self._timers.rearm()
