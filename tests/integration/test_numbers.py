"""Integers at the JavaScript number boundary and values JSON cannot carry, on every
surface, through the real runtime: each keeps its exact value in one encoding (ADR 0010)
or is refused with a 4xx that names the limit; never a 500, never a bare NaN."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.integration.test_rpc_surfaces import c_batch, call, pipeline, socket_to
from tests.runtime import LocalRuntime, new_tenant

SAFE = 2**53 - 1
EDGES = [-(2**63), -(2**53) - 1, 2**53 - 1, 2**53, 2**63 - 1]
BEYOND = [2**63, -(2**63) - 1]
LIMIT = "-9223372036854775808 to 9223372036854775807"


def wire(number: int) -> Any:
    """How every JSON surface writes an int (`dotdo.wire.codec`)."""
    return number if abs(number) <= SAFE else {"$bigint": str(number)}


def strict(text: str) -> Any:
    """JSON as RFC 8259 has it: a bare NaN or Infinity fails the test."""
    return json.loads(text, parse_constant=lambda name: pytest.fail(f"bare {name} in {text[:200]}"))


def refused(response: httpx.Response, status: int, code: str) -> str:
    assert (response.status_code, response.json()["error"]["code"]) == (status, code), response.text
    message: str = response.json()["error"]["message"]
    return message


def test_things_keep_integers_exact_and_where_compares_them_exactly(runtime: LocalRuntime) -> None:
    with runtime.client() as c:
        numbers = [*EDGES, 2**53 + 1]  # 2^53 and 2^53+1 are one double apart: equal as REALs
        for i, n in enumerate(numbers):
            created = c.post("/Ledger", json={"$id": f"e{i}", "n": n, "tags": [n]})
            assert created.status_code == 201 and created.json()["n"] == wire(n)
            assert c.get(f"/Ledger/e{i}").json()["tags"] == [wire(n)]

        def ids(where: Any) -> list[str]:
            answer = c.get("/Ledger", params={"where": json.dumps(where)})
            assert answer.status_code == 200, answer.text
            return sorted(t["$id"] for t in answer.json()["items"])

        for i, n in enumerate(numbers):
            assert ids({"n": n}) == [f"e{i}"]
            assert ids({"n": {"$bigint": str(n)}}) == [f"e{i}"]  # the tagged form means the same
            assert ids({"n": {"$in": [n, 7]}}) == [f"e{i}"]
            assert ids({"tags": {"$all": [n]}}) == [f"e{i}"]
            assert ids({"n": {"$gt": n}}) == sorted(f"e{j}" for j, m in enumerate(numbers) if m > n)
            assert ids({"n": {"$lte": n}}) == sorted(f"e{j}" for j, m in enumerate(numbers) if m <= n)
            if n >= 0:
                assert ids({"tags": {"$size": n}}) == []
            count = c.post("/rpc", json={"method": "count_things", "params": ["Ledger", {"n": wire(n)}]})
            assert count.json() == {"result": 1}
        for n in BEYOND:
            assert LIMIT in refused(c.post("/Ledger", json={"n": n}), 400, "invalid_data")
            where = c.get("/Ledger", params={"where": json.dumps({"n": {"$gt": n}})})
            assert LIMIT in refused(where, 400, "invalid_where")
            tagged = {"method": "count_things", "params": ["Ledger", {"n": {"$bigint": str(n)}}]}
            assert LIMIT in refused(c.post("/rpc", json=tagged), 400, "invalid_where")
        assert "9223372036854775807" in refused(
            c.get("/Ledger", params={"where": json.dumps({"tags": {"$size": 2**63}})}), 400, "invalid_where"
        )


def test_state_keeps_integers_exact(runtime: LocalRuntime) -> None:
    with runtime.client() as c:
        for n in EDGES:
            put = c.put(f"/state/k{n}", json={"n": n, "list": [n]})
            assert put.json()["value"] == {"n": wire(n), "list": [wire(n)]}
            assert c.get(f"/state/k{n}").json()["value"] == {"n": wire(n), "list": [wire(n)]}
            assert c.post("/rpc", json={"method": "get", "params": [f"k{n}"]}).json()["result"]["n"] == wire(
                n
            )
            tagged = c.post("/rpc", json={"method": "set", "params": ["t", {"$bigint": str(n)}]})
            assert tagged.status_code == 200 and c.get("/state/t").json()["value"] == wire(n)
        for n in BEYOND:
            assert LIMIT in refused(c.put("/state/k", json=n), 400, "invalid_value")
            rpc = c.post("/rpc", json={"method": "set", "params": ["k", {"$bigint": str(n)}]})
            assert LIMIT in refused(rpc, 400, "invalid_value")
        assert c.get("/state/k").status_code == 404  # nothing refused was stored


QUERIES: list[tuple[str, list[Any], dict[str, Any]]] = [
    *[
        (
            "SELECT ? AS v, typeof(?) AS t, ? + 0 AS w",
            [wire(n), wire(n), wire(n)],
            {"v": wire(n), "t": "integer", "w": wire(n)},
        )
        for n in EDGES
    ],
    *[(f"SELECT {n} AS v", [], {"v": wire(n)}) for n in EDGES],
    (
        "SELECT x'0102' AS v, ? AS p, typeof(?) AS t",
        [{"$bytes": "/wA="}] * 2,
        {"v": {"$bytes": "AQI="}, "p": {"$bytes": "/wA="}, "t": "blob"},
    ),
    (
        "SELECT 1e308*10 AS v, -1e308*10 AS w",
        [],
        {"v": {"$number": "Infinity"}, "w": {"$number": "-Infinity"}},
    ),
    ("SELECT ? AS v", [{"$number": "-Infinity"}], {"v": {"$number": "-Infinity"}}),
    (
        "SELECT 1.5 AS r, 'i9' AS s, NULL AS z, 1 AS a, 2 AS a",
        [],
        {"r": 1.5, "s": "i9", "z": None, "a": 1, "a:1": 2},
    ),
]


def test_query_params_and_results_are_exact_on_http(runtime: LocalRuntime) -> None:
    with runtime.client() as c:
        for sql, params, row in QUERIES:
            answer = c.post("/query", json={"sql": sql, "params": params})
            assert answer.status_code == 200, (sql, answer.text)
            assert strict(answer.text) == {"rows": [row], "truncated": False}, sql
        for n in BEYOND:
            assert LIMIT in refused(
                c.post("/query", json={"sql": "SELECT ?", "params": [n]}), 400, "invalid_params"
            )
        nan = c.post("/query", json={"sql": "SELECT ?", "params": [{"$number": "NaN"}]})
        refused(nan, 400, "invalid_params")
        bare = c.post("/query", content=b'{"sql": "SELECT ?", "params": [NaN]}')
        refused(bare, 400, "invalid_json")


def _from_capnweb(value: Any) -> Any:
    """Cap'n Web's forms of the values (`["bigint", "..."]`, arrays as `[[...]]`) in the codec's."""
    if isinstance(value, dict):
        return {k: _from_capnweb(v) for k, v in value.items()}
    if isinstance(value, list) and value:
        if len(value) == 1 and isinstance(value[0], list):
            return [_from_capnweb(v) for v in value[0]]
        tag = value[0]
        if tag == "bigint":
            return {"$bigint": value[1]}
        if tag == "bytes":
            return {"$bytes": value[1]}
        if tag in ("inf", "-inf", "nan"):
            return {"$number": {"inf": "Infinity", "-inf": "-Infinity", "nan": "NaN"}[tag]}
    return value


