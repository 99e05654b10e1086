"""The scheduler in-process: class schedules kept in step with the class, run-time
schedules by method name, missed fire times collapsed into one firing, and wall-clock
schedules across daylight-saving changes."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from dotdo.errors import BadRequest, Conflict
from dotdo.workflows.bus import DeliveryPolicy
from dotdo.workflows.every import every
from dotdo.workflows.scheduler import MAX_RUNTIME_SCHEDULES
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


class Dies(App):
    """An hourly handler whose first attempt never ends (the object dies in it)."""

    @every.hour
    async def hourly(self, info: ScheduleInfo) -> None:
        self.log.append(("hourly", info.scheduled_at, info.fired_at))
        if len(fired(self.obj, "hourly")) == 1:
            await asyncio.Event().wait()


class Flaky(App):
    """An hourly handler that fails its first `FAILURES` attempts of every firing."""

    FAILURES = 2

    @every.hour
    async def hourly(self, info: ScheduleInfo) -> None:
        self.log.append(("hourly", info.scheduled_at, info.fired_at))
        if sum(1 for entry in fired(self.obj, "hourly") if entry[0] == info.scheduled_at) <= self.FAILURES:
            raise RuntimeError(f"attempt for {info.scheduled_at} fails")


def test_a_firing_the_object_died_in_runs_again_once_after_a_restart() -> None:
    obj = InProcess(Dies)

    async def die_in_the_handler() -> None:
        firing = asyncio.create_task(obj.timers.run_due(T0 + HOUR))
        while not obj.journal:
            await asyncio.sleep(0)
        firing.cancel()  # the object is gone with its handler: nothing after it runs
        with contextlib.suppress(asyncio.CancelledError):
            await firing

    run(die_in_the_handler())
    again = obj.restart()
    lease = 7_000  # the handler bound (2 s) and the lease's margin (5 s)
    assert again.storage.alarm == T0 + HOUR + lease  # armed for the lease, not the next hour
    assert run(again.timers.run_due(T0 + HOUR + lease))["schedules"] == 1
    assert fired(again, "hourly") == [(T0 + HOUR, T0 + HOUR), (T0 + HOUR, T0 + HOUR + lease)]
    stored = schedules(again)["hourly"]
    assert stored["firing_at"] is None and stored["last_error"] is None
    assert stored["next_at"] == T0 + 2 * HOUR and again.storage.alarm == T0 + 2 * HOUR
    assert run(again.timers.run_due(T0 + HOUR + 2 * lease))["schedules"] == 0  # once, not again


def test_a_failing_firing_is_retried_with_the_delivery_policy_then_given_up(
    caplog: pytest.LogCaptureFixture,
) -> None:
    obj = InProcess(Flaky)  # retry_limit 3, first wait 1 s, doubled
    assert run(obj.tick(HOUR))["schedules"] == 1
    stored = schedules(obj)["hourly"]
    assert stored["firing_at"] == T0 + HOUR and stored["firing_attempts"] == 1
    assert stored["firing_until"] == T0 + HOUR + 1_000 and "fails" in str(stored["last_error"])
    assert obj.storage.alarm == T0 + HOUR + 1_000
    assert run(obj.tick(1_000))["schedules"] == 1  # the second attempt fails: 2 s more
    assert schedules(obj)["hourly"]["firing_until"] == T0 + HOUR + 3_000
    assert run(obj.tick(2_000))["schedules"] == 1  # the third succeeds
    assert [entry[0] for entry in fired(obj, "hourly")] == [T0 + HOUR] * 3
    stored = schedules(obj)["hourly"]
    assert stored["firing_at"] is None and stored["last_error"] is None and stored["firing_attempts"] == 0

    Flaky.FAILURES = 5  # more failures than attempts: given up after the third
    try:
        assert run(obj.tick(HOUR - 3_000))["schedules"] == 1
        run(obj.tick(1_000))
        run(obj.tick(2_000))
        assert run(obj.tick(60_000))["schedules"] == 0
    finally:
        Flaky.FAILURES = 2
    assert [entry[0] for entry in fired(obj, "hourly")].count(T0 + 2 * HOUR) == 3
    stored = schedules(obj)["hourly"]
    assert stored["firing_at"] is None and "fails" in str(stored["last_error"])
    assert stored["next_at"] == T0 + 3 * HOUR
    assert "firing for 2026-01-01T02:00:00.000Z given up after 3 attempts" in caplog.text


def test_the_next_fire_time_replaces_a_firing_still_to_be_retried() -> None:
    obj = InProcess(Flaky, policy=DeliveryPolicy(retry_limit=3, retry_delay_ms=HOUR, handler_timeout=2.0))
    assert run(obj.tick(HOUR))["schedules"] == 1  # fails; its retry would be in an hour
    assert run(obj.tick(HOUR))["schedules"] == 1  # the next fire time: one firing, not two
    assert [entry[0] for entry in fired(obj, "hourly")] == [T0 + HOUR, T0 + 2 * HOUR]
    assert schedules(obj)["hourly"]["firing_at"] == T0 + 2 * HOUR


def test_a_class_schedule_cannot_be_removed_at_run_time() -> None:
    obj = InProcess(Reports)
    hourly = str(schedules(obj)["hourly"]["id"])
    with pytest.raises(Conflict) as refused:
        obj.scheduler.remove(hourly)
    assert refused.value.code == "schedule_declared" and "decorator" in str(refused.value)
    assert hourly in {s["id"] for s in obj.restart().scheduler.list()}  # and stays, as answered


def test_a_fire_time_due_while_its_handler_still_runs_waits_for_it() -> None:
    """One handler of a schedule at a time: the next fire time coming due while the last
    firing's handler still runs here started a second handler beside it (which then cleared
    the first one's mark); it is held until the running firing's lease, then fires once."""
    obj = InProcess(Dies)
    lease = 7_000  # the handler bound (2 s) and the lease's margin (5 s)

    async def next_hour_while_the_first_runs() -> None:
        first = asyncio.create_task(obj.timers.run_due(T0 + HOUR))
        while not obj.journal:
            await asyncio.sleep(0)
        assert (await obj.timers.run_due(T0 + 2 * HOUR))["schedules"] == 0
        assert len(fired(obj, "hourly")) == 1  # no second handler
        assert schedules(obj)["hourly"]["next_at"] == T0 + 2 * HOUR + lease
        first.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await first

    run(next_hour_while_the_first_runs())


class Pair(App):
    """Two run-time schedules due together; the first one's handler removes the second."""

    second_id = ""

    def first(self) -> None:
        self.log.append(("first", self.obj.timers.now()))
        self.obj.scheduler.remove(Pair.second_id)

    def second(self) -> None:
        self.log.append(("second", self.obj.timers.now()))


