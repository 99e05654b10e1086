"""The timer service: the object's one alarm, shared by every timer of every layer.

A Durable Object has a single alarm. Components register with the service as *timer
sources*: each owns its table, says when it next needs to wake (`next_wake`) and runs
what is due (`run_due`). The service owns the runtime's alarm: it is set to the earliest
wake across the sources in one place (`rearm`), and when it fires the service runs every
source's due work, then re-arms. The application's own alarm (`self.alarms`) is one
source among them, beside schedules, delivery retries, delayed sends and workflow runs.
The model is the Agents SDK's scheduler capability (a capability owns its table and
reports its next wake; the agent owns the alarm and re-arms it).

Time is the service's clock (`now()`), which a pass run for a given time (`run_due(now)`)
moves for its duration, so everything written during it sees that time; tests pass a
controllable clock.
"""

from __future__ import annotations

import inspect
import logging
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from dotdo.core.logs import Log

__all__ = [
    "RETRY_BASE_MS",
    "RETRY_MAX_MS",
    "Around",
    "Clock",
    "Source",
    "TimerService",
    "TimerSource",
    "backoff",
    "wall_clock",
]

logger = logging.getLogger("dotdo.timers")

Clock = Callable[[], int]
"""Epoch milliseconds now."""

Around = Callable[[Callable[[], Awaitable[dict[str, int]]]], Awaitable[dict[str, int]]]
"""Runs a pass of due work (the callable) inside whatever a layer needs around it."""

_UNKNOWN: Any = object()


RETRY_BASE_MS = 1_000
"""How long a source that failed waits before its next run (ms), doubled each failure."""
RETRY_MAX_MS = 300_000
"""The longest wait between two runs of a source that keeps failing (ms)."""


def backoff(first: float, failures: int, *, factor: float = 2.0, most: float = math.inf) -> float:
    """The one back-off of every retry (timer sources, the application's alarm, deliveries,
    steps, a dying runtime): the wait after the `failures`-th failure in a row (1 for the
    first), in the unit of `first`: `first`, times `factor` (>= 1) for each failure after
    the first, at most `most`. Multiplied step by step, and no further once at `most`:
    `factor ** n` of a large factor or count overflows a float."""
    wait = min(most, first)
    if factor > 1:
        for _ in range(failures - 1):
            if wait >= most:
                break
            wait = min(most, wait * factor)
    return wait


def wall_clock() -> int:
    """The runtime's clock in epoch milliseconds."""
    return int(time.time() * 1000)


class TimerSource(Protocol):
    """What a component registers with the timer service."""

    def next_wake(self) -> int | None:
        """Epoch ms of the earliest work this source has waiting, or None."""
        ...

    def run_due(self, now: int) -> Awaitable[int]:
        """Run the work due at `now` (epoch ms); returns how many items ran."""
        ...


@dataclass(frozen=True)
class Source:
    """A timer source made of two functions, for a component that keeps more than one
    kind of timer (the event bus: delayed sends and delivery retries)."""

    next_wake: Callable[[], int | None]
    run_due: Callable[[int], Awaitable[int]]


