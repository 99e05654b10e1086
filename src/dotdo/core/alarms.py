"""The object's one alarm: set, read, cancel.

Layers above multiplex their own timers (schedules, retries, delayed sends) onto
it by overriding `DOCore.on_alarm` and calling `super()`; whichever wants the
earliest wake-up sets the alarm with `set_earliest`.
"""

from __future__ import annotations

import inspect
import time
from datetime import datetime, timedelta
from typing import Any

__all__ = ["Alarms", "to_epoch_ms"]

_LATEST_MS = 8.64e15  # the largest time a JavaScript Date holds


def to_epoch_ms(when: datetime | timedelta | int | float) -> int:
    """An absolute time in epoch milliseconds from a datetime, a delay, or epoch ms."""
    if isinstance(when, bool):
        raise TypeError("an alarm time is a datetime, a timedelta or epoch milliseconds")
    if isinstance(when, datetime):
        if when.tzinfo is None:
            raise ValueError("alarm datetimes must be timezone-aware (use UTC)")
        at: float = when.timestamp() * 1000
    elif isinstance(when, timedelta):
        at = time.time() * 1000 + when.total_seconds() * 1000
    elif isinstance(when, int | float):
        at = when
    else:
        raise TypeError("an alarm time is a datetime, a timedelta or epoch milliseconds")
    if not 0 < at < _LATEST_MS:  # the runtime refuses <= 0; also refuses NaN
        raise ValueError(f"an alarm time is epoch milliseconds after 1970 that a Date can hold, not {at!r}")
    return int(at)


class Alarms:
    def __init__(self, storage: Any) -> None:
        self._storage = storage

    async def get(self) -> int | None:
        """When the alarm fires next, in epoch ms, or None."""
        value = await self._storage.getAlarm()
        return None if value is None else int(value)

    async def set(self, when: datetime | timedelta | int | float) -> int:
        at = to_epoch_ms(when)
        await self._storage.setAlarm(at)
        return at

    async def set_earliest(self, when: datetime | timedelta | int | float) -> int:
        """Move the alarm earlier to `when`, never later; returns the alarm's time."""
        at = to_epoch_ms(when)
        current = await self.get()
        if current is not None and current <= at:
            return current
        await self._storage.setAlarm(at)
        return at

    async def cancel(self) -> None:
        await self._storage.deleteAlarm()

    def arm(self, at_ms: int | None) -> None:
        """Set (or, with None, delete) the alarm without waiting for the write.

        For code that cannot await (inside a transaction, a sync hook). The
        storage call is issued now, and the object's output gate holds any
        response until it is durable, so not awaiting loses nothing.
        """
        pending = self._storage.deleteAlarm() if at_ms is None else self._storage.setAlarm(at_ms)
        close = getattr(pending, "close", None)
        if inspect.iscoroutine(pending) and close is not None:
            close()  # the SDK wraps the JS promise in a coroutine that only converts the result