def test_a_schedule_removed_by_an_earlier_handler_of_the_same_pass_does_not_fire() -> None:
    """A timer pass read its due schedules at once and fired them one by one, each from the
    row it had read: a schedule removed while an earlier handler ran (by that handler here)
    fired all the same."""
    obj = InProcess(Pair)
    first = obj.scheduler.add(every(15).minutes, "first")
    Pair.second_id = obj.scheduler.add(every(15).minutes, "second")
    assert first < Pair.second_id  # the pass fires `first` first
    assert run(obj.tick(900_000))["schedules"] == 1
    assert fired(obj, "first") == [(T0 + 900_000,)] and fired(obj, "second") == []
    assert list(schedules(obj)) == ["first"]


class Evening(Reports):
    """Reports with one more class schedule: added at start whatever run-time ones exist."""

    @every.day.at("6pm")
    async def evening(self) -> None:
        self.log.append(("evening", self.obj.timers.now()))


def test_run_time_schedules_are_bounded_and_the_one_past_the_bound_writes_nothing() -> None:
    obj = InProcess(Reports)
    ids = [
        obj.scheduler.add(every.cron(f"{i % 60} {i // 60} * * *"), "report")
        for i in range(MAX_RUNTIME_SCHEDULES)
    ]
    assert len(set(ids)) == MAX_RUNTIME_SCHEDULES
    before, alarm = obj.scheduler.list(), obj.storage.alarm
    # The same schedule again, at the bound: already counted, so answered with its id.
    assert obj.scheduler.add(every.cron("7 0 * * *"), "report") == ids[7]
    with pytest.raises(Conflict) as refused:
        obj.scheduler.add(every.cron("0 23 * * *"), "report")
    assert refused.value.code == "too_many_schedules" and str(MAX_RUNTIME_SCHEDULES) in refused.value.message
    assert obj.scheduler.list() == before and obj.storage.alarm == alarm  # nothing written
    # The class's own schedules are bounded by the code, not refused at start.
    evening = obj.restart(Evening)
    assert {"hourly", "morning", "evening"} <= {str(s["handler"]) for s in evening.scheduler.list()}
    assert evening.scheduler.remove(ids[0]) is True  # one removed: room for one more
    evening.scheduler.add(every.cron("0 23 * * *"), "report")
    with pytest.raises(Conflict):
        evening.scheduler.add(every.cron("1 23 * * *"), "report")


