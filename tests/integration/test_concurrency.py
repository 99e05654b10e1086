"""Many clients on one tenant at once, through the local runtime: no lost update, no
duplicate create, versions that only go up, and every event reaches every subscriber."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from typing import Any

import httpx

from tests.integration.test_rpc_surfaces import socket_to
from tests.runtime import LocalRuntime, new_tenant

IN_FLIGHT = 30


def concurrently(runtime: LocalRuntime, tenant: str, work: Any) -> Any:
    """Run `work(client)` (a coroutine function) with an async client for `tenant`."""

    async def main() -> Any:
        limits = httpx.Limits(max_connections=IN_FLIGHT)
        headers = {"host": f"{tenant}.localhost"}
        async with httpx.AsyncClient(
            base_url=runtime.base_url, headers=headers, timeout=60, limits=limits
        ) as c:
            return await work(c)

    return asyncio.run(main())


def test_concurrent_patches_lose_nothing_and_versions_only_go_up(runtime: LocalRuntime) -> None:
    tenant = new_tenant()

    async def work(c: httpx.AsyncClient) -> tuple[list[httpx.Response], dict[str, Any]]:
        await c.post("/Customer", json={"$id": "x"})
        patches = await asyncio.gather(*(c.patch("/Customer/x", json={f"k{i}": i}) for i in range(IN_FLIGHT)))
        return patches, (await c.get("/Customer/x")).json()

    patches, final = concurrently(runtime, tenant, work)
    assert [p.status_code for p in patches] == [200] * IN_FLIGHT
    assert sorted(p.json()["$version"] for p in patches) == list(range(2, IN_FLIGHT + 2))
    assert all(final[f"k{i}"] == i for i in range(IN_FLIGHT)) and final["$version"] == IN_FLIGHT + 1


def test_if_match_lets_exactly_one_of_concurrent_writers_through(runtime: LocalRuntime) -> None:
    tenant = new_tenant()

    async def work(c: httpx.AsyncClient) -> tuple[Counter[int], int, int]:
        tag = (await c.post("/Customer", json={"$id": "n", "n": 0})).headers["etag"]
        racing = await asyncio.gather(
            *(c.patch("/Customer/n", json={"winner": i}, headers={"if-match": tag}) for i in range(IN_FLIGHT))
        )

        async def increment() -> int:
            for attempt in range(10 * IN_FLIGHT):
                current = await c.get("/Customer/n")
                bumped = {"n": current.json()["n"] + 1}
                written = await c.patch(
                    "/Customer/n", json=bumped, headers={"if-match": current.headers["etag"]}
                )
                if written.status_code == 200:
                    return attempt
                assert written.status_code == 412, written.text
            raise AssertionError("never got through")

        await asyncio.gather(*(increment() for _ in range(10)))
        final = (await c.get("/Customer/n")).json()
        return Counter(r.status_code for r in racing), final["n"], final["$version"]

    racing, n, version = concurrently(runtime, tenant, work)
    assert racing == Counter({200: 1, 412: IN_FLIGHT - 1})
    assert n == 10 and version == 12  # created, one racing winner, ten increments: none lost


def test_concurrent_creates_of_one_id_create_it_once(runtime: LocalRuntime) -> None:
    tenant = new_tenant()

    async def work(c: httpx.AsyncClient) -> tuple[Counter[int], list[Any], Counter[int]]:
        creates = await asyncio.gather(
            *(c.post("/Customer", json={"$id": "dup", "by": i}) for i in range(IN_FLIGHT))
        )
        guarded = await asyncio.gather(
            *(
                c.post("/Customer", json={"$id": "new", "by": i}, headers={"if-none-match": "*"})
                for i in range(10)
            )
        )
        events = (await c.get("/events", params={"type": "Customer.created"})).json()["items"]
        return Counter(r.status_code for r in creates), events, Counter(r.status_code for r in guarded)

    creates, events, guarded = concurrently(runtime, tenant, work)
    assert creates == Counter({201: 1, 409: IN_FLIGHT - 1})
    assert guarded[201] == 1 and guarded[201] + guarded[409] + guarded[412] == 10
    assert sorted(e["data"]["$id"] for e in events) == ["dup", "new"]  # one event each


def test_concurrent_state_transactions_are_all_or_nothing(runtime: LocalRuntime) -> None:
    tenant = new_tenant()

    async def work(c: httpx.AsyncClient) -> tuple[list[int], dict[str, Any]]:
        def transfer(i: int) -> dict[str, Any]:
            pair = [{"op": "set", "key": f"a{i}", "value": i}, {"op": "set", "key": f"b{i}", "value": i}]
            if i % 3 == 0:  # invalid as a whole: neither key may be written
                pair.append({"op": "explode", "key": "x"})
            return {"operations": pair}

        answers = await asyncio.gather(
            *(c.post("/state/transaction", json=transfer(i)) for i in range(IN_FLIGHT))
        )
        listed = (await c.get("/state", params={"limit": 1000})).json()["items"]
        return [a.status_code for a in answers], {item["key"]: item["value"] for item in listed}

    statuses, state = concurrently(runtime, tenant, work)
    for i, status in enumerate(statuses):
        written = i % 3 != 0
        assert status == (200 if written else 400)
        assert (state.get(f"a{i}"), state.get(f"b{i}")) == ((i, i) if written else (None, None))


def test_every_subscriber_sees_every_event_of_concurrent_writes(runtime: LocalRuntime) -> None:
    tenant = new_tenant()
    sockets = [socket_to(runtime, tenant, "/ws/rpc") for _ in range(4)]
    try:
        for ws in sockets:
            ws.send(json.dumps({"id": 1, "method": "subscribe", "params": ["Customer.*"]}))
            assert "result" in json.loads(ws.recv(timeout=10))

        async def work(c: httpx.AsyncClient) -> list[int]:
            created = await asyncio.gather(
                *(c.post("/Customer", json={"$id": f"c{i}"}) for i in range(IN_FLIGHT))
            )
            return [r.status_code for r in created]

        assert concurrently(runtime, tenant, work) == [201] * IN_FLIGHT
        for ws in sockets:
            seen = set()
            while len(seen) < IN_FLIGHT:
                pushed = json.loads(ws.recv(timeout=10))
                assert pushed["method"] == "event" and pushed["params"]["type"] == "Customer.created"
                seen.add(pushed["params"]["subject"])
            assert seen == {f"c{i}" for i in range(IN_FLIGHT)}
    finally:
        for ws in sockets:
            ws.close()


def test_many_tenants_at_once_each_see_only_their_own_data(runtime: LocalRuntime) -> None:
    tenants = [new_tenant() for _ in range(20)]

    async def main() -> list[tuple[Any, Any, int]]:
        limits = httpx.Limits(max_connections=IN_FLIGHT)
        async with httpx.AsyncClient(base_url=runtime.base_url, timeout=60, limits=limits) as c:

            async def one(index: int, tenant: str) -> tuple[Any, Any, int]:
                host = {"host": f"{tenant}.localhost"}
                await c.put("/state/owner", json=index, headers=host)
                await c.post("/Customer", json={"$id": "same-id", "owner": index}, headers=host)
                state = (await c.get("/state/owner", headers=host)).json()["value"]
                thing = (await c.get("/Customer/same-id", headers=host)).json()["owner"]
                total = (await c.get("/Customer", headers=host)).json()["total"]
                return state, thing, total

            return await asyncio.gather(*(one(index, tenant) for index, tenant in enumerate(tenants)))

    assert asyncio.run(main()) == [(index, index, 1) for index in range(len(tenants))]
