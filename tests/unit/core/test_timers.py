"""The timer service in-process: one alarm at the earliest wake of every source, re-armed in
one place; a pass runs every source at the time it was asked for."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from dotdo.core.timers import RETRY_BASE_MS, RETRY_MAX_MS, Source, TimerService, backoff
from tests.inprocess import T0, run
from tests.storage import Clock, Storage


class Queue:
    """A timer source over a list of due times: `run_due` takes those due."""

    def __init__(self, *due: int) -> None:
        self.due = sorted(due)
        self.ran: list[tuple[int, int]] = []  # (due time, the pass's now)

    def next_wake(self) -> int | None:
        return self.due[0] if self.due else None

    async def run_due(self, now: int) -> int:
        taken = [at for at in self.due if at <= now]
        self.due = [at for at in self.due if at > now]
        self.ran.extend((at, now) for at in taken)
        return len(taken)


def service(*sources: tuple[str, Queue]) -> tuple[TimerService, Storage, Clock]:
    storage, clock = Storage(), Clock(T0)
    timers = TimerService(storage, clock)
    for name, source in sources:
        timers.register(name, source)
    return timers, storage, clock


def test_the_alarm_is_the_earliest_wake_of_every_source_and_written_only_when_it_moves() -> None:
    early, late = Queue(T0 + 5_000), Queue(T0 + 2_000, T0 + 9_000)
    timers, storage, _ = service(("a", early), ("b", late))
    timers.rearm()
    assert storage.alarm == T0 + 2_000 and storage.alarm_writes == 1
    timers.rearm()  # nothing changed: nothing recomputed, nothing written
    timers.changed()
    timers.rearm()  # changed, but the earliest is the same: no write
    assert storage.alarm_writes == 1
    late.due = [T0 + 9_000]
    timers.changed()
    timers.rearm()
    assert storage.alarm == T0 + 5_000 and storage.alarm_writes == 2


def test_a_new_instance_with_nothing_to_wake_for_leaves_the_alarm_alone_until_it_knows() -> None:
    queue = Queue()
    timers, storage, _ = service(("q", queue))
    storage.alarm = T0 + 1  # whatever an earlier instance left
    timers.rearm()
    assert storage.alarm == T0 + 1 and storage.alarm_writes == 0  # a stale alarm only wakes us for nothing
    queue.due = [T0 + 50]
    timers.changed()
    timers.rearm()
    assert storage.alarm == T0 + 50
    queue.due = []
    timers.changed()
    timers.rearm()
    assert storage.alarm is None  # known to be ours now: deleted


def test_a_pass_runs_every_source_at_its_time_then_rearms() -> None:
    first, second = Queue(T0 + 1_000, T0 + 60_000), Queue(T0 + 3_000)
    timers, storage, clock = service(("first", first), ("second", second))
    seen: list[int] = []

    async def watch(now: int) -> int:
        seen.append(timers.now())
        return 0

    timers.register("watch", Source(lambda: None, watch))
    assert run(timers.run_due(T0 + 5_000)) == {"first": 1, "second": 1, "watch": 0}
    assert first.ran == [(T0 + 1_000, T0 + 5_000)] and second.ran == [(T0 + 3_000, T0 + 5_000)]
    assert seen == [T0 + 5_000]  # the pass sees the time it was run for
    assert timers.now() == clock() == T0  # and only the pass
    assert storage.alarm == T0 + 60_000


def test_the_alarm_counts_work_due_at_its_scheduled_time_even_if_the_clock_lags() -> None:
    queue = Queue(T0 + 10)
    timers, _, _ = service(("q", queue))
    assert run(timers.fire(scheduled_time=T0 + 10)) == {"q": 1}


def test_a_failing_source_stops_neither_the_others_nor_the_rearm_and_is_not_raised() -> None:
    after = Queue(T0 + 1, T0 + 99_000)

    async def broken(now: int) -> int:
        raise RuntimeError("source bug")

    timers, storage, _ = service()
    timers.register("broken", Source(lambda: T0, broken))
    timers.register("after", after)
    # The failing source is logged and held back; the pass (the runtime's alarm handler)
    # does not raise, which would have the runtime retry the alarm on top of the back-off.
    assert run(timers.run_due(T0 + 10)) == {"broken": 0, "after": 1}
    assert after.ran == [(T0 + 1, T0 + 10)]
    assert storage.alarm == T0 + 10 + RETRY_BASE_MS  # the broken source still wants to wake, after a backoff


def test_a_source_that_keeps_failing_is_retried_after_a_doubling_wait_not_at_once() -> None:
    """A checkpoint failing for good woke the object ~38 times a second: the alarm went
    back to the source's wake, already past, after every failing pass."""
    calls: list[int] = []
    healed = False

    async def broken(now: int) -> int:
        calls.append(now)
        if not healed:
            raise RuntimeError("fails every time")
        return 1

    timers, storage, _clock = service()
    timers.register("broken", Source(lambda: T0, broken))
    at = T0
    for failures in range(1, 12):
        assert run(timers.run_due(at)) == {"broken": 0}
        assert storage.alarm == at + backoff(RETRY_BASE_MS, failures, most=RETRY_MAX_MS)
        assert run(timers.run_due(storage.alarm - 1)) == {"broken": 0}  # not yet: not run
        at = storage.alarm
    assert len(calls) == 11
    assert [backoff(RETRY_BASE_MS, n, most=RETRY_MAX_MS) for n in (1, 2, 3, 9, 10, 11)] == [
        1_000,
        2_000,
        4_000,
        256_000,
        RETRY_MAX_MS,
        RETRY_MAX_MS,
    ]
    healed = True
    assert run(timers.run_due(at)) == {"broken": 1}
    assert storage.alarm == T0  # back to the source's own wake: no backoff left