def _to_capnweb(value: Any) -> Any:
    if isinstance(value, list):
        return [[_to_capnweb(v) for v in value]]
    if isinstance(value, dict) and len(value) == 1:
        ((tag, inner),) = value.items()
        if tag == "$bigint":
            return ["bigint", inner]
        if tag == "$bytes":
            return ["bytes", inner]
        if tag == "$number":
            return [{"Infinity": "inf", "-Infinity": "-inf", "NaN": "nan"}[inner]]
    return value


def test_every_rpc_surface_answers_the_same_values(runtime: LocalRuntime) -> None:
    tenant = new_tenant()
    with runtime.client(tenant) as c, socket_to(runtime, tenant, "/ws/rpc") as ws:
        for n, (sql, params, row) in enumerate(QUERIES):
            expected = {"rows": [row], "truncated": False}
            rpc = c.post("/rpc", json={"method": "query", "params": [sql, params]})
            assert strict(rpc.text) == {"result": expected}, sql
            piped = c.post("/rpc/pipeline", json=pipeline([], call("query", sql, params)))
            assert strict(piped.text) == {"result": expected}, sql
            ws.send(json.dumps({"id": n, "method": "query", "params": [sql, params]}))
            assert strict(ws.recv(timeout=10)) == {"id": n, "result": expected}, sql
            line = json.dumps(["push", ["pipeline", 0, ["query"], [sql, _to_capnweb(params)]]])
            answer = c_batch(runtime, tenant, "/capnweb", None, [line, '["pull",1]'])
            assert answer[0][:2] == ["resolve", 1] and _from_capnweb(answer[0][2]) == expected, sql
        for n in BEYOND:
            ws.send(json.dumps({"id": "x", "method": "set", "params": ["k", {"$bigint": str(n)}]}))
            error = strict(ws.recv(timeout=10))["error"]
            assert error["code"] == "invalid_value" and LIMIT in error["message"]
            piped = c.post("/rpc/pipeline", json=pipeline([], call("set", "k", {"$bigint": str(n)})))
            assert LIMIT in refused(piped, 400, "invalid_value")


