"""Every page with a cursor has one shape, through the real runtime: `{"items", "has_more",
"cursor"}` (edges add `total`), `has_more` exact, `cursor` null exactly on the last page, so
a walk ends on `has_more` or on `cursor` alike and never asks for an empty page."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.runtime import LocalRuntime


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
