"""Handlers that do what handlers are for (send, write, start workflows, call other
objects that call back) through the local runtime: the request answers, chained events
arrive in emission order, nothing runs twice, and a handler that never returns is cut off,
retried, dead-lettered and named in the log.

Every request here has a client timeout, so a wedged object fails the test instead of
hanging it."""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx

from tests.runtime import LocalRuntime, new_tenant

HOUR_MS = 3_600_000
ANSWER_WITHIN = 20.0  # seconds; far above what any request here needs, even on a loaded machine
HANDLER_TIMEOUT = 3  # HarnessWorkflow.handler_timeout


def rpc(runtime: LocalRuntime, tenant: str, method: str, *params: Any) -> Any:
    response = runtime.rpc(tenant, method, *params, binding="WORKFLOW").json()
    assert "result" in response, response
    return response["result"]


def counters(runtime: LocalRuntime, tenant: str, *keys: str) -> dict[str, Any]:
    result: dict[str, Any] = rpc(runtime, tenant, "counters", *keys)
    return result


def run_due(client: httpx.Client, now: int) -> dict[str, int]:
    response = client.post("/_workflow/_test/alarm", json={"now": now}, timeout=ANSWER_WITHIN)
    assert response.status_code == 200, response.text
    result: dict[str, int] = response.json()
    return result


def now_ms() -> int:
    return int(time.time() * 1000)


def wait_for_log(runtime: LocalRuntime, *parts: str) -> str:
    """The first server log line holding every one of `parts` (polled: the log is written
    by another process)."""
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        for line in runtime.log_path.read_text(errors="replace").splitlines():
            if all(part in line for part in parts):
                return line
        time.sleep(0.2)
    raise AssertionError(f"no log line with {parts!r}:\n{runtime.log_tail(30)}")


def test_a_handler_that_sends_answers_and_chains_arrive_in_emission_order(runtime: LocalRuntime) -> None:
    tenant = new_tenant()
    with runtime.client(tenant) as c:
        created = c.post("/_workflow/Alpha", json={}, timeout=ANSWER_WITHIN)
        assert created.status_code == 201, created.text
        # three deep (Alpha -> Beta -> Gamma), all delivered before the response, first in
        # first out: Delta was sent before Gamma, by the handler of an earlier event
        assert counters(runtime, tenant, "chain")["chain"] == [
            "Alpha.created",
            "Beta.notified",
            "Delta.noted",
            "Gamma.notified",
        ]
        events = c.get("/_workflow/events", timeout=ANSWER_WITHIN).json()["items"]
        assert [e["type"] for e in events] == [
            "Alpha.created",
            "Beta.notified",
            "Delta.noted",
            "Gamma.notified",
        ]
        assert events[1]["data"] == {"source": created.json()["$id"]}
        # the object still answers, and sends again
        assert c.post("/_workflow/Alpha", json={}, timeout=ANSWER_WITHIN).status_code == 201
        assert c.get("/_workflow/health", timeout=ANSWER_WITHIN).status_code == 200
        assert len(counters(runtime, tenant, "chain")["chain"]) == 8
        # every delivery was recorded as done: the alarm, hours later, runs nothing again
        assert run_due(c, now_ms() + 2 * HOUR_MS)["deliveries"] == 0
    assert len(counters(runtime, tenant, "chain")["chain"]) == 8


def test_a_handler_sends_over_rpc_too(runtime: LocalRuntime) -> None:
    tenant = new_tenant()
    response = runtime.rpc(tenant, "create_thing", "Alpha", {}, binding="WORKFLOW")
    assert "result" in response.json(), response.text
    assert counters(runtime, tenant, "chain")["chain"] == [
        "Alpha.created",
        "Beta.notified",
        "Delta.noted",
        "Gamma.notified",
    ]


def test_a_handler_writes_a_thing_records_an_action_and_starts_a_workflow(runtime: LocalRuntime) -> None:
    tenant = new_tenant()
    with runtime.client(tenant) as c:
        sent = c.post(
            "/_workflow/events",
            json={"type": "Ledger.opened", "subject": "l-1"},
            timeout=ANSWER_WITHIN,
        )
        assert sent.status_code == 201, sent.text
        event_id = sent.json()["id"]
        seen = counters(
            runtime, tenant, "ledger", "ledger:entries", "ledger:actions", "ledger:closed", "ran:close"
        )
        assert seen == {
            "ledger": [{"entry": f"entry-{event_id}", "run": "completed"}],
            "ledger:entries": [f"entry-{event_id}"],  # the write's own event reached its handler
            "ledger:actions": [f"entry-{event_id}"],
            "ledger:closed": ["l-1"],  # sent by the workflow the handler started
            "ran:close": 1,
        }
        assert c.get(f"/_workflow/Entry/entry-{event_id}", timeout=ANSWER_WITHIN).status_code == 200
        run = c.get(f"/_workflow/workflows/run-{event_id}", timeout=ANSWER_WITHIN).json()
        assert run["status"] == "completed"
        assert run_due(c, now_ms() + 2 * HOUR_MS)["deliveries"] == 0


