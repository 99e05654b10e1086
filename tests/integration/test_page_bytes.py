"""Every list is cut by its bytes on the real runtime (`Sql.page` reads workerd's cursor a row
at a time): a page of large items ends before the one that would pass 4 MiB, says
`has_more`, and its cursor walks on to every item once. Before, a page read all of its rows:
`GET /events?limit=1000` over a hundred-odd 1 MB events ended workerd, every tenant's
requests with it."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.runtime import LocalRuntime, new_tenant

PAD = "v" * 900_000  # four fit a page (4 MiB), the fifth does not


def walk(c: httpx.Client, path: str, **params: Any) -> list[list[Any]]:
    pages: list[list[Any]] = []
    cursor = None
    while True:
        answer = c.get(path, params={**params, "limit": 1000, **({"cursor": cursor} if cursor else {})})
        assert answer.status_code == 200, answer.text[:300]
        body = answer.json()
        pages.append(body["items"])
        if not body["has_more"]:
            assert body["cursor"] is None
            return pages
        cursor = body["cursor"]


@pytest.mark.parametrize("layer", ["", "/_semantic"])  # DOStorage (the app's); DOSemantic
def test_state_things_and_their_events_page_by_bytes(runtime: LocalRuntime, layer: str) -> None:
    with runtime.client(new_tenant(), prefix=layer) as c:
        keys = [f"k{n:02d}" for n in range(10)]
        for key in keys:
            assert c.put(f"/state/{key}", json=PAD).is_success
        pages = walk(c, "/state")
        assert [item["key"] for page in pages for item in page] == keys
        assert [len(page) for page in pages] == [4, 4, 2]
        assert pages[0][0]["value"] == PAD
        ids = [f"i{n:02d}" for n in range(10)]
        for thing_id in ids:
            assert c.post("/Item", json={"$id": thing_id, "pad": PAD}).status_code == 201
        for where in ({}, {"where": '{"pad": {"$regex": "^v"}}'}):  # in SQL; checked in Python
            pages = walk(c, "/Item", order_by="$id", **where)
            assert [thing["$id"] for page in pages for thing in page] == ids, where
            assert [len(page) for page in pages] == [4, 4, 2], where
        pages = walk(c, "/events", type="Item.created")  # each event carries its thing
        assert [event["subject"] for page in pages for event in page] == ids
        assert [len(page) for page in pages] == [4, 4, 2]


@pytest.mark.parametrize("layer", ["", "/_workflow"])  # DOStorage (the app's); DOWorkflow
def test_a_thousand_item_page_of_megabyte_events_is_answered(runtime: LocalRuntime, layer: str) -> None:
    with runtime.client(new_tenant(), prefix=layer) as c:
        made = []
        for n in range(120):
            sent = c.post("/events", json={"type": "Blob.stored", "data": {"n": n, "pad": PAD}})
            assert sent.status_code == 201, sent.text
            made.append(sent.json()["id"])
        first = c.get("/events", params={"type": "Blob.stored", "limit": 1000})
        assert first.status_code == 200 and len(first.json()["items"]) == 4 and first.json()["has_more"]
        pages = walk(c, "/events", type="Blob.stored")
        assert [event["id"] for page in pages for event in page] == made
        assert c.get("/health").status_code == 200  # the runtime is still up


def test_a_regex_walk_stops_at_its_bound_and_total_is_refused(runtime: LocalRuntime) -> None:
    """A `$regex` is checked in Python on every candidate: one request reads at most 32 MiB
    of them (ADR 0059). Over 40 things of 0.9 MB, a page stops after the 37th with a cursor
    that goes on, and `total=exact` is a 400 `query_too_costly` at once. Before, the walk read
    the whole type in one request (`total=exact` over 1 MB things held the object 196 s)."""
    with runtime.client(new_tenant()) as c:
        for n in range(40):
            name = "hit" if n in (2, 38) else "miss"
            assert c.post("/Item", json={"$id": f"i{n:02d}", "name": name, "pad": PAD}).status_code == 201
        where = '{"name": {"$regex": "^hit"}}'
        refused = c.get("/Item", params={"where": where, "total": "exact"})
        assert (refused.status_code, refused.json()["error"]["code"]) == (400, "query_too_costly")
        pages = walk(c, "/Item", where=where, order_by="$id")
        assert [[thing["$id"] for thing in page] for page in pages] == [["i02"], ["i38"]]
        assert c.get("/Item", params={"where": where, "limit": 1}).json()["items"][0]["$id"] == "i02"
