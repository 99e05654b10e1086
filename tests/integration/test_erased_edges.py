"""A thing deleted for good takes its edges with it on every surface (HTTP, `/rpc`
`delete_thing`, the accessor's `delete` through the Python client and a pipeline batch):
a thing created again under its id inherits none of them. Soft deletes keep them."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from dotdo.client import Client
from tests.runtime import LocalRuntime


def ends(c: httpx.Client, path: str, **params: str) -> list[str]:
    response = c.get(path, params=params)
    assert response.status_code == 200, response.text
    return [f"{item['$type']}/{item['$id']}" for item in response.json()["items"]]


def rpc(c: httpx.Client, method: str, *params: Any) -> httpx.Response:
    return c.post("/rpc", json={"method": method, "params": list(params)})


def setup(c: httpx.Client, victim: str) -> None:
    """u1 -follows-> victim -follows-> u3, and u1 -follows-> u3."""
    for thing_id in ("u1", victim, "u3"):
        assert c.post("/User", json={"$id": thing_id}).status_code == 201
    for source, target in (("u1", victim), (victim, "u3"), ("u1", "u3")):
        assert c.post(f"/User/{source}/follows", json={"to": f"User/{target}"}).status_code == 201


def inherits_nothing(c: httpx.Client, victim: str) -> None:
    created = c.post("/User", json={"$id": victim, "name": f"NEW {victim}"})
    assert created.status_code == 201, created.text
    assert ends(c, "/User/u1/follows") == ["User/u3"]  # listed the new thing as followed
    assert ends(c, f"/User/{victim}/follows", direction="in") == []
    assert ends(c, f"/User/{victim}/follows") == []
    assert rpc(c, "related", f"User/{victim}", "follows", "in").json()["result"] == []
    assert ends(c, "/User/u3/follows", direction="in") == ["User/u1"]


def test_a_hard_delete_over_http_removes_the_edges_both_ways(runtime: LocalRuntime) -> None:
    with runtime.client() as c:
        setup(c, "u2")
        assert c.delete("/User/u2", params={"hard": "true"}).json()["deleted"] is True
        inherits_nothing(c, "u2")


def test_every_way_of_deleting_for_good_removes_the_edges(runtime: LocalRuntime) -> None:
    with runtime.client() as c:
        setup(c, "by-rpc")
        assert rpc(c, "delete_thing", "User", "by-rpc", True).json()["result"]["deleted"] is True
        inherits_nothing(c, "by-rpc")
        c.delete("/User/u1", params={"hard": "true"})
        c.delete("/User/u3", params={"hard": "true"})
        c.delete("/User/by-rpc", params={"hard": "true"})

        setup(c, "by-batch")
        delete = {"type": "method", "name": "delete", "args": [True]}
        batch = c.post(
            "/rpc/pipeline",
            json=[
                {"id": 1, "pipeline": {"target": ["User", "by-batch"], "pipeline": [delete]}},
                {"id": 2, "pipeline": {"target": ["User", "nobody"], "pipeline": [delete]}},
            ],
        )
        assert batch.status_code == 200, batch.text
        assert batch.json()[0]["result"]["deleted"] is True
        inherits_nothing(c, "by-batch")
        c.delete("/User/u1", params={"hard": "true"})
        c.delete("/User/u3", params={"hard": "true"})

        setup(c, "soft-first")
        c.delete("/User/soft-first")  # soft: the edges stay, the thing can come back
        c.post("/User/soft-first/restore")
        assert ends(c, "/User/u1/follows") == ["User/soft-first", "User/u3"]
        c.delete("/User/soft-first")
        assert c.delete("/User/soft-first", params={"hard": "true"}).status_code == 200
        inherits_nothing(c, "soft-first")
        c.delete("/User/u1", params={"hard": "true"})
        c.delete("/User/u3", params={"hard": "true"})

        setup(c, "by-client")
        host = str(c.headers["host"])

    async def run() -> dict[str, Any]:
        async with Client(f"http://{host}:{runtime.port}") as client:
            return await client.User("by-client").delete(hard=True)

    assert asyncio.run(run())["deleted"] is True
    with runtime.client(host.split(".")[0]) as c:
        inherits_nothing(c, "by-client")


def test_a_refused_hard_delete_keeps_the_edges(runtime: LocalRuntime) -> None:
    with runtime.client() as c:
        setup(c, "u2")
        thing = c.get("/User/u2").json()
        stale = f'"9.{thing["$created_at"]}"'
        refused = c.delete("/User/u2", params={"hard": "true"}, headers={"if-match": stale})
        assert refused.status_code == 412
        assert ends(c, "/User/u1/follows") == ["User/u2", "User/u3"]
        assert ends(c, "/User/u2/follows") == ["User/u3"]


def test_each_edge_a_hard_delete_removes_writes_one_row(runtime: LocalRuntime) -> None:
    """As the runtime counts a DELETE (the row, not its index entries); the default app's
    tiers log the delete itself in one row, as for a thing without edges
    (`test_rows_written`)."""
    with runtime.client() as c:

        def rows() -> int:
            return int(c.get("/stats").json()["rows_written"])

        setup(c, "u2")
        c.post("/User/u2/likes", json={"to": "Post/p1"})
        before = rows()
        assert c.delete("/User/u2", params={"hard": "true"}).status_code == 200
        assert rows() - before == 1 + 3  # three edges: u1 -> u2, u2 -> u3, u2 -> p1
