"""A thing's edges a page at a time on every surface: `GET /:Noun/:id/:verb` (`limit`,
`cursor`, `has_more`, `total` exact or null as `GET /:Noun` answers it), RPC `related_page`
and the Python client's; every one of 1,500 edges is reachable, and a cursor no page
answered (or an `offset`, which was ignored) is refused."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from dotdo.client import Client, RpcError
from tests.runtime import LocalRuntime

EDGES = 1500


def error(response: httpx.Response) -> tuple[int, str]:
    return response.status_code, response.json()["error"]["code"]


def follow_the_hub(c: httpx.Client) -> None:
    """User/u0000 ... User/u1499 each follow User/hub, in that order (32 a batch)."""
    assert c.post("/User", json={"$id": "hub"}).status_code == 201
    relate = {"type": "method", "name": "relate", "args": ["follows", "User/hub"]}
    for start in range(0, EDGES, 32):
        batch = [
            {"id": n, "pipeline": {"target": ["User", f"u{n:04d}"], "pipeline": [relate]}}
            for n in range(start, min(start + 32, EDGES))
        ]
        answers = c.post("/rpc/pipeline", json=batch)
        assert answers.status_code == 200, answers.text
        assert all(answer.get("result") is True for answer in answers.json()), answers.text


def ids(page: dict[str, Any]) -> list[str]:
    return [item["$id"] for item in page["items"]]


def test_every_edge_is_reached_a_page_at_a_time_over_http_and_rpc(runtime: LocalRuntime) -> None:
    with runtime.client() as c:
        follow_the_hub(c)

        def get(**params: Any) -> dict[str, Any]:
            response = c.get("/User/hub/follows", params={"direction": "in", **params})
            assert response.status_code == 200, response.text
            page: dict[str, Any] = response.json()
            return page

        first = get(limit=10)
        assert first["total"] is None and first["has_more"] is True  # was "total": 10
        assert ids(first) == [f"u{n:04d}" for n in range(10)]
        assert get(limit=10, total="exact")["total"] == EDGES
        reached: list[str] = []
        page = get(limit=1000)
        assert page["total"] is None  # was 1000
        while True:
            reached.extend(ids(page))
            if not page["has_more"]:
                break
            page = get(limit=1000, cursor=page["cursor"])
        assert page["cursor"] is None and page["total"] is None
        assert reached == [f"u{n:04d}" for n in range(EDGES)]  # past 1,000 was unreachable

        assert error(c.get("/User/hub/follows", params={"direction": "in", "offset": 1000})) == (
            400,
            "invalid_query",
        )  # was ignored: the first page again
        assert error(c.get("/User/hub/follows", params={"direction": "in", "cursor": "x"})) == (
            400,
            "invalid_cursor",
        )
        assert error(c.get("/User/hub/follows", params={"total": "maybe"})) == (400, "invalid_query")

        def rpc(*params: Any) -> httpx.Response:
            return c.post(
                "/rpc", json={"method": "related_page", "params": ["User/hub", "follows", "in", *params]}
            )

        by_rpc = rpc(None, 1000).json()["result"]
        assert by_rpc["total"] is None and by_rpc["has_more"] is True  # counted only when asked
        assert rpc(None, 1000, None, True).json()["result"]["total"] == EDGES
        assert by_rpc["items"][0] == {"$type": "User", "$id": "u0000"}
        rest = rpc(None, 1000, by_rpc["cursor"], False).json()["result"]
        assert (len(rest["items"]), rest["has_more"], rest["cursor"], rest["total"]) == (
            500,
            False,
            None,
            None,
        )
        assert ids(rest) == reached[1000:]
        assert error(rpc(None, 10, "x")) == (400, "invalid_cursor")
        assert error(
            c.post("/rpc", json={"method": "related", "params": ["User/hub", "follows", "in", None, 1001]})
        )[1] == ("invalid_limit")
        host = str(c.headers["host"])

    async def run() -> tuple[dict[str, Any], dict[str, Any], str]:
        async with Client(f"http://{host}:{runtime.port}") as client:
            hub = client.User("hub")
            first = await hub.related_page("follows", "in", limit=1000)
            rest = await hub.related_page("follows", "in", limit=1000, cursor=first["cursor"])
            try:
                await hub.related_page("follows", "in", cursor="12.not an id")
            except RpcError as refused:
                return first, rest, refused.code
            return first, rest, "no error"

    first_page, rest_page, code = asyncio.run(run())
    assert ids(first_page) + ids(rest_page) == reached
    assert (first_page["total"], rest_page["has_more"]) == (None, False)  # counted only when asked
    assert code == "invalid_cursor"


def test_a_page_holding_every_edge_counts_them(runtime: LocalRuntime) -> None:
    with runtime.client() as c:
        c.post("/User", json={"$id": "u1"})
        for target in ("User/u2", "User/u3"):
            c.post("/User/u1/follows", json={"to": target})
        page = c.get("/User/u1/follows").json()
        assert (page["total"], page["has_more"], page["cursor"]) == (2, False, None)
        two = c.get("/User/u1/follows", params={"limit": 1}).json()
        assert (two["total"], two["has_more"]) == (None, True)
        last = c.get("/User/u1/follows", params={"limit": 1, "cursor": two["cursor"]}).json()
        assert [item["$id"] for item in last["items"]] == ["u3"] and last["has_more"] is False
