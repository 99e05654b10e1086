"""The app's namespace in the real runtime: the framework refuses a class that takes one of
its names, every instance attribute it sets is declared, and each operation has one name,
the same for Python, `/rpc` and Workers RPC."""

from __future__ import annotations

import time
from typing import Any

import httpx

from tests.runtime import LocalRuntime, new_tenant


def call(client: httpx.Client, method: str, *params: Any, prefix: str = "") -> httpx.Response:
    return client.post(f"{prefix}/rpc", json={"method": method, "params": list(params)})


def result(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    return response.json()["result"]


def test_the_runtime_refuses_a_clash_and_accepts_an_override(runtime: LocalRuntime) -> None:
    answers = runtime.rpc(new_tenant(), "namespace_refusals", binding="WORKFLOW").json()["result"]
    assert answers["class"].startswith(
        "Clashing.send_event clashes with DOWorkflow.send_event (a framework RPC method)."
    )
    assert "@override" in answers["class"]
    assert answers["replaced"] == {"rpc": True, "scope": "admin"}
    assert answers["assignment"].startswith(
        "HarnessWorkflow sets self.things, which clashes with DOSemantic.things"
    )


def test_every_instance_attribute_the_framework_sets_is_declared(runtime: LocalRuntime) -> None:
    """The declared names are what `self.<name> = ...` may not take: a layer that sets a new
    public attribute in its __init__ must declare it in its Layer."""
    for binding in ("HARNESS", "SEMANTIC", "WORKFLOW"):
        attributes = runtime.rpc(new_tenant(), "framework_attributes", binding=binding).json()["result"]
        assert attributes["set"] == attributes["declared"], binding


def test_workflow_operations_have_one_name_over_rpc(runtime: LocalRuntime) -> None:
    with runtime.client() as c:
        sent = result(call(c, "send_event", "Customer.pinged", {"n": 1}, "cust-1"))
        event = c.get("/events", params={"type": "Customer.pinged"}).json()["items"][0]
        assert (event["id"], event["subject"], event["data"]) == (sent, "cust-1", {"n": 1})
        later = int(time.time() * 1000) + 3_600_000
        delayed = {"event_type": "Invoice.due", "delay": 30}
        assert result(c.post("/rpc", json={"method": "send_event", "params": delayed}))
        at = ["Invoice.due", None, None, None, None, {"$date": later}]  # `at` as a datetime
        assert result(c.post("/rpc", json={"method": "send_event", "params": at}))
        assert len(c.get("/events", params={"type": "Invoice.due"}).json()["items"]) == 0  # both later
        schedules = result(call(c, "list_schedules"))
        assert schedules == []
        assert result(call(c, "remove_schedule", "nope")) is False
        assert result(call(c, "dead_letters")) == []
        r = call(c, "replay_dead_letter", "nope")
        assert (r.status_code, r.json()["error"]["code"]) == (404, "dead_letter_not_found")
        r = call(c, "workflow_status", "nope")
        assert (r.status_code, r.json()["error"]["code"]) == (404, "workflow_run_not_found")
        for old in ("schedules", "unschedule", "run_workflow", "get_workflow", "list_dead_letters",
                    "replay", "read_query", "action", "send"):  # fmt: skip
            r = call(c, old)
            assert (r.status_code, r.json()["error"]["code"]) == (404, "method_not_found"), old
        health = c.get("/health").json()["rpc"]
        assert {"send_event", "start_workflow", "workflow_status", "query", "record_action"} <= set(health)


def test_workflows_start_and_report_under_one_name(runtime: LocalRuntime) -> None:
    with runtime.client() as c:
        started = result(call(c, "start_workflow", "checkout", {"id": "o-1"}, "run-1", prefix="/_workflow"))
        assert (started["id"], started["status"]) == ("run-1", "completed")
        status = result(call(c, "workflowStatus", "run-1", prefix="/_workflow"))  # camelCase finds it
        assert status["result"]["order"] == "o-1"


def test_the_same_methods_over_workers_rpc_from_python(runtime: LocalRuntime) -> None:
    tenant = new_tenant()
    event_id = runtime.rpc(tenant, "send_event", "Customer.pinged", {"n": 2}).json()["result"]
    assert isinstance(event_id, str) and event_id
    assert runtime.rpc(tenant, "list_schedules").json() == {"result": []}
    r = runtime.rpc(tenant, "run_workflow", "checkout")
    assert r.status_code == 500 and "does not implement" in r.json()["error"]["message"]


def test_no_framework_rpc_method_is_hidden_by_a_python_callers_stub(runtime: LocalRuntime) -> None:
    """A Python caller's Workers RPC stub is a Pyodide JsProxy, whose own attributes (`send`,
    `to_py`, `typeof`, ...) shadow the object's methods of those names: `stub.send(...)` is
    the proxy's generator `send`, never the RPC call."""
    tenant = new_tenant()
    with httpx.Client(base_url=runtime.base_url, timeout=30) as c:
        shadowed = set(result(c.post("/_harness/stub_names", json={"binding": "DOTDO", "name": tenant})))
        methods = set(c.get("/health", headers={"host": f"{tenant}.localhost"}).json()["rpc"])
    assert "to_py" in shadowed  # the listing is the proxy's
    assert methods and not methods & shadowed


def test_query_and_record_action_are_one_method_each(runtime: LocalRuntime) -> None:
    with runtime.client() as c:
        c.post("/Customer", json={"$id": "ada", "name": "Ada"})
        c.post("/Order", json={"$id": "o1", "total": 3})
        action = result(call(c, "record_action", "Customer/ada", "place", "Order/o1", {"via": "rpc"}))
        assert action["verb"] == "place"
        rows = result(call(c, "query", "SELECT id FROM things WHERE type = ?", ["Customer"]))
        assert rows == {"rows": [{"id": "ada"}], "truncated": False}
        event = c.get("/events", params={"type": "Customer.placed"}).json()["items"][0]
        assert (event["subject"], event["object"]) == ("ada", "o1")  # emit's order, end to end
        assert event["data"]["data"] == {"via": "rpc"}
        created = c.get("/events", params={"type": "Order.created"}).json()["items"][0]
        assert (created["subject"], created["data"]["total"]) == ("o1", 3)