def test_events_are_pushed_in_the_same_encoding(runtime: LocalRuntime) -> None:
    tenant = new_tenant()
    with (
        socket_to(runtime, tenant, "/ws/rpc") as subscriber,
        socket_to(runtime, tenant, "/ws?tags=events") as listener,
        runtime.client(tenant) as c,
    ):
        subscriber.send(json.dumps({"id": 1, "method": "subscribe", "params": ["Ledger.*"]}))
        assert strict(subscriber.recv(timeout=10))["result"] == {"subscriptions": ["Ledger.*"]}
        data = {"edges": EDGES}
        assert c.post("/Ledger", json={"$id": "pushed", **data}).status_code == 201
        pushed = strict(subscriber.recv(timeout=10))
        assert pushed["method"] == "event" and pushed["params"]["data"]["edges"] == [wire(n) for n in EDGES]
        broadcast = strict(listener.recv(timeout=10))
        assert broadcast["type"] == "event" and broadcast["event"]["data"]["edges"] == [
            wire(n) for n in EDGES
        ]
        sent = c.post("/events", json={"type": "Ledger.audited", "data": {"n": {"$bigint": str(2**63 - 1)}}})
        assert sent.status_code == 201
        assert strict(subscriber.recv(timeout=10))["params"]["data"] == {"n": wire(2**63 - 1)}
        assert LIMIT in refused(
            c.post("/events", json={"type": "Ledger.audited", "data": 2**63}), 400, "invalid_data"
        )


def test_socket_frames_are_json_whatever_is_broadcast(runtime: LocalRuntime) -> None:
    tenant = new_tenant()
    values = [{"$number": "NaN"}, {"$number": "Infinity"}, {"$bytes": "AQI="}, {"$bigint": str(2**53)}]
    with socket_to(runtime, tenant, "/_semantic/ws?tags=x") as ws, runtime.client(tenant) as c:
        for value in values:
            sent = c.post("/_semantic/rpc", json={"method": "broadcast_value", "params": [{"v": value}, "x"]})
            assert sent.json() == {"result": 1}, sent.text
            assert strict(ws.recv(timeout=10)) == {"v": value}