class TimerService:
    """The one alarm of one object, multiplexed over named timer sources.

    `storage` is the runtime's `ctx.storage` (`setAlarm`, `deleteAlarm`, `getAlarm`);
    `clock` gives epoch milliseconds (tests pass a controllable one); `log` takes a failing
    source's line (`dotdo.timers`; DOCore gives its object's `ObjectLog`). Sources run in
    the order they were registered.
    """

    def __init__(self, storage: Any, clock: Clock = wall_clock, log: Log = logger) -> None:
        self._log = log
        self._storage = storage
        self._clock = clock
        self._sources: dict[str, TimerSource] = {}
        self._around: list[Around] = []
        self._armed: int | None = _UNKNOWN
        self._failures: dict[str, tuple[int, int]] = {}
        """Sources failing in a row: name -> (failures, epoch ms before which it is not run)."""
        self._dirty = True
        self._offset = 0
        self._skew = 0  # the offset, or during a pass, its `now` less the clock at its start
        self._passing = False
        self.alarm_writes = 0
        """How often this service set or deleted the runtime's alarm (for measurements)."""

    def register(self, name: str, source: TimerSource) -> None:
        """Add a source under `name` (the key of its count in `run_due`'s answer)."""
        if name in self._sources:
            raise ValueError(f"a timer source named {name!r} is registered already")
        self._sources[name] = source
        self._dirty = True

    def around_passes(self, around: Around) -> None:
        """Run every pass of due work inside `around` (the event bus makes a pass a caller
        that waits for the events it raised)."""
        self._around.append(around)

    def now(self) -> int:
        """Epoch milliseconds, as the pass running now sees them (the clock, moved on by
        `move_clock` when a test moved it)."""
        return self._clock() + self._skew

    def move_clock(self, offset_ms: int) -> None:
        """From now on, this object's time is the clock's plus `offset_ms` (>= 0): delays,
        retries, schedules and deadlines count from it. `dotdo.testing`'s `advance_time`
        moves an object's time with its client's; 0, the default, is the runtime's clock."""
        if isinstance(offset_ms, bool) or not isinstance(offset_ms, int) or offset_ms < 0:
            raise ValueError(f"a clock offset is an int of milliseconds >= 0, not {offset_ms!r}")
        self._offset = offset_ms
        if not self._passing:  # a pass keeps its own `now`; its end takes the offset up
            self._skew = offset_ms

    def changed(self) -> None:
        """A source's next wake may have moved: the next `rearm` recomputes the alarm."""
        self._dirty = True

    def next_wake(self) -> int | None:
        """The earliest wake across every source, or None."""
        wakes = []
        for name, source in self._sources.items():
            wake = source.next_wake()
            if wake is not None:
                held = self._failures.get(name)
                wakes.append(wake if held is None else max(wake, held[1]))
        return min(wakes) if wakes else None

    def rearm(self) -> None:
        """Point the runtime's alarm at the earliest wake, if the timers may have changed.

        Not knowing what the runtime holds (a new instance, or after the alarm fired) and
        with nothing to wake for, the alarm is left alone: a stale one only wakes the
        object for nothing, while deleting it would cost a storage operation on every wake.
        """
        if not self._dirty and self._armed is not _UNKNOWN:
            return
        wake = self.next_wake()
        self._dirty = False
        if wake is None and self._armed is _UNKNOWN:
            self._armed = None
            return
        if wake != self._armed:
            self._arm(wake)
            self._armed = wake

    async def armed(self) -> int | None:
        """The time the runtime's alarm is set to (epoch ms), or None."""
        value = await self._storage.getAlarm()
        return None if value is None else int(value)

    async def run_due(self, now: int) -> dict[str, int]:
        """Run every source's work due at `now`, as if the clock said `now`; then re-arm.

        Returns how many items each source ran, by source name. A source that raises is
        logged, counts 0 and the others still run; the pass does not raise. A source that
        failed is not run again before the `backoff` of its failures in a row has passed
        (the alarm is re-armed for then, not for its wake, which is already past): a
        source failing for good would otherwise wake the object at once, again and again.
        That is the one retry of a failing source: raised to the alarm handler, the error
        would make the runtime retry the alarm on its own back-off as well, re-running
        every source's pass for a source that is held back. The count lives in memory: a
        new instance tries at once.
        """
        self._skew = now - self._clock()
        self._passing = True

        async def one_pass() -> dict[str, int]:
            done: dict[str, int] = {}
            for name, source in list(self._sources.items()):
                held = self._failures.get(name)
                if held is not None and now < held[1]:
                    done[name] = 0
                    continue
                try:
                    done[name] = await source.run_due(now)
                except Exception:
                    failures = 1 if held is None else held[0] + 1
                    wait = int(backoff(RETRY_BASE_MS, failures, most=RETRY_MAX_MS))
                    self._failures[name] = (failures, now + wait)
                    self._log.exception(
                        "timer source %s failed (%d in a row; next try in %d ms)", name, failures, wait
                    )
                    done[name] = 0
                else:
                    self._failures.pop(name, None)
            return done

        run: Callable[[], Awaitable[dict[str, int]]] = one_pass
        for around in self._around:
            run = _wrapped(around, run)
        try:
            done = await run()
        finally:
            self._skew = self._offset
            self._passing = False
            self._dirty = True
            self.rearm()
        return done

    async def fire(self, scheduled_time: int | None = None) -> dict[str, int]:
        """The runtime's alarm fired: run what is due. Work due at the time the runtime
        scheduled the alarm counts as due, even if the clock reads a little earlier."""
        # The alarm that fired is spent: the runtime drops it when the handler returns,
        # unless the handler set it again.
        self._armed = _UNKNOWN
        return await self.run_due(max(self._clock(), scheduled_time or 0))

    def _arm(self, at_ms: int | None) -> None:
        """Set (or, with None, delete) the runtime's alarm without waiting for the write.

        Callers cannot always await (a sync hook, a transaction). The storage call is
        issued now, and the object's output gate holds any response until it is durable,
        so not awaiting loses nothing.
        """
        self.alarm_writes += 1
        pending = self._storage.deleteAlarm() if at_ms is None else self._storage.setAlarm(at_ms)
        close = getattr(pending, "close", None)
        if inspect.iscoroutine(pending) and close is not None:
            close()  # the SDK wraps the JS promise in a coroutine that only converts the result


def _wrapped(
    around: Around, inner: Callable[[], Awaitable[dict[str, int]]]
) -> Callable[[], Awaitable[dict[str, int]]]:
    async def run() -> dict[str, int]:
        return await around(inner)

    return run
