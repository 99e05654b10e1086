"""Rows written per logical operation on the direct path (no storage tiers), counted by
SQLite itself through the real local runtime: `rowsWritten` of every statement the
request ran, index entries included, as Cloudflare bills them.

Each operation is one HTTP request to the test harness's `HarnessRows` class (a DOWorkflow
whose three durable handlers, workflow and schedule write nothing themselves), and its
count covers the whole request, the delivery of its events included. The first request
to an object (its migrations) is not counted. `bench/rows_written.py` prints the table;
`tests/integration/test_rows_written.py` holds the counts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from tests.runtime import LocalRuntime, new_tenant

__all__ = ["OPERATIONS", "Count", "count_operations"]


@dataclass(frozen=True)
class Count:
    """What one request wrote: SQL rows, and how often the runtime's alarm was set or deleted."""

    rows: int
    alarm_writes: int


OPERATIONS = (
    "state set, new key",
    "state set, overwrite",
    "state set, same value",
    "state delete",
    "thing create",
    "thing update",
    "thing soft delete",
    "thing hard delete",
    "action with an object",
    "action without an object",
    "send, 0 durable handlers",
    "send, 1 durable handler",
    "send, 3 durable handlers",
    "workflow run, 1 step",
    "workflow run, 3 steps",
    "workflow run, 10 steps",
    "schedule firing",
)


def count_operations(runtime: LocalRuntime) -> dict[str, Count]:
    """Every operation of `OPERATIONS`, each on the object of a fresh tenant woken first."""
    counts: dict[str, Count] = {}
    tenant = new_tenant()
    with runtime.client(tenant) as client:

        def request(name: str, method: str, path: str, **kwargs: Any) -> Any:
            response = client.request(method, f"/_rows{path}", **kwargs)
            if response.status_code >= 300:
                raise AssertionError(f"{name}: {method} {path}: {response.status_code} {response.text}")
            last = runtime.rpc(tenant, "last_request", binding="ROWS").json()["result"]
            counts[name] = Count(int(last["rows"]), int(last["alarm_writes"]))
            return response.json()

        _wake(client)
        _state(request)
        _things(request)
        request(
            "action with an object",
            "POST",
            "/actions",
            json={"subject": "Customer/ada", "verb": "approve", "object": "Order/o1", "data": {"n": 1}},
        )
        action = {"subject": "Customer/ada", "verb": "call"}
        request("action without an object", "POST", "/actions", json=action)
        for handlers in (0, 1, 3):
            label = f"send, {handlers} durable handler{'' if handlers == 1 else 's'}"
            request(label, "POST", "/events", json={"type": f"Ping.h{handlers}", "data": {"x": 1}})
        for steps in (1, 3, 10):
            label = f"workflow run, {steps} step{'' if steps == 1 else 's'}"
            run = request(label, "POST", "/workflows/steps", json={"input": steps})
            if run["status"] != "completed":
                raise AssertionError(f"{label}: {run}")
        schedules = client.get("/_rows/schedules").json()["items"]
        tick = next(item for item in schedules if item["handler"] == "tick")
        fired = request("schedule firing", "POST", "/_test/alarm", json={"now": tick["next_at"]})
        if fired.get("schedules") != 1:
            raise AssertionError(f"schedule firing: {fired}")
    return counts


def _wake(client: httpx.Client) -> None:
    """The object's first request runs its migrations and stores its class schedule."""
    response = client.get("/_rows/health")
    if response.status_code != 200:
        raise AssertionError(f"wake: {response.status_code} {response.text}")


def _state(request: Callable[..., Any]) -> None:
    request("state set, new key", "PUT", "/state/greeting", json={"text": "hello"})
    request("state set, overwrite", "PUT", "/state/greeting", json={"text": "hi"})
    request("state set, same value", "PUT", "/state/greeting", json={"text": "hi"})
    request("state delete", "DELETE", "/state/greeting")


def _things(request: Callable[..., Any]) -> None:
    ada = request("thing create", "POST", "/Customer", json={"name": "Ada", "age": 36})
    request("thing update", "PATCH", f"/Customer/{ada['$id']}", json={"age": 37})
    request("thing soft delete", "DELETE", f"/Customer/{ada['$id']}")
    bob = request("thing create", "POST", "/Customer", json={"name": "Bob", "age": 17})
    request("thing hard delete", "DELETE", f"/Customer/{bob['$id']}", params={"hard": "true"})
