"""The scheduler in-process: class schedules kept in step with the class, run-time
schedules by method name, missed fire times collapsed into one firing, and wall-clock
schedules across daylight-saving changes."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from dotdo.workflows.every import every
from dotdo.workflows.steps import ScheduleInfo
from tests.inprocess import T0, App, InProcess, run
from tests.storage import Clock

HOUR = 3_600_000
OSLO = ZoneInfo("Europe/Oslo")


def epoch_ms(text: str, zone: ZoneInfo | None = None) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=zone or UTC).timestamp() * 1000)


class Reports(App):
    @every.hour
    async def hourly(self) -> None:
        self.log.append(("hourly", self.obj.timers.now()))

    @every.day.at("9am", tz="Europe/Oslo")
    async def morning(self, info: ScheduleInfo) -> None:
        self.log.append(("morning", info.scheduled_at, info.fired_at))

    def report(self) -> None:
        self.log.append(("report", self.obj.timers.now()))

    async def broken(self) -> None:
        raise RuntimeError("report failed")


class HourlyOnly(App):
    @every.hour
    async def hourly(self) -> None:
        self.log.append(("hourly", self.obj.timers.now()))


def fired(obj: InProcess, kind: str) -> list[tuple[object, ...]]:
    return [entry[1:] for entry in obj.journal if entry[0] == kind]


def schedules(obj: InProcess) -> dict[str, dict[str, object]]:
    return {str(s["handler"]): s for s in obj.scheduler.list()}


def test_class_schedules_are_stored_once_and_follow_the_class() -> None:
    obj = InProcess(Reports)
    stored = schedules(obj)
    assert set(stored) == {"hourly", "morning"}
    assert stored["hourly"]["next_at"] == T0 + HOUR and stored["hourly"]["source"] == "class"
    assert stored["morning"]["next_at"] == epoch_ms("2026-01-01T09:00", OSLO)
    assert obj.storage.alarm == T0 + HOUR
    again = obj.restart()
    assert again.scheduler.list() == obj.scheduler.list()  # nothing registered twice
    changed = obj.restart(HourlyOnly)  # the decorator was removed from the code
    assert set(schedules(changed)) == {"hourly"}


def test_missed_fire_times_collapse_into_one_firing_and_the_next_is_from_then() -> None:
    obj = InProcess(Reports)
    away = T0 + 5 * HOUR + 600_000  # five hourly fire times missed
    assert run(obj.timers.run_due(away))["schedules"] == 1  # the hourly one; 9am Oslo is later
    assert fired(obj, "hourly") == [(away,)]
    assert schedules(obj)["hourly"]["next_at"] == T0 + 6 * HOUR
    assert schedules(obj)["hourly"]["last_fired_at"] == away
    assert obj.storage.alarm == T0 + 6 * HOUR


def test_a_wall_clock_schedule_keeps_its_local_time_across_daylight_saving_changes() -> None:
    spring = InProcess(
        Reports, clock=Clock(epoch_ms("2026-03-28T10:00", OSLO))
    )  # Oslo springs forward next night
    first = schedules(spring)["morning"]["next_at"]
    assert first == epoch_ms("2026-03-29T09:00", OSLO)
    assert first - epoch_ms("2026-03-28T09:00", OSLO) == 23 * HOUR  # 9am local, after a shorter day
    run(spring.timers.run_due(first))
    second = schedules(spring)["morning"]["next_at"]
    assert second == epoch_ms("2026-03-30T09:00", OSLO) and second - first == 24 * HOUR
    assert fired(spring, "morning") == [(first, first)]  # the handler's ScheduleInfo: scheduled, fired

    autumn = InProcess(Reports, clock=Clock(epoch_ms("2026-10-24T10:00", OSLO)))  # falls back next night
    first = schedules(autumn)["morning"]["next_at"]
    assert first - epoch_ms("2026-10-24T09:00", OSLO) == 25 * HOUR


def test_run_time_schedules_name_a_method_and_can_be_removed() -> None:
    obj = InProcess(Reports)
    schedule_id = obj.scheduler.add(every(15).minutes, "report")
    assert obj.scheduler.add(every(15).minutes, "report") == schedule_id  # the same id: not twice
    stored = schedules(obj)["report"]
    assert stored["source"] == "runtime" and stored["next_at"] == T0 + 900_000
    assert obj.storage.alarm == T0 + 900_000
    assert run(obj.tick(900_000))["schedules"] == 1 and fired(obj, "report") == [(T0 + 900_000,)]
    assert obj.scheduler.remove(schedule_id) is True
    assert obj.scheduler.remove(schedule_id) is False
    assert obj.storage.alarm == T0 + HOUR
    with pytest.raises(TypeError, match="no method 'nothing'"):
        obj.scheduler.add(every.hour, "nothing")


def test_a_failing_schedule_handler_is_logged_and_the_schedule_moves_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    obj = InProcess(Reports)
    obj.scheduler.add(every(30).minutes, "broken")
    assert run(obj.tick(1_800_000))["schedules"] == 1
    assert "report failed" in caplog.text
    broken = schedules(obj)["broken"]
    assert broken["next_at"] == T0 + HOUR and broken["last_fired_at"] == T0 + 1_800_000


def test_a_schedule_whose_method_is_gone_is_skipped_not_fatal(caplog: pytest.LogCaptureFixture) -> None:
    obj = InProcess(Reports)
    obj.scheduler.add(every(30).minutes, "report")
    gone = obj.restart(HourlyOnly)  # run-time schedules stay; this class has no `report`
    assert run(gone.tick(1_800_000))["schedules"] == 1
    assert "names no method 'report'" in caplog.text
    assert gone.journal == []
