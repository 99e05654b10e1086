"""Every page with a cursor has one shape, through the real runtime: `{"items", "has_more",
"cursor"}` (edges add `total`), `has_more` exact, `cursor` null exactly on the last page, so
a walk ends on `has_more` or on `cursor` alike and never asks for an empty page."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.runtime import LocalRuntime, new_tenant


def walk(c: httpx.Client, path: str, limit: int, **params: Any) -> list[Any]:
    got: list[Any] = []
    cursor = None
    while True:
        page = c.get(path, params={**params, "limit": limit, **({"cursor": cursor} if cursor else {})})
        assert page.status_code == 200, page.text
        body = page.json()
        assert {"items", "has_more", "cursor"} <= set(body), (path, body)
        assert body["has_more"] is (body["cursor"] is not None), (path, body)
        assert body["items"] or cursor is None, path  # the page before said more followed
        got.extend(body["items"])
        if not body["has_more"]:
            return got
        cursor = body["cursor"]


@pytest.mark.parametrize("limit", [1, 2, 4])
def test_event_action_state_and_edge_pages_agree(runtime: LocalRuntime, limit: int) -> None:
    with runtime.client() as c:
        for n in range(4):
            assert c.post("/Task", json={"$id": f"t{n}"}).status_code == 201
            assert c.post(
                "/actions", json={"subject": "Task/t0", "verb": "touch", "object": f"Task/t{n}"}
            ).is_success
            assert c.put(f"/state/k{n}", json=n).is_success
        assert len(walk(c, "/events", limit, type="Task.created")) == 4
        assert len(walk(c, "/actions", limit)) == 4
        assert len(walk(c, "/state", limit)) == 4
        assert len(walk(c, "/Task/t0/touched", limit)) == 4


def test_a_cursor_no_page_answered_is_a_400_invalid_cursor_on_every_surface(runtime: LocalRuntime) -> None:
    """A thing-list cursor holding `1e999` (an infinity to Python's `json`) was a 500, and an
    edge cursor's time past 64 bits a 400 `invalid_value` naming an SQL parameter."""
    with runtime.client(new_tenant()) as c:
        for n in range(2):
            assert c.post("/Item", json={"$id": f"i{n}", "n": n}).status_code == 201
        assert c.post("/Item/i0/likes", json={"to": "Item/i1"}).status_code == 201
        first = c.get("/Item", params={"order_by": "n", "limit": 1}).json()["cursor"]
        mark = first.split("~")[0]
        infinite = [f"{mark}~1~abc~WzFlOTk5XQ", f"{mark}~1~abc~W1stMWU5OTldXQ", f"{mark}~1~abc~WzJlMzA4XQ"]
        for cursor in [*infinite, f"{mark}~9999999999999999999~abc~WzFd"]:
            page = c.get("/Item", params={"order_by": "n", "cursor": cursor})
            assert page.status_code == 400 and page.json()["error"]["code"] == "invalid_cursor", page.text
            for method, params in (
                ("page_things", ["Item", None, "n", None, None, None, False, True, cursor]),
                ("list_things", ["Item", None, "n", None, None, None, False, cursor]),
            ):
                answer = c.post("/rpc", json={"method": method, "params": params})
                assert answer.status_code == 400 and answer.json()["error"]["code"] == "invalid_cursor"
            steps = [{"type": "method", "name": "page", "args": [{"orderBy": "n", "cursor": cursor}]}]
            piped = c.post("/rpc/pipeline", json={"pipeline": {"target": ["Item"], "pipeline": steps}})
            assert piped.status_code == 400 and piped.json()["error"]["code"] == "invalid_cursor", piped.text
        for cursor in (
            "9999999999999999999.Item/i1",
            "9223372036854775808.Item/i1",
            "-9223372036854775809.i1",
        ):
            page = c.get("/Item/i0/likes", params={"limit": 1, "cursor": cursor})
            assert page.status_code == 400 and page.json()["error"]["code"] == "invalid_cursor", page.text
            answer = c.post(
                "/rpc",
                json={"method": "related_page", "params": ["Item/i0", "likes", "out", None, 1, cursor]},
            )
            assert answer.status_code == 400 and answer.json()["error"]["code"] == "invalid_cursor", (
                answer.text
            )
        assert c.get("/Item", params={"order_by": "n", "cursor": first}).json()["items"][0]["$id"] == "i1"


def test_the_audit_log_has_an_rpc_method_answering_its_page(runtime: LocalRuntime) -> None:
    """`GET /actions` was the one read route with no RPC method (`list_actions`: 404
    `method_not_found`)."""
    with runtime.client(new_tenant()) as c:
        for n in range(3):
            assert c.post("/actions", json={"subject": f"Task/t{n}", "verb": "start"}).is_success
        page = c.get("/actions", params={"limit": 2}).json()
        called = c.post("/rpc", json={"method": "list_actions", "params": {"limit": 2}}).json()["result"]
        assert called == page and called["has_more"]
        rest = c.post("/rpc", json={"method": "list_actions", "params": [None, 2, page["cursor"]]}).json()
        assert [a["subject"]["$id"] for a in rest["result"]["items"]] == ["t2"]
        refused = c.post("/rpc", json={"method": "list_actions", "params": {"cursor": "nope"}})
        assert refused.status_code == 400 and refused.json()["error"]["code"] == "invalid_cursor"
