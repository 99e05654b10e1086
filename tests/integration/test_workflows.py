"""DOWorkflow through the local runtime: events and handlers, schedules, durable steps,
restarts, a crash between a step and its record, and cross-object calls."""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx

from tests.runtime import LocalRuntime, new_tenant

HOUR_MS = 3_600_000


def rpc(runtime: LocalRuntime, tenant: str, method: str, *params: Any) -> Any:
    response = runtime.rpc(tenant, method, *params, binding="WORKFLOW").json()
    assert "result" in response, response
    return response["result"]


def counters(runtime: LocalRuntime, tenant: str, *keys: str) -> dict[str, Any]:
    result: dict[str, Any] = rpc(runtime, tenant, "counters", *keys)
    return result


def run_due(client: httpx.Client, now: int) -> dict[str, int]:
    response = client.post("/_workflow/_test/alarm", json={"now": now})
    assert response.status_code == 200, response.text
    result: dict[str, int] = response.json()
    return result


def now_ms() -> int:
    return int(time.time() * 1000)


def test_thing_writes_reach_durable_handlers_with_wildcards(runtime: LocalRuntime) -> None:
    tenant = new_tenant()
    with runtime.client(tenant) as c:
        customer = c.post("/_workflow/Customer", json={"name": "Ada"}).json()
        c.post("/_workflow/Order", json={"total": 3})
        c.patch(f"/_workflow/Customer/{customer['$id']}", json={"plan": "pro"})
    seen = counters(runtime, tenant, "seen:customer_created", "seen:any_created", "seen:order")
    assert seen["seen:customer_created"] == [customer["$id"]]
    assert seen["seen:any_created"] == ["Customer.created", "Order.created"]
    assert seen["seen:order"] == ["Order.created"]


def test_send_persists_and_run_time_handlers_are_isolated(runtime: LocalRuntime) -> None:
    tenant = new_tenant()
    result = rpc(runtime, tenant, "subscribe_and_send")
    assert result["seen"] == ["Customer.signedUp"]  # unsubscribed before the second send
    with runtime.client(tenant) as c:
        events = c.get("/_workflow/events", params={"type": "Customer.*"}).json()["items"]
        assert [e["type"] for e in events] == ["Customer.signedUp", "Customer.upgraded"]
        assert events[0]["id"] == result["first"] and events[0]["subject"] == "cust-1"
        assert (
            c.get("/_workflow/events", params={"type": "*.upgraded"}).json()["items"][0]["type"]
            == "Customer.upgraded"
        )
        bad = c.post("/_workflow/events", json={"type": "not-a-type"})
        assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_event_type"
        assert c.get("/_workflow/events", params={"type": "Cust*"}).status_code == 400


def test_event_history_pages_with_a_cursor(runtime: LocalRuntime) -> None:
    with runtime.client() as c:
        for i in range(5):
            c.post("/_workflow/events", json={"type": "Tick.happened", "data": {"i": i}})
        first = c.get("/_workflow/events", params={"type": "Tick.happened", "limit": "3"}).json()
        rest = c.get(
            "/_workflow/events", params={"type": "Tick.happened", "limit": "3", "cursor": first["cursor"]}
        ).json()
        assert [e["data"]["i"] for e in first["items"] + rest["items"]] == [0, 1, 2, 3, 4]
        assert rest["cursor"] is None
        later = c.get("/_workflow/events", params={"since": str(now_ms() + HOUR_MS)}).json()
        assert later["items"] == []