def test_the_schedules_come_a_page_at_a_time_by_id() -> None:
    obj = InProcess(Reports)
    for i in range(70):
        obj.scheduler.add(every.cron(f"{i % 60} {i // 60} * * *"), "report")
    everything = [s["id"] for s in obj.scheduler.list()]
    assert len(everything) == 72  # and the class's two
    seen: list[object] = []
    cursor = None
    while True:
        page = obj.scheduler.page(limit=30, cursor=cursor)
        seen += [s["id"] for s in page["items"]]
        assert page["has_more"] is (page["cursor"] is not None)
        if (cursor := page["cursor"]) is None:
            break
        obj.scheduler.remove(cursor)  # removed meanwhile: the next page goes on after it
    assert seen == everything
    assert obj.scheduler.page()["items"] == obj.scheduler.list()[:100]
    for limit in (0, 1001, True, "10"):
        with pytest.raises(BadRequest) as bad:
            obj.scheduler.page(limit=limit)  # type: ignore[arg-type]
        assert bad.value.code == "invalid_limit"
    for cursor in ("nonsense", "", 5):
        with pytest.raises(BadRequest) as bad:
            obj.scheduler.page(cursor=cursor)  # type: ignore[arg-type]
        assert bad.value.code == "invalid_cursor"


class Zones(App):
    @every.hour
    async def hourly(self, info: ScheduleInfo) -> None:
        self.log.append(("hourly", info.id, info.tz))

    def report(self, info: ScheduleInfo) -> None:
        self.log.append(("report", info.id, info.tz))


def test_a_schedule_without_a_time_zone_shows_utc_wherever_it_is_shown() -> None:
    obj = InProcess(Zones)
    runtime_id = obj.scheduler.add(every.cron("30 * * * *"), "report")
    oslo_id = obj.scheduler.add(every.cron("45 * * * *", tz="Europe/Oslo"), "report")
    listed = {s["id"]: s["tz"] for s in obj.scheduler.list()}
    # Its id already said so (`class:hourly:0 * * * *:UTC`); the listing said null.
    assert listed == {"class:hourly:0 * * * *:UTC": "UTC", runtime_id: "UTC", oslo_id: "Europe/Oslo"}
    assert {s["id"]: s["tz"] for s in obj.scheduler.page()["items"]} == listed
    run(obj.tick(HOUR))
    assert set(obj.journal) == {
        ("hourly", "class:hourly:0 * * * *:UTC", "UTC"),
        ("report", runtime_id, "UTC"),
        ("report", oslo_id, "Europe/Oslo"),
    }
    # Stored as before (NULL for UTC): a row written by an older version reads the same,
    # and the ids, which a class schedule is kept in step by, do not change.
    assert {r["tz"] for r in obj.rows("SELECT tz FROM schedules")} == {None, "Europe/Oslo"}
    assert obj.restart().scheduler.list() == obj.scheduler.list()
