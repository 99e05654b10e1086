"""The application's alarm is one source of the timer service: other timers re-arm the one
runtime alarm without losing it, `on_alarm` runs when (and only when) it is due, and a
failing `on_alarm` is retried as the runtime retries a failed alarm."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dotdo.core.alarms import MAX_RETRIES, AlarmInfo, to_epoch_ms
from dotdo.workflows.every import every
from tests.inprocess import T0, App, InProcess, run

MINUTE = 60_000


class Ticking(App):
    """A class schedule beside the application's alarm."""

    @every.minute
    async def tick(self) -> None:
        self.log.append(("tick", self.obj.timers.now()))


def alarms_fired(obj: InProcess) -> list[AlarmInfo]:
    return [entry[1] for entry in obj.app.log if entry[0] == "alarm"]


def test_set_get_cancel_and_set_earliest() -> None:
    obj = InProcess(App)
    assert run(obj.alarms.get()) is None
    assert run(obj.alarms.set(T0 + 10_000)) == T0 + 10_000
    assert run(obj.alarms.get()) == T0 + 10_000 and obj.storage.alarm == T0 + 10_000
    assert run(obj.alarms.set_earliest(T0 + 20_000)) == T0 + 10_000  # never later
    assert run(obj.alarms.set_earliest(T0 + 5_000)) == T0 + 5_000
    assert run(obj.alarms.set(timedelta(seconds=3))) == T0 + 3_000  # from the service's clock
    run(obj.alarms.cancel())
    assert run(obj.alarms.get()) is None and obj.storage.alarm is None


def test_the_same_alarm_set_again_writes_nothing() -> None:
    obj = InProcess(App)
    run(obj.alarms.set(T0 + 10_000))
    rows, alarm_writes = obj.sql.rows_written, obj.storage.alarm_writes
    assert run(obj.alarms.set(T0 + 10_000)) == T0 + 10_000
    assert (obj.sql.rows_written, obj.storage.alarm_writes) == (rows, alarm_writes)
    assert run(obj.alarms.get()) == T0 + 10_000
    run(obj.alarms.set(T0 + 20_000))
    assert obj.sql.rows_written == rows + 1 and run(obj.alarms.get()) == T0 + 20_000


@pytest.mark.parametrize("app_at", [T0 + 30_000, T0 + 90_000], ids=["before the tick", "after the tick"])
def test_an_app_alarm_and_a_class_schedule_both_fire_on_new_instances(app_at: int) -> None:
    obj = InProcess(Ticking)
    run(obj.alarms.set(app_at))
    assert obj.storage.alarm == min(app_at, T0 + MINUTE)
    obj = obj.restart()  # evicted: the new instance's timers re-arm the alarm
    assert obj.storage.alarm == min(app_at, T0 + MINUTE)
    while obj.clock() < T0 + 2 * MINUTE:
        assert obj.storage.alarm is not None
        obj.clock.now = obj.storage.alarm  # the runtime's alarm fires when it is set to
        obj = obj.restart()  # on a new instance every time
        run(obj.timers.fire(obj.clock()))
    assert alarms_fired(obj) == [AlarmInfo(retry_count=0, is_retry=False, scheduled_time=app_at)]
    assert [entry[1] for entry in obj.journal if entry[0] == "tick"] == [T0 + MINUTE, T0 + 2 * MINUTE]
    assert obj.storage.alarm == T0 + 3 * MINUTE


def test_on_alarm_runs_once_when_due_and_never_for_other_timers() -> None:
    obj = InProcess(Ticking)
    run(obj.alarms.set(T0 + 90_000))
    run(obj.tick(MINUTE))  # the tick's wake
    assert alarms_fired(obj) == [] and run(obj.alarms.get()) == T0 + 90_000
    assert obj.storage.alarm == T0 + 90_000
    run(obj.tick(30_000))
    assert alarms_fired(obj) == [AlarmInfo(retry_count=0, is_retry=False, scheduled_time=T0 + 90_000)]
    assert run(obj.alarms.get()) is None and obj.storage.alarm == T0 + 2 * MINUTE
    run(obj.tick(MINUTE))
    assert len(alarms_fired(obj)) == 1


def test_on_alarm_may_set_the_next_alarm_and_sees_none_while_it_runs() -> None:
    seen: list[int | None] = []

    obj: InProcess

    async def again(info: AlarmInfo) -> None:
        seen.append(await obj.alarms.get())
        if len(seen) < 3:
            await obj.alarms.set(timedelta(seconds=10))

    obj = InProcess(App, on_alarm=again)
    run(obj.alarms.set(T0 + 10_000))
    for _ in range(4):
        run(obj.tick(10_000))
    assert seen == [None, None, None]
    assert run(obj.alarms.get()) is None


def test_a_failing_on_alarm_is_retried_with_back_off_then_given_up(caplog: pytest.LogCaptureFixture) -> None:
    infos: list[AlarmInfo] = []

    async def failing(info: AlarmInfo) -> None:
        infos.append(info)
        raise RuntimeError("no luck")

    obj = InProcess(App, on_alarm=failing)
    run(obj.alarms.set(T0 + 1_000))
    run(obj.tick(1_000))
    waits = []
    while (due := run(obj.alarms.get())) is not None:
        waits.append(due - obj.clock())
        obj.clock.now = due
        run(obj.timers.fire(due))
    assert waits == [2_000 * 2**n for n in range(MAX_RETRIES)]
    assert [info.retry_count for info in infos] == list(range(MAX_RETRIES + 1))
    assert {info.scheduled_time for info in infos} == {T0 + 1_000}
    assert [info.is_retry for info in infos] == [False] + [True] * MAX_RETRIES
    assert "the alarm set for 2026-01-01T00:00:01.000Z is given up" in caplog.text


def test_a_plain_def_on_alarm_runs_once_and_is_done() -> None:
    """An `on_alarm` overridden with a plain `def` did its work, then failed at the `await`
    of its result (None): the alarm counted as failed and the hook ran again at each of its
    six retries."""
    infos: list[AlarmInfo] = []

    def plain(info: AlarmInfo) -> None:
        infos.append(info)

    obj = InProcess(App, on_alarm=plain)
    run(obj.alarms.set(T0 + 1_000))
    run(obj.tick(1_000))
    assert [info.retry_count for info in infos] == [0]
    assert run(obj.alarms.get()) is None


def test_a_failing_on_alarm_that_set_a_new_alarm_keeps_that_one() -> None:
    obj: InProcess

    async def failing(info: AlarmInfo) -> None:
        await obj.alarms.set(T0 + 50_000)
        raise RuntimeError("no luck")

    obj = InProcess(App, on_alarm=failing)
    run(obj.alarms.set(T0 + 1_000))
    run(obj.tick(1_000))
    assert run(obj.alarms.get()) == T0 + 50_000


@pytest.mark.parametrize("bad", [True, "soon", None])
def test_an_alarm_time_of_another_type_is_a_type_error(bad: object) -> None:
    with pytest.raises(TypeError):
        to_epoch_ms(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [0, -5, float("nan"), 9e15, datetime(2026, 1, 1)])
def test_an_alarm_time_a_date_cannot_hold_or_a_naive_datetime_is_a_value_error(bad: object) -> None:
    with pytest.raises(ValueError):
        to_epoch_ms(bad)  # type: ignore[arg-type]


def test_an_aware_datetime_is_its_epoch_milliseconds() -> None:
    assert to_epoch_ms(datetime(2026, 1, 1, tzinfo=UTC)) == T0
