"""The local runtime killed (SIGKILL, the whole process group) in the middle of a write
load and started again on the same storage: every acknowledged write is there, nothing
is half-applied, and what was due later (delayed sends, handlers, workflow runs) still
happens. Seeded, with a bounded load, on a runtime of its own."""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.runtime import LocalRuntime, new_tenant

WORKERS = 8
KINDS = ("thing", "action", "transaction", "workflow", "delayed", "patch")


@pytest.fixture(scope="module")
def own_runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRuntime]:
    base = tmp_path_factory.mktemp("crash")
    server = LocalRuntime(state_dir=base / "state", log_path=base / "server.log")
    server.start()
    yield server
    server.stop()


async def write_load(
    runtime: LocalRuntime, tenant: str, seed: int, stop: threading.Event
) -> list[tuple[str, Any]]:
    """Writes of every kind from WORKERS clients until `stop`; what the server acknowledged."""
    acknowledged: list[tuple[str, Any]] = []
    headers = {"host": f"{tenant}.localhost"}

    async def worker(c: httpx.AsyncClient, number: int, rng: random.Random) -> None:
        for n in range(10_000):
            if stop.is_set():
                return
            key, kind = f"{number}-{n}", rng.choice(KINDS)
            try:
                if kind == "thing":
                    r = await c.post("/_workflow/Customer", json={"$id": f"c-{key}"})
                    done, value = r.status_code == 201, key
                elif kind == "action":
                    body = {"subject": f"Customer/s-{number}", "verb": "ship", "object": f"Order/o-{key}"}
                    r = await c.post("/_workflow/actions", json=body)
                    done, value = r.status_code == 201, (key, r.json().get("event", {}).get("id"))
                elif kind == "transaction":
                    pair = [{"op": "set", "key": f"{side}-{key}", "value": n} for side in "ab"]
                    r = await c.post("/_workflow/state/transaction", json={"operations": pair})
                    done, value = r.status_code == 200, key
                elif kind == "workflow":
                    body = {"input": {"id": key}, "id": f"run-{key}"}
                    r = await c.post("/_workflow/workflows/checkout", json=body)
                    done, value = r.status_code == 201 and r.json()["status"] == "completed", key
                elif kind == "delayed":
                    body = {"type": "Invoice.due", "delay": 30, "data": {"key": key}}
                    r = await c.post("/_workflow/events", json=body)
                    done, value = r.status_code == 201, key
                else:
                    r = await c.patch("/_workflow/Customer/counter", json={"last": key})
                    done, value = r.status_code == 200, r.json().get("$version")
            except (httpx.HTTPError, ValueError):
                return  # the server went away under this request: not acknowledged
            if done:
                acknowledged.append((kind, value))

    async with httpx.AsyncClient(base_url=runtime.base_url, headers=headers, timeout=60) as c:
        await c.post("/_workflow/Customer", json={"$id": "counter"})
        rngs = [random.Random(f"{seed}/{number}") for number in range(WORKERS)]
        await asyncio.gather(*(worker(c, number, rngs[number]) for number in range(WORKERS)))
    return acknowledged


def everything(c: httpx.Client, path: str, **params: Any) -> list[Any]:
    items: list[Any] = []
    cursor = None
    while True:
        page = c.get(path, params={**params, **({"cursor": cursor} if cursor else {})}).json()
        items += page["items"]
        cursor = page["cursor"]
        if not cursor:
            return items


@pytest.mark.parametrize("seed", [1, 2])
def test_a_crash_under_load_loses_no_acknowledged_write(own_runtime: LocalRuntime, seed: int) -> None:
    tenant = new_tenant()
    stop = threading.Event()
    result: list[list[tuple[str, Any]]] = []
    loader = threading.Thread(
        target=lambda: result.append(asyncio.run(write_load(own_runtime, tenant, seed, stop)))
    )
    loader.start()
    with own_runtime.client(tenant) as c:  # crash once the load is well under way
        deadline = time.monotonic() + 60
        while c.get("/_workflow/Customer", params={"limit": 0}).json()["total"] < 15 + 5 * seed:
            assert time.monotonic() < deadline, "the load never got going"
            time.sleep(0.05)
    own_runtime.crash()
    stop.set()
    loader.join(timeout=120)
    if isinstance(result[0], BaseException):
        raise result[0]
    acknowledged: list[tuple[str, Any]] = result[0]
    assert {kind for kind, _ in acknowledged} == set(KINDS)  # the crash met every kind of write
    own_runtime.start()

    with own_runtime.client(tenant) as c:
        tomorrow = int(time.time() * 1000) + 86_400_000  # past every delay and retry
        assert c.post("/_workflow/_test/alarm", json={"now": tomorrow}).status_code == 200

        def query(sql: str) -> list[dict[str, Any]]:
            rows: list[dict[str, Any]] = c.post("/_workflow/query", json={"sql": sql}).json()["rows"]
            return rows

        created = {
            event["data"]["$id"] for event in everything(c, "/_workflow/events", type="Customer.created")
        }
        things = {row["id"] for row in query("SELECT id FROM things WHERE type = 'Customer' LIMIT 1000")}
        assert created == things  # every thing with its created event, every event with its thing
        assert set(counters(c, "seen:customer_created")) == things  # each durable handler ran (at least once)
        shipped = everything(c, "/_workflow/events", type="Customer.shipped")
        edges = {ref["$id"] for number in range(WORKERS) for ref in related(c, f"Customer/s-{number}")}
        assert {event["object"].split("/")[-1] for event in shipped} == edges  # an event, an edge, or neither
        state = {item["key"]: item["value"] for item in everything(c, "/_workflow/state", limit=1000)}
        invoices = {event["data"]["key"] for event in everything(c, "/_workflow/events", type="Invoice.due")}
        counter = c.get("/_workflow/Customer/counter").json()["$version"]
        for kind, value in acknowledged:
            if kind == "thing":
                assert f"c-{value}" in things
            elif kind == "action":
                assert f"o-{value[0]}" in edges and value[1] in {event["id"] for event in shipped}
            elif kind == "transaction":
                assert state[f"a-{value}"] == state[f"b-{value}"]
            elif kind == "workflow":
                assert c.get(f"/_workflow/workflows/run-{value}").json()["status"] == "completed"
            elif kind == "delayed":
                assert value in invoices  # sent by the alarm after the restart
            else:
                assert counter >= value  # a version never goes back
        for key in state:
            if key[:2] in ("a-", "b-"):
                assert {"a-" + key[2:], "b-" + key[2:]} <= set(state), key  # never half a transaction


def counters(c: httpx.Client, key: str) -> list[Any]:
    answer = c.post("/_workflow/rpc", json={"method": "counters", "params": [key]}).json()
    return list(answer["result"][key] or [])


def related(c: httpx.Client, thing: str) -> list[dict[str, Any]]:
    answer = c.post(
        "/_workflow/rpc", json={"method": "related", "params": [thing, "shipped", "out", None, 1000]}
    )
    return list(answer.json()["result"])
