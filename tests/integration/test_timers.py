"""The application's own alarm beside a class schedule on one DOWorkflow subclass, through
the real runtime: both fire, in either order, across an eviction and a runtime restart.

Before the timer service, the workflow layer re-armed the object's one alarm for its own
timers whenever the object woke, so an alarm the application set with `self.alarms.set`
was lost, and `on_alarm` ran on every schedule's wake instead of its own.
"""

from __future__ import annotations

import time
from typing import Any

from tests.eviction import rebuilt
from tests.runtime import LocalRuntime, new_tenant

MINUTE_MS = 60_000
LEAD_MS = 50_000  # two or more eviction checks fit before the first timer
SPARE_MS = 8_000  # the last eviction check and the state check end before the first timer
ROUNDS = 4  # a busy runtime may keep the objects awake past one round: new times, new round


def call(runtime: LocalRuntime, tenant: str, method: str, *params: Any) -> Any:
    response = runtime.rpc(tenant, method, *params, binding="TIMERS").json()
    assert "result" in response, response
    return response["result"]


def now_ms() -> int:
    return int(time.time() * 1000)


def test_an_app_alarm_and_a_class_schedule_both_fire_across_eviction_and_restart(
    runtime: LocalRuntime,
) -> None:
    first, second = new_tenant(), new_tenant()  # the app's alarm before the tick, and after it
    for _ in range(ROUNDS):
        tick = -(-(now_ms() + LEAD_MS) // MINUTE_MS) * MINUTE_MS  # a firing of the `@every.minute` schedule
        app_at = {first: tick - 10_000, second: tick + 10_000}
        for tenant, at in app_at.items():  # a later round replaces the alarm before it fires
            assert call(runtime, tenant, "set_app_alarm", at) == at
            state = call(runtime, tenant, "timer_state")
            assert state["app"] == at and state["armed"] == state["earliest"] == min(at, state["tick"])
        built = {tenant: call(runtime, tenant, "built_at") for tenant in app_at}
        # asking wakes an object that was evicted: the wake that used to drop the alarm
        window = (min(app_at.values()) - SPARE_MS - now_ms()) / 1000
        if rebuilt(lambda tenant: call(runtime, tenant, "built_at"), built, within=window) == set(app_at):
            break
    else:
        raise AssertionError(f"the runtime did not evict the objects before their timers in {ROUNDS} rounds")
    for tenant, at in app_at.items():
        assert call(runtime, tenant, "timer_state")["app"] == at  # still set after the wake

    runtime.restart()

    deadline = time.monotonic() + (tick + 10_000 - now_ms()) / 1000 + 60
    logs: dict[str, Any] = {}
    unanswered = ""
    while time.monotonic() < deadline:
        try:
            logs = {tenant: call(runtime, tenant, "timer_log") for tenant in app_at}
        except ValueError as error:  # a call the restarted runtime answered with no JSON: ask again
            unanswered = repr(error)
            time.sleep(1)
            continue
        if all(
            log["fired:alarm"] and any(t["scheduled"] == tick for t in log["fired:tick"])
            for log in logs.values()
        ):
            break
        time.sleep(1)
    assert logs, f"the runtime never answered after its restart: {unanswered}"
    for tenant, at in app_at.items():
        log = logs[tenant]
        (alarm,) = log["fired:alarm"]  # once, for the app's own time, not for the schedule's wakes
        assert alarm["scheduled"] == at and alarm["at"] >= at, log
        ticks = [t for t in log["fired:tick"] if t["scheduled"] == tick]
        assert len(ticks) == 1 and ticks[0]["at"] >= tick, log
        state = call(runtime, tenant, "timer_state")
        assert state["app"] is None
        assert state["armed"] == state["earliest"] == state["tick"] > tick
