"""Other objects reached by noun and id under `strict_nouns`, through the real runtime: a
fan-out's targets, a cross-object call (`self.Noun(id).method()`) and a room's owner name a
noun as a thing does, so a noun the class does not know is refused as the thing routes
refuse it (404 `unknown_noun`), before any object is woken."""

from __future__ import annotations

from typing import Any

import httpx

from tests.runtime import LocalRuntime, new_tenant

UNKNOWN = {
    "code": "unknown_noun",
    "message": "No noun 'Branch'; did you mean 'Ranch'?",
    "suggestion": "Ranch",
}


def error(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 404, response.text
    body: dict[str, Any] = response.json()["error"]
    return body


def result(runtime: LocalRuntime, name: str, method: str, *params: Any, binding: str) -> Any:
    answer = runtime.rpc(name, method, *params, binding=binding).json()
    assert "result" in answer, answer
    return answer["result"]


def test_a_cross_object_call_to_an_unknown_noun_wakes_nothing(runtime: LocalRuntime) -> None:
    tenant = new_tenant()
    with runtime.client(tenant) as c:
        called = c.post("/_strict/rpc", json={"method": "call_noun", "params": ["Ticket", "t1", "hi"]})
        assert called.status_code == 200, called.text
        refused = c.post("/_strict/rpc", json={"method": "call_noun", "params": ["Branch", "globex", "hi"]})
        assert error(refused)["code"] == "unknown_noun" and "'Branch'" in error(refused)["message"]
    assert result(runtime, f"{tenant}/Ticket/t1", "counters", "inbox", binding="STRICT") == {"inbox": ["hi"]}
    assert result(runtime, f"{tenant}/Branch/globex", "counters", "inbox", binding="STRICT") == {
        "inbox": None
    }


def test_fan_out_targets_and_a_rooms_owner_of_an_unknown_noun_are_refused_before_any_call(
    runtime: LocalRuntime,
) -> None:
    tenant = new_tenant()
    with runtime.client(tenant) as c:
        assert c.post("/_fanout/nouns", json={"name": "Counter"}).status_code == 201
        assert c.post("/_fanout/nouns", json={"name": "Ranch"}).status_code == 201
        assert c.post("/_fanout/rpc", json={"method": "go_strict", "params": []}).status_code == 200
        targets = [f"Counter/{tenant}", "Branch/globex"]
        body = {"targets": targets, "method": "tally", "args": ["http"]}
        assert error(c.post("/_fanout/fanout", json=body)) == UNKNOWN
        by_rpc = c.post(
            "/_fanout/rpc", json={"method": "fan_out_call", "params": [targets, "tally", ["rpc"]]}
        )
        assert error(by_rpc) == UNKNOWN
        in_python = c.post("/_fanout/rpc", json={"method": "fan", "params": [targets, {}]})
        assert error(in_python) == UNKNOWN
        relayed = c.post(
            "/_fanout/rpc",
            json={"method": "broadcast_to_room", "params": ["lobby", {"n": 1}, "Branch/globex"]},
        )
        assert error(relayed) == UNKNOWN
        assert result(runtime, f"{tenant}/Counter/{tenant}", "calls", binding="FANOUT") == 0  # nothing called
        assert result(runtime, f"{tenant}/Branch/globex", "calls", binding="FANOUT") == 0
        known = c.post("/_fanout/fanout", json={**body, "targets": [f"Counter/{tenant}"]})
        assert known.status_code == 200 and known.json()["ok"], known.text