def test_failed_deliveries_retry_with_backoff_then_dead_letter_and_replay(runtime: LocalRuntime) -> None:
    tenant = new_tenant()
    with runtime.client(tenant) as c:
        sent_at = now_ms()
        c.post("/_workflow/events", json={"type": "Payment.failed", "data": {"fail_times": 3}})
        assert counters(runtime, tenant, "flaky:attempts")["flaky:attempts"] == 1
        assert run_due(c, sent_at + 500)["deliveries"] == 0  # the first retry waits 1 s
        assert run_due(c, sent_at + 5_000)["deliveries"] == 1  # second attempt (fails) at +5 s
        assert counters(runtime, tenant, "flaky:attempts")["flaky:attempts"] == 2
        assert run_due(c, sent_at + 6_500)["deliveries"] == 0  # the next waits 2 s: not at +1.5 s
        assert run_due(c, sent_at + 8_000)["deliveries"] == 1  # third failure: the retry limit
        dead = c.get("/_workflow/events/dead").json()["items"]
        assert len(dead) == 1 and dead[0]["handler"] == "flaky" and dead[0]["attempts"] == 3
        assert "attempt 3 fails" in dead[0]["last_error"]
        for bad in ("0", "1001", "ten"):  # a limit was ignored here once, whatever it said
            refused = c.get("/_workflow/events/dead", params={"limit": bad})
            assert (refused.status_code, refused.json()["error"]["code"]) == (400, "invalid_limit")
        page = c.get("/_workflow/events/dead", params={"limit": "1"}).json()
        assert page == {"items": dead, "has_more": False, "cursor": None}  # a page, as every list is
        rpc = c.post("/_workflow/rpc", json={"method": "dead_letters_page", "params": [1]}).json()
        assert rpc["result"] == page
        refused = c.get("/_workflow/events/dead", params={"cursor": "nope"})
        assert (refused.status_code, refused.json()["error"]["code"]) == (400, "invalid_cursor")
        after = c.get("/_workflow/events/dead", params={"cursor": dead[0]["id"]}).json()
        assert after == {"items": [], "has_more": False, "cursor": None}
        assert run_due(c, now_ms() + HOUR_MS)["deliveries"] == 0  # dead letters are not retried
        # a replay may name another durable handler of the event (a renamed one's new name)
        replay = f"/_workflow/events/dead/{dead[0]['id']}/replay"
        for body, status, code in [
            ({"handler": "count_borrow"}, 404, "handler_not_found"),
            ({"handler": 5}, 400, "invalid_params"),
            ({"handlr": "flaky"}, 400, "invalid_params"),
            (["flaky"], 400, "invalid_params"),
        ]:
            refused = c.post(replay, json=body)
            assert (refused.status_code, refused.json()["error"]["code"]) == (status, code), body
        assert "its handlers now: flaky" in c.post(replay, json={"handler": "x"}).json()["error"]["message"]
        assert c.get("/_workflow/events/dead").json()["items"] == dead  # refused: left as it was
        replayed = c.post(replay, json={"handler": "flaky"}).json()
        assert (replayed["handler"], replayed["delivered"]) == ("flaky", True)
        assert counters(runtime, tenant, "seen:payment")["seen:payment"] == [4]
        assert c.get("/_workflow/events/dead").json()["items"] == []
        assert c.post("/_workflow/events/dead/nope/replay").status_code == 404


def test_delayed_send_is_delivered_by_the_real_alarm(runtime: LocalRuntime) -> None:
    tenant = new_tenant()
    with runtime.client(tenant) as c:
        scheduled = c.post("/_workflow/events", json={"type": "Order.reminded", "delay": 1}).json()
        assert scheduled["scheduled"] is True
        assert counters(runtime, tenant, "seen:order")["seen:order"] is None
        timers = rpc(runtime, tenant, "alarm_and_timers")
        assert timers["alarm"] == timers["earliest"]  # one alarm, at the earliest timer
        deadline = time.monotonic() + 15
        while counters(runtime, tenant, "seen:order")["seen:order"] is None and time.monotonic() < deadline:
            time.sleep(0.2)
        assert counters(runtime, tenant, "seen:order")["seen:order"] == ["Order.reminded"]


