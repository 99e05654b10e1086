"""DOFull's routes and RPC methods (AI, approvals, fan-out, rooms; HarnessFull under /_full/)
refuse a list-valued or object-valued input of the wrong JSON type with a 400 and a stable
code, on HTTP and on RPC alike, before anything runs. A string where a list is meant used
to get through: a string is a sequence in Python (`POST /ai/embed {"texts": "abc"}`)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.runtime import LocalRuntime, new_tenant

FULL = "/_full"

ROUTES: list[tuple[str, dict[str, Any], str]] = [
    ("/ai/embed", {"texts": "a red apple"}, "invalid_params"),
    ("/ai/embed", {"texts": {"0": "a red apple"}}, "invalid_params"),
    ("/ai/embed", {"texts": [["a red apple"]]}, "invalid_params"),
    ("/ai/run", {"model": "@cf/baai/bge-small-en-v1.5", "inputs": "a red apple"}, "invalid_ai_input"),
    ("/ai/run", {"model": "@cf/baai/bge-small-en-v1.5", "inputs": ["a red apple"]}, "invalid_ai_input"),
    ("/ai/run", {"model": "@cf/x", "inputs": {"messages": "hi"}}, "invalid_ai_input"),
    ("/ai/run", {"model": "@cf/x", "inputs": {"text": {"0": "hi"}}}, "invalid_ai_input"),
    ("/ai/generate", {"prompt": ["hi"]}, "invalid_params"),
    ("/ai/generate", {"prompt": "hi", "schema": ["object"]}, "invalid_schema"),
    ("/ai/generate", {"prompt": "hi", "schema": "object"}, "invalid_schema"),
    ("/fanout", {"targets": "Customer/c1", "method": "counts"}, "invalid_params"),
    ("/fanout", {"targets": {"a": "Customer/c1"}, "method": "counts"}, "invalid_params"),
    ("/fanout", {"targets": ["Customer/c1"], "method": "counts", "args": "o-1"}, "invalid_params"),
    (
        "/fanout",
        {"targets": ["Customer/c1"], "method": "counts", "args": {"order_id": "o-1"}},
        "invalid_params",
    ),
    ("/approvals/a-1", {"decision": ["approve"]}, "invalid_params"),
    ("/approvals/a-1", {"decision": "approve", "comment": {"text": "fine"}}, "invalid_params"),
    ("/events", {"type": "Order.placed", "delay": "soon"}, "invalid_params"),
    ("/workflows/anything", {"id": 5}, "invalid_params"),
    ("/query", {"sql": 5}, "invalid_params"),
    ("/nouns", {"name": "Thing", "plural": 5}, "invalid_params"),
    ("/verbs", {"base": "run", "past": ["ran"]}, "invalid_params"),
]

CALLS: list[tuple[str, list[Any], str]] = [
    ("ai_embed", ["a red apple"], "invalid_params"),
    ("ai_embed", [{"0": "a red apple"}], "invalid_params"),
    ("ai_run", ["@cf/baai/bge-small-en-v1.5", "a red apple"], "invalid_ai_input"),
    ("ai_generate", ["hi", ["object"]], "invalid_schema"),
    ("fan_out_call", ["Customer/c1", "counts"], "invalid_params"),
    ("fan_out_call", [["Customer/c1"], "counts", "o-1"], "invalid_params"),
    ("decide_approval", ["a-1", ["approve"]], "invalid_params"),
    ("broadcast_to_room", [["lobby"], "hi"], "invalid_params"),
    ("room_members", [{"room": "lobby"}], "invalid_params"),
    ("search_things", ["Customer", ["bread"]], "invalid_params"),
]


@pytest.mark.parametrize(("path", "body", "code"), ROUTES, ids=[f"{p} {b}" for p, b, _ in ROUTES])
def test_a_route_refuses_an_input_of_the_wrong_json_type(
    runtime: LocalRuntime, path: str, body: dict[str, Any], code: str
) -> None:
    with runtime.client(new_tenant()) as c:
        refused = c.post(f"{FULL}{path}", json=body)
    assert refused.status_code == 400, refused.text
    assert refused.json()["error"]["code"] == code, refused.text
    if code == "invalid_params":  # named the RPC argument: "Argument 'targets' of fan_out_call"
        message = refused.json()["error"]["message"]
        assert message.startswith("Body field ") and "Argument" not in message, message


@pytest.mark.parametrize(("method", "params", "code"), CALLS, ids=[f"{m} {p}" for m, p, _ in CALLS])
def test_an_rpc_method_refuses_an_argument_of_the_wrong_json_type(
    runtime: LocalRuntime, method: str, params: list[Any], code: str
) -> None:
    tenant = new_tenant()
    with runtime.client(tenant) as c:  # the HTTP RPC surface
        refused = c.post(f"{FULL}/rpc", json={"method": method, "params": params})
    assert refused.status_code == 400, refused.text
    assert refused.json()["error"]["code"] == code, refused.text
    # Workers RPC: the call raises (the code is in the BadRequest, which reaches the
    # harness as a JsException), never takes the value as another shape
    answer = runtime.rpc(tenant, method, *params, binding="FULL").json()
    assert "error" in answer and "result" not in answer, answer


# Every DOFull route whose JSON body is a set of named arguments (its own and the layers'
# below), with one field it does not take: a misspelt option used to be dropped in silence.
EXTRA_FIELDS: list[tuple[str, dict[str, Any], str]] = [
    ("/ai/embed", {"texts": ["a red apple"], "modle": "@cf/x"}, "modle"),
    ("/ai/generate", {"prompt": "hi", "temperature": 0}, "temperature"),
    ("/ai/run", {"model": "@cf/x", "inputs": {"text": "a"}, "stream": True}, "stream"),
    ("/fanout", {"targets": ["Customer/c1"], "method": "counts", "timout": 1}, "timout"),
    ("/approvals/a-1", {"decision": "approve", "reason": "fine"}, "reason"),
    ("/events", {"type": "Customer.noted", "dealy": 5}, "dealy"),
    ("/workflows/anything", {"input": 1, "run_id": "r-1"}, "run_id"),
    ("/query", {"sql": "SELECT 1", "args": []}, "args"),
    ("/nouns", {"name": "Widget", "plurals": "Widgets"}, "plurals"),
    ("/verbs", {"base": "zap", "pst": "zapped"}, "pst"),
    ("/actions", {"subject": "Customer/c1", "verb": "view", "objet": "Customer/c2"}, "objet"),
    ("/Customer/c1/owns", {"to": "Customer/c2", "date": {"since": 1}}, "date"),
    ("/storage/archive", {"before": 1, "after": 2}, "after"),
    ("/state/transaction", {"operations": [{"op": "set", "key": "k", "value": 1}], "atomic": True}, "atomic"),
]


@pytest.mark.parametrize(("path", "body", "extra"), EXTRA_FIELDS, ids=[p for p, _, _ in EXTRA_FIELDS])
def test_a_route_refuses_a_body_field_it_does_not_take_and_writes_nothing(
    runtime: LocalRuntime, path: str, body: dict[str, Any], extra: str
) -> None:
    with runtime.client(new_tenant()) as c:
        c.post(f"{FULL}/Customer", json={"$id": "c1"})
        refused = c.post(f"{FULL}{path}", json=body)
        assert refused.status_code == 400, refused.text
        assert refused.json()["error"]["code"] == "invalid_params", refused.text
        assert repr(extra) in refused.json()["error"]["message"]
        assert c.get(f"{FULL}/state/k").status_code == 404
        assert c.get(f"{FULL}/events?type=Customer.noted").json()["items"] == []
        assert c.get(f"{FULL}/actions").json()["items"] == []
        assert c.get(f"{FULL}/Customer/c1/owns").json()["items"] == []
        assert "Widget" not in c.get(f"{FULL}/nouns").text


def test_http_and_rpc_refuse_an_unknown_field_with_one_code(runtime: LocalRuntime) -> None:
    with runtime.client(new_tenant()) as c:
        over_http = c.post(f"{FULL}/ai/embed", json={"texts": ["a"], "modle": "@cf/x"}).json()["error"]
        params = {"texts": ["a"], "modle": "@cf/x"}
        over_rpc = c.post(f"{FULL}/rpc", json={"method": "ai_embed", "params": params}).json()["error"]
    assert over_http["code"] == over_rpc["code"] == "invalid_params"
    assert "'modle'" in over_http["message"] and "'modle'" in over_rpc["message"]


# An item of the wrong type inside a list is named by its path and its own type: the
# message described the whole argument ("...items are each a string, not an array").
ITEM_MESSAGES: list[tuple[str, dict[str, Any], str]] = [
    ("/rpc", {"method": "delete_many", "params": [["a", 5]]}, "keys[1] is an integer, not a string"),
    ("/rpc", {"method": "delete_many", "params": ["a"]}, "takes an array of strings, not a string"),
    (
        "/rpc",
        {"method": "fan_out_call", "params": [["Customer/c1", 2], "counts"]},
        "targets[1] is an integer",
    ),
    ("/rpc", {"method": "ai_embed", "params": [["a", None]]}, "texts[1] is null, not a string"),
    (
        "/fanout",
        {"targets": ["Customer/c1", ["x"]], "method": "counts"},
        "targets[1] is an array, not a string",
    ),
    ("/ai/embed", {"texts": ["a", {"t": "b"}]}, "texts[1] is an object, not a string"),
]


@pytest.mark.parametrize(("path", "body", "message"), ITEM_MESSAGES, ids=[m for _, _, m in ITEM_MESSAGES])
def test_a_list_item_of_the_wrong_type_is_named(
    runtime: LocalRuntime, path: str, body: dict[str, Any], message: str
) -> None:
    with runtime.client(new_tenant()) as c:
        refused = c.post(f"{FULL}{path}", json=body)
    assert refused.status_code == 400, refused.text
    error = refused.json()["error"]
    assert error["code"] == "invalid_params" and message in error["message"], error