def test_every_pass_runs_inside_what_the_layers_wrap_around_it() -> None:
    timers, _, _ = service(("q", Queue(T0)))
    order: list[str] = []

    async def around(inner: Callable[[], Awaitable[dict[str, int]]]) -> dict[str, int]:
        order.append("before")
        done = await inner()
        order.append("after")
        return done

    timers.around_passes(around)
    assert run(timers.run_due(T0)) == {"q": 1}
    assert order == ["before", "after"]


def test_a_source_name_is_registered_once() -> None:
    timers, _, _ = service(("q", Queue()))
    with pytest.raises(ValueError, match="'q'"):
        timers.register("q", Queue())


def test_after_the_alarm_fired_it_is_rearmed_for_what_is_left_and_otherwise_left_to_the_runtime() -> None:
    queue = Queue(T0 + 10, T0 + 20)
    timers, storage, clock = service(("q", queue))
    timers.rearm()
    clock.now = T0 + 10
    run(timers.fire(T0 + 10))
    assert storage.alarm == T0 + 20 and storage.alarm_writes == 2
    clock.now = T0 + 20
    run(timers.fire(T0 + 20))
    # the runtime drops an alarm that fired once its handler returns: nothing to delete
    assert storage.alarm_writes == 2


def test_time_travel_leaves_no_alarm_behind_for_work_it_ran() -> None:
    queue = Queue(T0 + 10)
    timers, storage, _ = service(("q", queue))
    timers.rearm()
    run(timers.run_due(T0 + 10))  # the runtime's alarm did not fire: it is still set, and deleted
    assert storage.alarm is None


def test_every_retry_backs_off_by_one_function() -> None:
    """Timer sources, the application's alarm, deliveries, steps and a dying runtime each
    worked out their own doubling wait; each waits as the documented policy says."""
    from dotdo.workflows.bus import DeliveryPolicy
    from dotdo.workflows.steps import MAX_DELAY_MS, RetryPolicy

    assert [backoff(2_000, n) for n in (1, 2, 3, 7)] == [2_000, 4_000, 8_000, 128_000]
    assert backoff(1_000, 0) == backoff(1_000, 1) == 1_000  # no failure yet waits as the first
    assert backoff(1.5, 3, factor=1) == 1.5 and backoff(5, 4, factor=3, most=100) == 100
    assert backoff(1_000, 10**6, most=RETRY_MAX_MS) == RETRY_MAX_MS  # stops at the bound: no overflow
    assert backoff(1_000, 10_000, factor=1e300, most=MAX_DELAY_MS) == MAX_DELAY_MS
    assert [DeliveryPolicy(retry_delay_ms=700).wait_ms(n) for n in (1, 2, 3)] == [700, 1_400, 2_800]
    assert DeliveryPolicy(retry_delay_ms=700).wait_ms(10**6) == MAX_DELAY_MS
    assert [RetryPolicy(limit=3, delay=0.5, backoff=3).wait_ms(n) for n in (1, 2, 3)] == [500, 1_500, 4_500]


def test_a_moved_clock_is_the_objects_time_outside_a_pass_and_a_pass_keeps_its_own() -> None:
    """`move_clock` (a test's `advance_time`): what the object schedules between passes
    counts from the moved time; a pass sees its own `now`, and a move during it (a request
    arriving while the pass awaits) takes effect when it ends."""
    seen: list[int] = []

    class Watch:
        def next_wake(self) -> int | None:
            return None

        async def run_due(self, now: int) -> int:
            seen.append(timers.now())
            timers.move_clock(9_000)
            seen.append(timers.now())
            return 0

    timers, _, _ = service(("watch", Watch()))  # type: ignore[arg-type]
    assert timers.now() == T0
    timers.move_clock(3_600_000)
    assert timers.now() == T0 + 3_600_000
    run(timers.run_due(T0 + 5))
    assert seen == [T0 + 5, T0 + 5]
    assert timers.now() == T0 + 9_000
    for bad in (-1, 1.5, True):
        with pytest.raises(ValueError, match="milliseconds >= 0"):
            timers.move_clock(bad)  # type: ignore[arg-type]
