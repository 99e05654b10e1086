"""A null in a body of named arguments, through the real runtime: it is absent where the
argument's default is None (a verb's forms, an event's data) and refused where it is not,
so that it never stands in for a default that changes what is stored: `"indexes": null`
re-registered a noun with none."""

from __future__ import annotations

from typing import Any

import httpx

from tests.runtime import LocalRuntime, new_tenant


def error_code(response: httpx.Response) -> tuple[int, str]:
    return response.status_code, response.json()["error"]["code"]


def noun(c: httpx.Client, name: str) -> dict[str, Any]:
    (found,) = [n for n in c.get("/nouns").json()["items"] if n["name"] == name]
    return dict(found)


def test_a_null_indexes_is_refused_and_the_nouns_indexes_stay(runtime: LocalRuntime) -> None:
    with runtime.client() as c:
        registered = c.post("/nouns", json={"name": "Lead", "plural": "Leads", "indexes": ["status"]})
        assert registered.status_code == 201, registered.text
        refused = c.post("/nouns", json={"name": "Lead", "indexes": None})
        assert error_code(refused) == (400, "invalid_params")
        message = refused.json()["error"]["message"]
        assert "Body field 'indexes' takes an array of strings, not null" in message
        by_rpc = c.post("/rpc", json={"method": "register_noun", "params": {"name": "Lead", "indexes": None}})
        assert error_code(by_rpc) == (400, "invalid_params")
        assert noun(c, "Lead")["indexes"] == ["status"]
        # An empty array is "no indexes", said on purpose.
        assert c.post("/nouns", json={"name": "Lead", "indexes": []}).json()["indexes"] == []


def test_a_null_where_the_default_is_none_is_absent(runtime: LocalRuntime) -> None:
    with runtime.client() as c:
        assert c.post("/nouns", json={"name": "Person", "plural": None}).json()["plural"] == "People"
        forms = c.post("/verbs", json={"base": "run", "past": None, "participle": None}).json()
        assert forms == c.post("/verbs", json={"base": "run"}).json()
        assert c.post("/Lead", json={"$id": "l1"}).status_code == 201
        action = c.post("/actions", json={"subject": "Lead/l1", "verb": "call", "object": None, "data": None})
        assert action.status_code == 201, action.text


def test_a_null_fan_out_option_is_refused_as_rpc_refuses_it(runtime: LocalRuntime) -> None:
    tenant = new_tenant()
    with runtime.client(tenant) as c:
        for option in ("concurrency", "timeout", "retries"):
            body = {"targets": [f"Counter/{tenant}"], "method": "tally", "args": ["x"], option: None}
            refused = c.post("/_fanout/fanout", json=body)
            assert error_code(refused) == (400, "invalid_params"), option
            assert f"Body field {option!r}" in refused.json()["error"]["message"]
            params = {"targets": [f"Counter/{tenant}"], "method": "tally", option: None}
            by_rpc = c.post("/_fanout/rpc", json={"method": "fan_out_call", "params": params})
            assert error_code(by_rpc) == (400, "invalid_params"), option