def test_schedules_are_listed_fire_once_after_absence_and_can_be_removed(runtime: LocalRuntime) -> None:
    # the harness's hourly schedule must not be fired by the real alarm during the test
    to_next_hour = HOUR_MS - now_ms() % HOUR_MS
    if to_next_hour < 15_000:
        time.sleep(to_next_hour / 1000 + 1)
    tenant = new_tenant()
    with runtime.client(tenant) as c:
        schedules = {s["handler"]: s for s in c.get("/_workflow/schedules").json()["items"]}
        assert schedules["hourly"]["cron"] == "0 * * * *" and schedules["daily"]["cron"] == "0 9 * * *"
        hourly_at = schedules["hourly"]["next_at"]
        assert hourly_at % HOUR_MS == 0 and -60_000 < hourly_at - now_ms() <= HOUR_MS
        daily_at = schedules["daily"]["next_at"]
        assert daily_at >= hourly_at  # equal between 08:00 and 09:00 UTC
        # the object was away for hours, past many hourly fire times: one firing each, then
        # the next fire time after now
        away = daily_at + 60_000
        assert run_due(c, away)["schedules"] == 2
        assert counters(runtime, tenant, "fired:hourly")["fired:hourly"] == 1
        after = {s["handler"]: s for s in c.get("/_workflow/schedules").json()["items"]}
        assert after["hourly"]["next_at"] == (away // HOUR_MS + 1) * HOUR_MS
        assert after["hourly"]["last_fired_at"] == away
        assert after["daily"]["next_at"] == daily_at + 24 * HOUR_MS
        fired_daily = counters(runtime, tenant, "fired:daily")["fired:daily"]
        assert fired_daily == [daily_at]  # the handler got its ScheduleInfo
        ticker = rpc(runtime, tenant, "schedule_ticker")
        assert "persisted by name" in rpc(runtime, tenant, "schedule_closure")
        assert c.delete(f"/_workflow/schedules/{ticker}").json()["removed"] is True
        assert c.delete(f"/_workflow/schedules/{ticker}").status_code == 404
        # A class schedule is registered again at every start: its removal is refused, not lost.
        hourly = schedules["hourly"]["id"]
        refused = c.delete(f"/_workflow/schedules/{hourly}")
        assert refused.status_code == 409 and refused.json()["error"]["code"] == "schedule_declared"
        by_rpc = c.post("/_workflow/rpc", json={"method": "remove_schedule", "params": [hourly]})
        assert by_rpc.status_code == 409 and by_rpc.json()["error"]["code"] == "schedule_declared"
        assert hourly in {s["id"] for s in c.get("/_workflow/schedules").json()["items"]}
        # A declared id holds its cron's `/`: the path takes it raw (spaces encoded, as in any URL).
        leapday = schedules["leapday"]["id"]
        assert leapday == "class:leapday:0 0 29 2/12 *:UTC"
        refused = c.delete(f"/_workflow/schedules/{leapday}")
        assert refused.status_code == 409 and refused.json()["error"]["code"] == "schedule_declared"
        missing = c.delete("/_workflow/schedules/class:gone:*/5 * * * *:UTC")
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "schedule_not_found"
        assert "'class:gone:*/5 * * * *:UTC'" in missing.json()["error"]["message"]


def test_run_time_schedules_stop_at_their_bound_and_are_listed_a_page_at_a_time(
    runtime: LocalRuntime,
) -> None:
    tenant = new_tenant()
    ids = rpc(runtime, tenant, "schedule_tickers", 100)
    assert len(set(ids)) == 100
    # At the bound, one held already is answered with its id; a new one is refused.
    assert rpc(runtime, tenant, "schedule_ticker_daily_at", "00:07") == ids[7]
    with runtime.client(tenant) as c:
        refused = c.post("/_workflow/rpc", json={"method": "schedule_ticker_daily_at", "params": ["23:59"]})
        assert refused.status_code == 409 and refused.json()["error"]["code"] == "too_many_schedules"
        listed: list[str] = []
        cursor = None
        while True:
            page = c.get(
                "/_workflow/schedules", params={"limit": 40, **({"cursor": cursor} if cursor else {})}
            )
            assert page.status_code == 200, page.text
            listed += [s["id"] for s in page.json()["items"]]
            if (cursor := page.json()["cursor"]) is None:
                assert page.json()["has_more"] is False
                break
        held = [s["id"] for s in rpc(runtime, tenant, "list_schedules")]
        assert listed == held and len(held) == 103  # and the class's three; nothing of the refused one
        assert set(ids) <= set(held)
        bad = c.get("/_workflow/schedules", params={"cursor": "made-up"})
        assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_cursor"
        assert c.delete(f"/_workflow/schedules/{ids[0]}").status_code == 200
    assert rpc(runtime, tenant, "schedule_ticker_daily_at", "23:59") not in ids  # room for one again


def test_schedules_fire_after_a_restart_with_nothing_registered_again(runtime: LocalRuntime) -> None:
    tenant = new_tenant()
    # twelve hours away, so the real alarm cannot fire it while the runtime restarts
    far_hour = (now_ms() // HOUR_MS + 12) % 24
    ticker = rpc(runtime, tenant, "schedule_ticker_daily_at", f"{far_hour:02d}:00")
    with runtime.client(tenant) as c:
        next_at = {s["id"]: s["next_at"] for s in c.get("/_workflow/schedules").json()["items"]}[ticker]
    runtime.restart()
    with runtime.client(tenant) as c:
        assert run_due(c, next_at)["schedules"] >= 1  # the ticker, and hourly/daily if due then
    assert counters(runtime, tenant, "fired:ticker")["fired:ticker"] == 1
    timers = rpc(runtime, tenant, "alarm_and_timers")
    assert timers["alarm"] == timers["earliest"] and timers["alarm"] > next_at


def test_durable_handlers_are_found_by_name_after_a_restart(runtime: LocalRuntime) -> None:
    tenant = new_tenant()
    runtime.restart()
    with runtime.client(tenant) as c:
        c.post("/_workflow/Customer", json={"$id": "after-restart"})
    assert counters(runtime, tenant, "seen:customer_created")["seen:customer_created"] == ["after-restart"]


def test_workflow_steps_run_once_and_retries_wait_on_the_alarm(runtime: LocalRuntime) -> None:
    tenant = new_tenant()
    with runtime.client(tenant) as c:
        done = c.post("/_workflow/workflows/checkout", json={"input": {"id": "o-1"}, "id": "run-1"}).json()
        assert done["status"] == "completed"
        assert done["result"] == {"order": "o-1", "steps": ["reserve-done", "charge-done", "ship-done"]}
        again = c.post("/_workflow/workflows/checkout", json={"input": {"id": "o-1"}, "id": "run-1"}).json()
        assert again["status"] == "completed"  # the same run id: nothing runs again
        assert counters(runtime, tenant, "ran:charge")["ran:charge"] == 1

        started = now_ms()
        waiting = c.post(
            "/_workflow/workflows/flaky_flow", json={"input": {"fail_times": 2, "limit": 3}}
        ).json()
        assert waiting["status"] == "waiting" and 900 <= waiting["next_at"] - started <= 10_000
        assert run_due(c, started + 500)["workflows"] == 0  # not yet
        assert run_due(c, waiting["next_at"])["workflows"] == 1  # second attempt fails too
        status = c.get(f"/_workflow/workflows/{waiting['id']}").json()
        assert status["status"] == "waiting" and status["next_at"] - waiting["next_at"] >= 1_900  # backoff 2x
        run_due(c, status["next_at"])
        final = c.get(f"/_workflow/workflows/{waiting['id']}").json()
        assert final["status"] == "completed" and final["result"] == "flaky_step-ok-after-3"

        failing = c.post(
            "/_workflow/workflows/flaky_flow", json={"input": {"fail_times": 9, "limit": 1}}
        ).json()
        run_due(c, now_ms() + HOUR_MS)
        failed = c.get(f"/_workflow/workflows/{failing['id']}").json()
        assert failed["status"] == "failed" and "failed" in failed["error"]
        assert c.post("/_workflow/workflows/nope", json={}).status_code == 404
        assert c.get("/_workflow/workflows/nope").status_code == 404

        slow = c.post("/_workflow/workflows/slow_flow", json={}).json()
        assert slow["status"] == "failed" and "timed out after 0.2 s" in slow["error"]

    once = rpc(runtime, tenant, "once", "s1")
    assert once == {
        "first": "once-done",
        "second": "once-done",
        "ok": False,
        "error": "tried attempt 1 fails",
    }
    assert counters(runtime, tenant, "ran:once")["ran:once"] == 1


def test_a_crash_between_a_step_and_its_record_resumes_without_rerunning_completed_steps(
    runtime: LocalRuntime,
) -> None:
    tenant = new_tenant()
    with runtime.client(tenant) as c:
        assert (
            c.post("/_workflow/_test/fault", json={"point": "after_step:crash-run/charge"}).status_code == 200
        )

    def start() -> None:
        try:
            with runtime.client(tenant) as client:
                client.post(
                    "/_workflow/workflows/checkout",
                    json={"input": {"id": "o-9"}, "id": "crash-run"},
                    timeout=60,
                )
        except httpx.HTTPError:
            pass  # the runtime is stopped under this request

    caller = threading.Thread(target=start, daemon=True)
    caller.start()
    deadline = time.monotonic() + 30
    while counters(runtime, tenant, "ran:charge")["ran:charge"] != 1:
        assert time.monotonic() < deadline, "the workflow never reached the fault point"
        time.sleep(0.1)
    runtime.restart()  # the charge step ran, its record was never written
    caller.join(timeout=30)
    with runtime.client(tenant) as c:
        assert c.get("/_workflow/workflows/crash-run").json()["status"] == "running"
        assert run_due(c, now_ms() + HOUR_MS)["workflows"] == 1  # the lease ran out: resumed
        final = c.get("/_workflow/workflows/crash-run").json()
    assert final["status"] == "completed"
    ran = counters(runtime, tenant, "ran:reserve", "ran:charge", "ran:ship")
    # reserve was recorded before the crash and is not run again; charge ran before the
    # crash and again on resume (at least once); ship ran once.
    assert ran == {"ran:reserve": 1, "ran:charge": 2, "ran:ship": 1}


def test_a_run_replayed_into_reordered_steps_fails_with_step_mismatch(runtime: LocalRuntime) -> None:
    tenant = new_tenant()
    with runtime.client(tenant) as c:
        waiting = c.post("/_workflow/workflows/reorderable", json={"id": "reorder-run"}).json()
        assert waiting["status"] == "waiting"  # step 1 (load_profile) done, step 2 (charge_card) retries
        assert c.put("/_workflow/state/flag:reorder", json=True).status_code == 200  # the code changed
        assert run_due(c, waiting["next_at"])["workflows"] == 1
        failed = c.get("/_workflow/workflows/reorder-run").json()
        assert failed["status"] == "failed" and failed["next_at"] is None
        assert failed["error"] == (
            "step_mismatch: step 'step-1' recorded 'HarnessWorkflow._load_profile', "
            "now 'HarnessWorkflow._charge_card'"
        )
        assert run_due(c, now_ms() + HOUR_MS)["workflows"] == 0  # a failed run is not resumed
    # neither step ran again: step 1 did not hand load_profile's result to charge_card
    ran = counters(runtime, tenant, "ran:load_profile", "ran:charge_card")
    assert ran == {"ran:load_profile": 1, "ran:charge_card": 1}


def test_an_unchanged_run_replays_and_its_id_cannot_start_another_workflow(runtime: LocalRuntime) -> None:
    with runtime.client() as c:
        waiting = c.post("/_workflow/workflows/reorderable", json={"id": "same-order"}).json()
        run_due(c, waiting["next_at"])
        done = c.get("/_workflow/workflows/same-order").json()
        assert done["status"] == "completed" and done["result"] == ["profile", "charged"]
        other = c.post("/_workflow/workflows/checkout", json={"input": {"id": "o-1"}, "id": "same-order"})
        assert other.status_code == 409 and other.json()["error"]["code"] == "workflow_conflict"
        again = c.post("/_workflow/workflows/reorderable", json={"id": "same-order"})
        assert again.status_code == 201 and again.json()["result"] == ["profile", "charged"]


def test_an_explicit_step_id_reused_by_another_action_raises_step_mismatch(runtime: LocalRuntime) -> None:
    tenant = new_tenant()
    reused = rpc(runtime, tenant, "step_id_reused", "shared")
    assert reused == {
        "first": "profile",
        "error": "step_mismatch: step 'shared' recorded 'HarnessWorkflow._load_profile', "
        "now 'HarnessWorkflow._effect'",
        "code": "step_mismatch",
    }
    assert counters(runtime, tenant, "ran:other")["ran:other"] is None  # the other action never ran


def test_cross_object_calls_are_real_workers_rpc(runtime: LocalRuntime) -> None:
    tenant = new_tenant()
    answer = rpc(runtime, tenant, "call_customer", "cust-42", "hello")
    assert answer == f"delivered to {tenant}/Customer/cust-42"  # the tenant's own (ADR 0054)
    assert counters(runtime, f"{tenant}/Customer/cust-42", "inbox")["inbox"] == ["hello"]
    assert counters(runtime, tenant, "inbox")["inbox"] is None


def test_two_tenants_cross_object_calls_reach_two_objects(runtime: LocalRuntime) -> None:
    """`self.Customer("c1").notify()` from two tenants reached one object, "Customer/c1",
    shared by both: each tenant's call now reaches its own, and the shared one is untouched."""
    first, second = new_tenant(), new_tenant()
    shared = f"shared-{first}"
    assert (
        rpc(runtime, first, "call_customer", shared, "from first")
        == f"delivered to {first}/Customer/{shared}"
    )
    assert (
        rpc(runtime, second, "call_customer", shared, "from second")
        == f"delivered to {second}/Customer/{shared}"
    )
    assert counters(runtime, f"{first}/Customer/{shared}", "inbox")["inbox"] == ["from first"]
    assert counters(runtime, f"{second}/Customer/{shared}", "inbox")["inbox"] == ["from second"]
    assert counters(runtime, f"Customer/{shared}", "inbox")["inbox"] is None


def test_time_zone_schedules_in_the_runtime(runtime: LocalRuntime) -> None:
    tenant = new_tenant()
    oslo = rpc(runtime, tenant, "schedule_in_zone", "Europe/Oslo")
    assert oslo["tz"] == "Europe/Oslo"
    # 09:00 in Oslo is 08:00 UTC in winter, 07:00 UTC in summer
    assert (oslo["next_at"] // 60_000) % 60 == 0 and (oslo["next_at"] // HOUR_MS) % 24 in (7, 8)
    response = runtime.rpc(tenant, "schedule_in_zone", "Mars/Base", binding="WORKFLOW").json()
    assert "Unknown time zone" in response["error"]["message"]


def test_events_are_pushed_to_sockets_tagged_events(runtime: LocalRuntime) -> None:
    import json as jsonlib
    import socket as sockets

    from websockets.sync.client import connect

    tenant = new_tenant()
    url = f"ws://{tenant}.localhost:{runtime.port}/_workflow/ws?tags=events"
    loopback = sockets.create_connection(("127.0.0.1", runtime.port), timeout=30)
    with connect(url, sock=loopback, open_timeout=30) as socket:
        with runtime.client(tenant) as c:
            c.post("/_workflow/events", json={"type": "Order.packed", "data": {"n": 1}})
        pushed = jsonlib.loads(socket.recv(timeout=10))
    assert pushed["type"] == "event" and pushed["event"]["type"] == "Order.packed"
    assert pushed["event"]["data"] == {"n": 1}
