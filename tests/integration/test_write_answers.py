"""A write answers the thing as that write left it, on every surface, even when a durable
handler the request waited for wrote the thing again (docs/api.md, "Things"): the answer's
version and entity tag are then a version behind, and a read gives the current ones."""

from __future__ import annotations

from typing import Any

from tests.runtime import LocalRuntime, new_tenant


def test_a_create_answers_its_own_version_and_a_read_the_handlers(runtime: LocalRuntime) -> None:
    with runtime.client(new_tenant()) as c:
        created = c.post("/_workflow/Stamp", json={"$id": "s1", "name": "one"})
        answer: dict[str, Any] = created.json()
        assert (answer["$version"], created.headers["etag"]) == (1, f'"1.{answer["$created_at"]}"')
        assert "stamped" not in answer
        current = c.get("/_workflow/Stamp/s1")
        assert current.json()["$version"] == 2 and current.json()["stamped"] is True
        stale = c.patch("/_workflow/Stamp/s1", json={"n": 1}, headers={"if-match": created.headers["etag"]})
        assert stale.status_code == 412
        assert stale.json()["error"]["current_version"] == 2
        assert stale.headers["etag"] == current.headers["etag"]
        fresh = c.patch("/_workflow/Stamp/s1", json={"n": 1}, headers={"if-match": current.headers["etag"]})
        assert (fresh.status_code, fresh.json()["$version"]) == (200, 3)
        by_rpc = c.post("/_workflow/rpc", json={"method": "create_thing", "params": ["Stamp", {"$id": "s2"}]})
        assert by_rpc.json()["result"]["$version"] == 1  # the same answer on /rpc
        refused = c.post(
            "/_workflow/rpc",
            json={"method": "update_thing", "params": ["Stamp", "s2", {"n": 1}, 1]},
        )
        assert refused.json()["error"]["code"] == "version_conflict"
