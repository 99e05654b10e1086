"""The run engine in-process: steps run once and replay from their records, retries wait on
the alarm with back-off, a run lost with its object resumes when its lease runs out (a
fault point crashes it between a step and its record), and a replay into other code fails
with `step_mismatch`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from dotdo.core import faults
from dotdo.core.state import MAX_VALUE_BYTES
from dotdo.errors import Conflict, NotFound, PayloadTooLarge, StepMismatch
from dotdo.values import FANOUT_DEPTH, RESULT_DEPTH
from dotdo.workflows.steps import Suspend, workflow
from tests.inprocess import T0, App, InProcess, run

LEASE = 60_000


class Crash(BaseException):
    """The runtime dying under the engine (nothing after it runs)."""


class Shop(App):
    reorder = False

    def count(self, name: str) -> int:
        return sum(1 for entry in self.log if entry == ("ran", name))

    async def effect(self, name: str) -> str:
        self.log.append(("ran", name))
        return f"{name}-done"

    async def fails(self, name: str, times: int) -> str:
        self.log.append(("ran", name))
        if self.count(name) <= times:
            raise RuntimeError(f"{name} attempt {self.count(name)} fails")
        return f"{name}-ok"

    async def load_profile(self) -> str:
        return await self.effect("load_profile")

    async def charge_card(self) -> str:
        return await self.fails("charge_card", 1)

    @workflow
    async def checkout(self, order: dict[str, Any]) -> dict[str, Any]:
        steps = [
            await self.obj.runs.do(self.effect, name, step_id=name) for name in ("reserve", "charge", "ship")
        ]
        return {"order": order["id"], "steps": steps}

    @workflow
    async def flaky(self, spec: dict[str, int]) -> str:
        retries = {"limit": spec["limit"], "delay": 1, "backoff": 2}
        return str(await self.obj.runs.do(self.fails, "step", spec["fail_times"], retries=retries))

    @workflow
    async def reorderable(self, _: object) -> list[str]:
        steps = [self.load_profile, self.charge_card]
        if Shop.reorder:
            steps.reverse()
        return [await self.obj.runs.do(step, retries={"limit": 2, "delay": 1}) for step in steps]

    @workflow
    async def swallows(self, _: object) -> str:
        try:
            await self.obj.runs.do(self.effect, "first", step_id="one")
        except StepMismatch:
            return "carried on"
        return "ran"


@pytest.fixture(autouse=True)
def clean() -> Iterator[None]:
    Shop.reorder = False
    yield
    faults.disarm_all()
    Shop.reorder = False


def ran(obj: InProcess, name: str) -> int:
    return sum(1 for entry in obj.journal if entry == ("ran", name))


def test_steps_run_once_and_a_known_run_id_returns_the_run_as_it_is() -> None:
    obj = InProcess(Shop)
    done = run(obj.runs.start("checkout", {"id": "o-1"}, "run-1"))
    assert done["status"] == "completed" and done["next_at"] is None
    assert done["result"] == {"order": "o-1", "steps": ["reserve-done", "charge-done", "ship-done"]}
    again = run(obj.runs.start("checkout", {"id": "o-1"}, "run-1"))
    assert again == done and ran(obj, "charge") == 1
    with pytest.raises(Conflict) as conflict:
        run(obj.runs.start("flaky", {}, "run-1"))
    assert conflict.value.code == "workflow_conflict"
    with pytest.raises(NotFound) as unknown:
        run(obj.runs.start("nope"))
    assert unknown.value.code == "workflow_not_found"
    assert obj.storage.alarm is None  # a finished run holds no timer
    with pytest.raises(PayloadTooLarge) as too_large:
        run(obj.runs.start("checkout", {"id": "x" * MAX_VALUE_BYTES}, "big"))
    assert too_large.value.code == "value_too_large"
    with pytest.raises(NotFound):
        obj.runs.status("big")  # nothing stored


def test_a_failed_step_waits_on_the_alarm_with_back_off_and_replays_from_its_records(
    caplog: pytest.LogCaptureFixture,
) -> None:
    obj = InProcess(Shop)
    waiting = run(obj.runs.start("flaky", {"fail_times": 2, "limit": 3}))
    assert waiting["status"] == "waiting" and waiting["next_at"] == T0 + 1_000
    # when, for a reader: it said "retried at 1767225601000"
    assert "failed (attempt 1), retried in 1.0 s (at 2026-01-01T00:00:01.000Z)" in caplog.text
    assert obj.storage.alarm == T0 + 1_000
    assert run(obj.tick(999))["workflows"] == 0
    assert run(obj.tick(1))["workflows"] == 1
    status = obj.runs.status(waiting["id"])
    assert status["status"] == "waiting" and status["next_at"] == T0 + 1_000 + 2_000  # doubled
    assert "failed (attempt 2), retried in 2.0 s (at 2026-01-01T00:00:03.000Z)" in caplog.text
    run(obj.tick(2_000))
    final = obj.runs.status(waiting["id"])
    assert final["status"] == "completed" and final["result"] == "step-ok"
    assert ran(obj, "step") == 3


def test_a_step_out_of_retries_fails_the_run_for_good() -> None:
    obj = InProcess(Shop)
    failing = run(obj.runs.start("flaky", {"fail_times": 9, "limit": 1}))
    run(obj.tick(1_000))
    failed = obj.runs.status(failing["id"])
    assert failed["status"] == "failed" and failed["next_at"] is None
    assert "step attempt 2 fails" in failed["error"]
    assert run(obj.tick(3_600_000))["workflows"] == 0 and ran(obj, "step") == 2


def test_a_run_that_crashed_between_a_step_and_its_record_resumes_when_its_lease_runs_out() -> None:
    obj = InProcess(Shop)

    async def crash() -> None:
        raise Crash

    faults.arm(faults.AFTER_STEP, "crash-run/charge", crash)
    with pytest.raises(Crash):
        run(obj.runs.start("checkout", {"id": "o-9"}, "crash-run"))
    assert faults.armed() == []  # once
    lost = obj.restart()  # the runtime came back
    assert lost.runs.status("crash-run")["status"] == "running"
    assert lost.storage.alarm == T0 + LEASE
    assert run(lost.tick(LEASE - 1))["workflows"] == 0  # the lease still holds
    assert run(lost.tick(1))["workflows"] == 1
    final = lost.runs.status("crash-run")
    assert final["status"] == "completed" and final["result"]["steps"][1] == "charge-done"
    # reserve was recorded before the crash: not run again; charge ran, was not recorded,
    # and ran again (at least once); ship ran once
    assert (ran(lost, "reserve"), ran(lost, "charge"), ran(lost, "ship")) == (1, 2, 1)


def test_a_run_replayed_into_reordered_steps_fails_with_step_mismatch() -> None:
    obj = InProcess(Shop)
    waiting = run(obj.runs.start("reorderable", None, "reorder-run"))
    assert waiting["status"] == "waiting"  # load_profile done; charge_card retries
    Shop.reorder = True  # the code changed under the waiting run
    assert run(obj.tick(1_000))["workflows"] == 1
    failed = obj.runs.status("reorder-run")
    assert failed["status"] == "failed" and failed["next_at"] is None
    assert failed["error"] == (
        "step_mismatch: step 'step-1' recorded 'Shop.load_profile', now 'Shop.charge_card'"
    )
    assert ran(obj, "load_profile") == 1 and ran(obj, "charge_card") == 1  # nothing ran twice


def test_a_mismatch_fails_the_run_even_when_the_workflow_catches_it() -> None:
    obj = InProcess(Shop)  # a waiting run whose first step was recorded by other code
    obj.sql.run(
        "INSERT INTO action_log (step_id, status, result, attempts, updated_at, name) "
        "VALUES ('caught/one', 'completed', '\"x\"', 1, 0, 'Shop.other')"
    )
    obj.sql.run(
        "INSERT INTO dotdo_workflow_runs (id, name, input, status, next_at, created_at, updated_at) "
        "VALUES ('caught', 'swallows', 'null', 'waiting', ?, 0, 0)",
        T0,
    )
    assert run(obj.timers.run_due(T0))["workflows"] == 1
    status = obj.runs.status("caught")
    assert status["status"] == "failed" and status["error"].startswith("step_mismatch")


def test_an_unchanged_run_replays_to_completion() -> None:
    obj = InProcess(Shop)
    waiting = run(obj.runs.start("reorderable", None, "same"))
    run(obj.tick(1_000))
    done = obj.runs.status(waiting["id"])
    assert done["status"] == "completed" and done["result"] == ["load_profile-done", "charge_card-ok"]


def test_outside_a_run_a_step_needs_an_id_never_retries_and_raises_its_error() -> None:
    obj = InProcess(Shop)
    app = obj.app
    assert isinstance(app, Shop)
    assert run(obj.runs.do(app.effect, "once", step_id="s1")) == "once-done"
    assert run(obj.runs.do(app.effect, "once", step_id="s1")) == "once-done"
    assert ran(obj, "once") == 1
    with pytest.raises(ValueError, match="needs a step_id"):
        run(obj.runs.do(app.effect, "x"))
    with pytest.raises(ValueError, match="inside a workflow run only") as outside:
        run(obj.runs.do(app.effect, "x", step_id="s2", retries={"limit": 1}))
    assert "await self.start_workflow(name, input)" in str(outside.value)  # what to do instead
    with pytest.raises(RuntimeError, match="attempt 1 fails"):
        run(obj.runs.do(app.fails, "outside", 5, step_id="s3"))
    assert obj.rows("SELECT step_id FROM action_log WHERE step_id = 's3'") == []  # not recorded
    with pytest.raises(StepMismatch) as mismatch:
        run(obj.runs.do(app.load_profile, step_id="s1"))
    assert mismatch.value.code == "step_mismatch"
    attempt = run(obj.runs.try_(app.fails, "tried", 5))
    assert attempt.ok is False and str(attempt.error) == "tried attempt 1 fails"


class Seams(Shop):
    """The run engine's seams for steps that keep records of their own (a fan-out's
    targets) or run calls that would be steps themselves (an AI call in a cascade tier)."""

    @workflow
    async def reserving(self, _: object) -> list[Any]:
        runs = self.obj.runs
        first = runs.reserve_step()
        named = runs.reserve_step("mine")
        await runs.do(self.effect, "reserved", step_id=first[0] if first else None)
        with runs.detached():
            inside = runs.reserve_step()  # as outside a run: nothing to record under
        return [first, named, inside, runs.reserve_step()]


def test_reserve_step_takes_the_next_position_and_detached_leaves_the_run() -> None:
    obj = InProcess(Seams)
    assert obj.runs.reserve_step() is None and obj.runs.reserve_step("s") == ("s", "s")
    status = run(obj.runs.start("reserving", None, "r"))
    assert status["result"] == [["step-1", "r/step-1"], ["mine", "r/mine"], None, ["step-2", "r/step-2"]]
    assert [row["step_id"] for row in obj.rows("SELECT step_id FROM action_log")] == ["r/step-1"]


class Waiter(App):
    """A workflow that waits with no timer until something wakes it (DOFull's waits)."""

    @workflow
    async def parked(self, _: object) -> str:
        await self.obj.runs.do(self.effect, step_id="before")
        if not self.log.count(("go",)):
            raise Suspend(None)
        return "went on"

    async def effect(self) -> None:
        self.log.append(("ran", "before"))


def test_a_run_suspended_with_no_time_holds_no_timer_until_woken() -> None:
    obj = InProcess(Waiter)
    waiting = run(obj.runs.start("parked", None, "p-1"))
    assert waiting["status"] == "waiting" and waiting["next_at"] is None
    assert obj.storage.alarm is None and run(obj.tick(86_400_000))["workflows"] == 0
    assert not obj.runs.wake("nope") and not run(obj.runs.resume("nope"))
    obj.journal.append(("go",))
    assert obj.runs.wake("p-1") and obj.runs.status("p-1")["next_at"] == T0 + 86_400_000
    again = obj.restart()  # woken durably: the alarm replays it if nothing else does
    assert again.storage.alarm == T0 + 86_400_000
    assert run(again.tick(0))["workflows"] == 1
    assert again.runs.status("p-1")["result"] == "went on"
    assert not again.runs.wake("p-1")  # a finished run is left as it is
    assert ran(again, "before") == 1


def test_resume_replays_a_woken_run_at_once() -> None:
    obj = InProcess(Waiter)
    run(obj.runs.start("parked", None, "p-2"))
    obj.journal.append(("go",))
    assert run(obj.runs.resume("p-2"))
    assert obj.runs.status("p-2")["status"] == "completed" and ran(obj, "before") == 1


class Records(App):
    @workflow
    async def hand_back(self, depth: int) -> Any:
        return await self.obj.runs.do(self.nested, depth, step_id="nested")

    async def nested(self, depth: int) -> Any:
        value: Any = [1]
        for _ in range(depth - 1):
            value = [value]
        return value


def test_a_step_and_a_run_hold_any_record_the_framework_hands_a_workflow_and_no_deeper() -> None:
    """A step's result and a run's result may be any record the framework hands a
    workflow's code unchanged (a fan-out's, `{"outcomes": [{"value": page}]}`, the deepest:
    `values.RESULT_DEPTH`); one level more is refused as every value past its bound is."""
    assert RESULT_DEPTH == FANOUT_DEPTH == 37
    obj = InProcess(Records)
    assert run(obj.runs.start("hand_back", RESULT_DEPTH, "deepest"))["status"] == "completed"
    failed = run(obj.runs.start("hand_back", RESULT_DEPTH + 1, "deeper"))
    assert failed["status"] == "failed" and "nested deeper than 37 levels" in failed["error"]