@settings(max_examples=60, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(
        st.integers(min_value=-(2**65), max_value=2**65),
        st.integers(min_value=-(2**53) - 3, max_value=-(2**53) + 3),
        st.integers(min_value=2**53 - 3, max_value=2**53 + 3),
        st.sampled_from([*EDGES, *BEYOND]),
    )
)
def test_any_integer_is_kept_exactly_or_refused_naming_the_limit(runtime: LocalRuntime, number: int) -> None:
    with runtime.client() as c:
        query = c.post("/query", json={"sql": "SELECT ? AS v", "params": [number]})
        state = c.put("/state/n", json=[number])
        thing = c.post("/Ledger", json={"$id": "n", "n": number})
        if not -(2**63) <= number <= 2**63 - 1:
            assert LIMIT in refused(query, 400, "invalid_params")
            assert LIMIT in refused(state, 400, "invalid_value")
            assert LIMIT in refused(thing, 400, "invalid_data")
            return
        assert strict(query.text)["rows"] == [{"v": wire(number)}]
        assert strict(c.get("/state/n").text)["value"] == [wire(number)]
        assert strict(thing.text)["n"] == wire(number)
        found = c.get("/Ledger", params={"where": json.dumps({"n": number})})
        assert [t["$id"] for t in strict(found.text)["items"]] == ["n"]


FRAMEWORK_INTEGERS = [
    ("get_thing_as_of", lambda n: ["Widget", "w1", n], "as_of"),
    ("list_events", lambda n: [None, None, n], "since"),
    ("list_events", lambda n: [None, None, None, n], "until"),
    ("list_events", lambda n: [None, None, None, None, None, n], "limit"),
    ("update_thing", lambda n: ["Widget", "w1", {"a": 2}, n], "expected_version"),
]
"""Framework methods whose integers end up in SQL or a timestamp: (method, params, name)."""


def _capnweb_arguments(params: list[Any]) -> list[Any]:
    return [["bigint", str(v)] if isinstance(v, int) and abs(v) > SAFE else v for v in params]


@pytest.mark.parametrize("number", [*BEYOND, 2**70])
def test_a_framework_methods_integers_past_64_bits_are_a_400_on_every_surface(
    runtime: LocalRuntime, number: int
) -> None:
    tenant = new_tenant()
    with runtime.client(tenant) as c, socket_to(runtime, tenant, "/ws/rpc") as ws:
        assert c.post("/Widget", json={"$id": "w1", "a": 1}).status_code == 201
        # the HTTP route's own refusal of the same value
        assert "64-bit" in refused(c.get("/Widget/w1", params={"as_of": str(number)}), 400, "invalid_as_of")
        for method, params, name in FRAMEWORK_INTEGERS:
            expected = f"Argument {name!r} of {method}: integers are limited to 64 bits ({LIMIT})"
            rpc = c.post("/rpc", json={"method": method, "params": params(number)})
            assert refused(rpc, 400, "invalid_params") == expected, method
            piped = c.post("/rpc/pipeline", json=pipeline([], call(method, *params(number))))
            assert piped.status_code == 400 and piped.json()["error"]["message"] == expected, method
            ws.send(json.dumps({"id": 1, "method": method, "params": params(number)}))
            error = strict(ws.recv(timeout=10))["error"]
            assert (error["code"], error["message"]) == ("invalid_params", expected), method
            line = json.dumps(["push", ["pipeline", 0, [method], _capnweb_arguments(params(number))]])
            answer = c_batch(runtime, tenant, "/capnweb", None, [line, '["pull",1]'])
            assert answer[0][:2] == ["reject", 1] and expected in json.dumps(answer[0][2]), (method, answer)
        # the noun accessors a pipeline reaches are the framework's too
        accessor = c.post("/rpc/pipeline", json=pipeline(["Widget", "w1"], call("update", {"a": 3}, number)))
        assert accessor.json()["error"]["message"] == (
            f"Argument 'expected_version' of update: integers are limited to 64 bits ({LIMIT})"
        )
        assert c.get("/Widget/w1").json()["a"] == 1  # nothing was written
