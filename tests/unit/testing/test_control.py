"""The test routes `dotdo.testing` mixes into a project's objects: a pass of the timer service
at the time asked for, a named fault point armed once, and a 400 for anything else. Driven
in-process on a stand-in with the two things the mixin uses (the `routes` hook and the
timer service over the sqlite3 stand-in of `ctx.storage`)."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import pytest

from dotdo.core import faults
from dotdo.core.http import HttpRequest, HttpResponse
from dotdo.core.router import Router
from dotdo.core.timers import TimerService
from dotdo.testing import control
from dotdo.testing.control import ALARM_PATH, FAULT_PATH, ControlRoutes
from tests.inprocess import T0
from tests.storage import Clock, Storage


class Due:
    """A timer source over a list of due times (epoch ms)."""

    def __init__(self, *due: int) -> None:
        self.due = sorted(due)
        self.ran_at: list[int] = []

    def next_wake(self) -> int | None:
        return self.due[0] if self.due else None

    async def run_due(self, now: int) -> int:
        ready = [at for at in self.due if at <= now]
        self.due = [at for at in self.due if at > now]
        self.ran_at.extend(now for _ in ready)
        return len(ready)


class Obj:
    """What a DOCore subclass offers the mixin: a `routes` hook and `self.timers`."""

    def __init__(self, source: Due) -> None:
        self.timers = TimerService(Storage(), Clock(T0))
        self.timers.register("due", source)
        self.own_routes = False

    def routes(self, router: Router) -> None:
        self.own_routes = True


class Served(ControlRoutes, Obj):
    pass


def _call(obj: Served, path: str, body: Any = None, raw: bytes | None = None) -> HttpResponse:
    router = Router()
    obj.routes(router)
    payload = raw if raw is not None else b"" if body is None else json.dumps(body).encode()
    request = HttpRequest("POST", f"https://acme.example.com{path}", {}, payload)
    return asyncio.run(router.handle(request))


@pytest.fixture(autouse=True)
def _no_armed_points() -> Any:
    faults.disarm_all()
    yield
    faults.disarm_all()


def test_the_apps_own_routes_stay() -> None:
    obj = Served(Due())
    _call(obj, ALARM_PATH)
    assert obj.own_routes


def test_a_pass_runs_what_is_due_at_the_time_asked_for() -> None:
    source = Due(T0 + 1_000, T0 + 60_000)
    obj = Served(source)
    answer = _call(obj, ALARM_PATH, {"now": T0 + 5_000})
    assert answer.status == 200
    assert json.loads(answer.body) == {"due": 1}
    assert source.ran_at == [T0 + 5_000]
    assert json.loads(_call(obj, ALARM_PATH, {"now": T0 + 60_000}).body) == {"due": 1}


def test_without_a_time_the_pass_runs_at_the_objects_clock() -> None:
    source = Due(T0 - 1, T0 + 1)
    obj = Served(source)
    assert json.loads(_call(obj, ALARM_PATH).body) == {"due": 1}  # an empty body
    assert json.loads(_call(obj, ALARM_PATH, {}).body) == {"due": 0}  # no "now"
    assert source.ran_at == [T0]


@pytest.mark.parametrize(
    "body", [{"now": "soon"}, {"now": True}, {"now": [1]}, "tomorrow", 5000, {"now": 2**63}, {"now": 1e300}]
)
def test_a_time_that_is_not_a_number_is_refused(body: Any) -> None:
    answer = _call(Served(Due()), ALARM_PATH, body)
    assert answer.status == 400
    assert json.loads(answer.body)["error"]["code"] == "invalid_now"


def test_a_non_finite_time_is_refused() -> None:
    answer = _call(Served(Due()), ALARM_PATH, raw=b'{"now": 1e999}')
    assert answer.status == 400


def test_a_fault_point_is_armed_for_its_detail() -> None:
    answer = _call(Served(Due()), FAULT_PATH, {"point": "after_step:run-1/charge"})
    assert answer.status == 200
    assert json.loads(answer.body) == {"point": "after_step:run-1/charge"}
    assert faults.armed() == [(faults.AFTER_STEP, "run-1/charge")]


@pytest.mark.parametrize(
    "body", [{"point": "before_lunch:x"}, {"point": "after_step"}, {"point": "after_step:"}, {}, [1]]
)
def test_an_unknown_or_incomplete_fault_point_is_refused(body: Any) -> None:
    answer = _call(Served(Due()), FAULT_PATH, body)
    assert answer.status == 400
    assert json.loads(answer.body)["error"]["code"] == "invalid_fault"
    assert faults.armed() == []


@pytest.mark.parametrize("point", sorted(faults.REACHED_NOW))
def test_a_point_reached_inside_a_transaction_holds_the_isolate_instead_of_failing(
    point: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Such a point cannot await: an async action there was a TypeError that rolled the
    # transaction back, so a crash script could never stop the runtime at it.
    monkeypatch.setattr(control, "SPIN_ITERATIONS", 1000)
    assert _call(Served(Due()), FAULT_PATH, {"point": f"{point}:7"}).status == 200
    with pytest.raises(RuntimeError, match="was held and the runtime was not killed"):
        faults.reach_now(point, "7")
    assert faults.armed() == []


def test_every_point_reached_synchronously_is_one_of_reached_now() -> None:
    source = Path(control.__file__).resolve().parent.parent
    reached = {
        name
        for path in source.rglob("*.py")
        for name in re.findall(r"reach_now\(faults\.([A-Z_]+)", path.read_text())
    }
    assert reached and {getattr(faults, name) for name in reached} <= faults.REACHED_NOW
    awaited = {
        name
        for path in source.rglob("*.py")
        for name in re.findall(r"await faults\.reach\(faults\.([A-Z_]+)", path.read_text())
    }
    assert not {getattr(faults, name) for name in awaited} & faults.REACHED_NOW
