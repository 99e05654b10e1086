"""The application's own alarm beside a class schedule on one DOWorkflow subclass, through
the real runtime: both fire, in either order, across an eviction and a runtime restart.

Before the timer service, the workflow layer re-armed the object's one alarm for its own
timers whenever the object woke, so an alarm the application set with `self.alarms.set`
was lost, and `on_alarm` ran on every schedule's wake instead of its own.
"""

from __future__ import annotations

import time
from typing import Any

from tests.runtime import LocalRuntime, new_tenant

MINUTE_MS = 60_000
IDLE_SECONDS = 13  # the runtime evicts an idle object after ~10 s (tests/integration/test_hibernation.py)
LEAD_MS = 50_000  # eviction (one or more idle waits) and a restart fit before the first timer


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
    tick = -(-(now_ms() + LEAD_MS) // MINUTE_MS) * MINUTE_MS  # a firing of the `@every.minute` schedule
    app_at = {first: tick - 10_000, second: tick + 10_000}
    for tenant, at in app_at.items():
        assert call(runtime, tenant, "set_app_alarm", at) == at
        state = call(runtime, tenant, "timer_state")
        assert state["app"] == at and state["armed"] == state["earliest"] == min(at, state["tick"])

    built = {tenant: call(runtime, tenant, "built_at") for tenant in app_at}
    evicted: set[str] = set()
    for _ in range(3):  # asking wakes an object that was evicted: the wake that used to drop the alarm
        time.sleep(IDLE_SECONDS)
        evicted |= {t for t in app_at if t not in evicted and call(runtime, t, "built_at") != built[t]}
        if evicted == set(app_at):
            break
    assert evicted == set(app_at), "the runtime did not evict the objects"
    for tenant, at in app_at.items():
        assert call(runtime, tenant, "timer_state")["app"] == at  # still set after the wake

    runtime.restart()

    deadline = time.monotonic() + (tick + 10_000 - now_ms()) / 1000 + 30
    logs: dict[str, Any] = {}
    while time.monotonic() < deadline:
        logs = {tenant: call(runtime, tenant, "timer_log") for tenant in app_at}
        if all(
            log["fired:alarm"] and any(t["scheduled"] == tick for t in log["fired:tick"])
            for log in logs.values()
        ):
            break
        time.sleep(1)
    for tenant, at in app_at.items():
        log = logs[tenant]
        (alarm,) = log["fired:alarm"]  # once, for the app's own time, not for the schedule's wakes
        assert alarm["scheduled"] == at and alarm["at"] >= at, log
        ticks = [t for t in log["fired:tick"] if t["scheduled"] == tick]
        assert len(ticks) == 1 and ticks[0]["at"] >= tick, log
        state = call(runtime, tenant, "timer_state")
        assert state["app"] is None
        assert state["armed"] == state["earliest"] == state["tick"] > tick
