"""One definition of depth for every nesting bound (docs/api.md's bounds table): a value's
depth is the number of arrays and objects on its deepest path, counted from the value the
caller hands in, at most 32; and a record the framework builds around such a value (an
action's event, an approval's events, a step's or a run's result) never fails it."""

from __future__ import annotations

import time
from typing import Any

from tests.runtime import LocalRuntime, new_tenant

FULL = "/_full"


def arrays(depth: int, leaf: Any = None) -> Any:
    """`depth` arrays, one inside the other, around `leaf` (around nothing when None)."""
    value: Any = [] if leaf is None else [leaf]
    for _ in range(depth - 1):
        value = [value]
    return value


def test_every_value_nests_at_most_32_levels_counted_alike(runtime: LocalRuntime) -> None:
    tenant = new_tenant()
    with runtime.client(tenant) as c:
        for depth, ok in ((32, True), (33, False)):
            for leaf in (None, 1):
                value = arrays(depth, leaf)
                answers = {
                    "state": c.put("/state/k", json=value),
                    "event data": c.post("/events", json={"type": "Deep.sent", "data": value}),
                    "action data": c.post(
                        "/actions", json={"subject": "Customer/c1", "verb": "visit", "data": value}
                    ),
                    # the properties object is the first level
                    "thing": c.post("/Customer", json={"a": arrays(depth - 1, leaf)}),
                    "workflow input": c.post(
                        f"{FULL}/workflows/refund", json={"input": {"id": "o", "a": arrays(depth - 1, leaf)}}
                    ),
                }
                for what, answer in answers.items():
                    if ok:
                        assert answer.status_code < 300, (what, depth, leaf, answer.text)
                    else:
                        assert answer.status_code == 400, (what, depth, leaf, answer.text)
                        assert "nested deeper than 32 levels" in answer.json()["error"]["message"]


def test_an_input_at_the_bound_goes_through_the_frameworks_own_approval(runtime: LocalRuntime) -> None:
    tenant = new_tenant()
    request = {"id": "o-deep", "a": arrays(31, 1)}  # 32 levels with the input object
    with runtime.client(tenant) as c:
        started = c.post(f"{FULL}/workflows/refund", json={"input": request, "id": "deep"})
        assert started.status_code == 201, started.text
        items = c.get(f"{FULL}/approvals", params={"status": "pending"}).json()["items"]
        (approval,) = [item for item in items if item["run_id"] == "deep"]
        assert approval["payload"] == request
        decided = c.post(
            f"{FULL}/approvals/{approval['id']}", json={"decision": "approve", "value": arrays(32, 1)}
        )
        assert decided.status_code == 200, decided.text
        run = c.get(f"{FULL}/workflows/deep").json()  # the run resumes before the decision answers
        assert run["status"] == "completed", run
        assert run["result"]["decision"]["value"] == arrays(32, 1)


def test_a_wait_for_an_actions_event_carries_its_data_at_the_bound(runtime: LocalRuntime) -> None:
    """An action's event (`{"data": ...}`), the match around it and the wait's step around
    that (`{"event": ...}`): each record counts its own levels over what it carries. With one
    flat allowance of 2 levels, the wait's step failed an action whose data was at 32."""
    with runtime.client(new_tenant()) as c:
        started = c.post(f"{FULL}/workflows/watch", json={"input": "Customer.visited", "id": "watch"})
        assert started.status_code == 201 and started.json()["status"] == "waiting", started.text
        action = {"subject": "Customer/c1", "verb": "visit", "data": arrays(32, 1)}
        assert c.post(f"{FULL}/actions", json=action).status_code < 300
        deadline = time.monotonic() + 30
        while (run := c.get(f"{FULL}/workflows/watch").json())["status"] not in ("completed", "failed"):
            assert time.monotonic() < deadline, run
            time.sleep(0.1)
        assert run["status"] == "completed", run
        assert run["result"]["type"] == "Customer.visited"
        assert run["result"]["data"]["data"] == arrays(32, 1)


def test_the_applications_own_emit_holds_its_data_to_32_levels(runtime: LocalRuntime) -> None:
    """`self.emit` recorded data nested 34 levels: the event log gave every event the
    allowance (2 levels more) of the records the framework builds around a value."""
    with runtime.client(new_tenant()) as c:
        for prefix in ("/_semantic", "/_workflow"):
            for depth, ok in ((32, True), (33, False), (34, False)):
                call = {"method": "emit_event", "params": ["Deep.emitted", arrays(depth, 1)]}
                answer = c.post(f"{prefix}/rpc", json=call)
                if ok:
                    assert answer.status_code == 200, (prefix, depth, answer.text)
                else:
                    assert answer.status_code == 400, (prefix, depth, answer.text)
                    error = answer.json()["error"]
                    assert error["code"] == "invalid_data" and "deeper than 32 levels" in error["message"]
            events = c.get(f"{prefix}/events", params={"type": "Deep.emitted"}).json()["items"]
            assert [event["data"] for event in events] == [arrays(32, 1)]