def test_a_handler_calling_an_object_that_calls_back_does_not_deadlock(runtime: LocalRuntime) -> None:
    for via in ("rpc", "fetch"):
        tenant = new_tenant()
        with runtime.client(tenant) as c:
            sent = c.post(
                "/_workflow/events",
                json={"type": "Ping.sent", "data": {"via": via}},
                timeout=ANSWER_WITHIN,
            )
            assert sent.status_code == 201, f"{via}: {sent.text}"
            # the call back's event counts as raised by the delivery it came in during: it
            # is delivered before the original request answers
            assert counters(runtime, tenant, "ping", "pong") == {
                "ping": [f"echoed by {tenant}/Echo/echo-{tenant}"],
                "pong": [via],
            }, via
            assert c.post("/_workflow/Alpha", json={}, timeout=ANSWER_WITHIN).status_code == 201
            assert run_due(c, now_ms() + 2 * HOUR_MS)["deliveries"] == 0


def test_a_handler_that_never_returns_times_out_is_retried_then_dead_lettered(runtime: LocalRuntime) -> None:
    tenant = new_tenant()
    with runtime.client(tenant) as c:
        outcome: dict[str, Any] = {}

        def send_stuck() -> None:
            with runtime.client(tenant) as client:
                outcome["response"] = client.post(
                    "/_workflow/events", json={"type": "Stuck.happened"}, timeout=ANSWER_WITHIN
                )

        caller = threading.Thread(target=send_stuck, daemon=True)
        caller.start()
        deadline = time.monotonic() + ANSWER_WITHIN
        while counters(runtime, tenant, "stuck:attempts")["stuck:attempts"] != 1:
            assert time.monotonic() < deadline, "the stuck handler never ran"
            time.sleep(0.1)
        # while it hangs, the object answers other requests; their events queue behind it
        queued = c.post("/_workflow/events", json={"type": "Order.packed"}, timeout=ANSWER_WITHIN)
        assert queued.status_code == 201, queued.text
        # the alarm, hours later, must not run a delivery that is queued or running
        due = run_due(c, now_ms() + 2 * HOUR_MS)
        assert due["deliveries"] == 0, due
        caller.join(ANSWER_WITHIN)
        assert outcome["response"].status_code == 201, outcome["response"].text
        event_id = outcome["response"].json()["id"]
        deadline = time.monotonic() + ANSWER_WITHIN
        while counters(runtime, tenant, "seen:order")["seen:order"] is None:
            assert time.monotonic() < deadline, "the event queued behind the stuck one was never delivered"
            time.sleep(0.1)
        wait_for_log(runtime, "stuck", "Stuck.happened", event_id, f"timed out after {HANDLER_TIMEOUT} s")
        assert c.get("/_workflow/events/dead", timeout=ANSWER_WITHIN).json()["items"] == []

        # the failed delivery is retried with back-off (two more attempts), then dead
        assert run_due(c, now_ms() + 3 * HOUR_MS)["deliveries"] == 1
        assert run_due(c, now_ms() + 4 * HOUR_MS)["deliveries"] == 1
        dead = c.get("/_workflow/events/dead", timeout=ANSWER_WITHIN).json()["items"]
        assert len(dead) == 1 and dead[0]["handler"] == "stuck" and dead[0]["attempts"] == 3
        assert dead[0]["event_id"] == event_id
        assert dead[0]["last_error"] == f"timed out after {HANDLER_TIMEOUT} s"
        wait_for_log(runtime, "dead letter", "stuck", event_id)
        assert run_due(c, now_ms() + 5 * HOUR_MS)["deliveries"] == 0
        assert c.post("/_workflow/Alpha", json={}, timeout=ANSWER_WITHIN).status_code == 201
    seen = counters(runtime, tenant, "stuck:attempts", "seen:order")
    assert seen == {"stuck:attempts": 3, "seen:order": ["Order.packed"]}  # nothing ran twice


def test_run_time_and_schedule_handlers_that_never_return_are_cut_off_and_logged(
    runtime: LocalRuntime,
) -> None:
    tenant = new_tenant()
    event_id = rpc(runtime, tenant, "send_to_stuck_runtime_handler")
    wait_for_log(runtime, "_never", "Jam.happened", event_id, "timed out")
    schedule = rpc(runtime, tenant, "schedule_stuck")
    with runtime.client(tenant) as c:
        assert run_due(c, schedule["next_at"])["schedules"] >= 1
        wait_for_log(runtime, schedule["id"], "_never", "timed out")
        assert c.post("/_workflow/Alpha", json={}, timeout=ANSWER_WITHIN).status_code == 201
    assert counters(runtime, tenant, "stuck:never")["stuck:never"] == 2
