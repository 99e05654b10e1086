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
