"""Every documented bound, through the real runtime: exactly the maximum, with the
largest valid values, is accepted; one past it gets the documented code.

`BOUNDS` mirrors the bounds table of docs/api.md (a test keeps the two equal), so
a limit cannot be documented without being tried at its edge, or the other way round.
"""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import ClientConnection, connect

from dotdo.wire.tokens import mint
from tests.conftest import HARNESS_RPC_SECRET
from tests.runtime import ROOT, LocalRuntime, new_tenant

Outcome = tuple[int | None, str | None]
"""(HTTP status, or None for a socket message; error code, or None when accepted)."""

SEGMENT = "f" * 64
LONGEST_PATH = ".".join([SEGMENT] * 8)  # a field path at its limits: 8 names of 64 characters


def longest_path(index: int) -> str:
    """Distinct field paths of the longest kind (8 names of 64 characters)."""
    return f"{LONGEST_PATH[:-4]}{index:04d}"


def of_http(response: httpx.Response) -> Outcome:
    if response.status_code < 400:
        return response.status_code, None
    return response.status_code, response.json()["error"]["code"]


def of_message(answer: dict[str, Any]) -> Outcome:
    return None, answer["error"]["code"] if "error" in answer else None


def socket_to(runtime: LocalRuntime, tenant: str, path: str) -> ClientConnection:
    loopback = socket.create_connection(("127.0.0.1", runtime.port), timeout=30)
    return connect(
        f"ws://{tenant}.localhost:{runtime.port}{path}", sock=loopback, open_timeout=30, max_size=None
    )


def upgrade(runtime: LocalRuntime, tenant: str, path: str, message: str) -> Outcome:
    """Open a socket, send `message`, and report the answer (or why the upgrade was refused)."""
    try:
        with socket_to(runtime, tenant, path) as ws:
            ws.send(message)
            answer = json.loads(ws.recv(timeout=30))
    except InvalidStatus as refused:
        return refused.response.status_code, json.loads(refused.response.body or b"{}")["error"]["code"]
    return None, answer.get("error", {}).get("code") if isinstance(answer, dict) else None


def rpc(runtime: LocalRuntime, tenant: str, method: str, *params: Any) -> Outcome:
    with runtime.client(tenant) as c:
        return of_http(c.post("/rpc", json={"method": method, "params": list(params)}))


def inflating(size: int, around: Callable[[str], str] = lambda value: value) -> str:
    """A JSON text, shorter than `size` bytes, whose value written back compactly (as
    dotdo measures it) is exactly `size` bytes: each `1E5` comes back as `100000.0`.
    `around` places the value in the request body."""
    grow = "[" + ",".join(["1E5"] * 300) + "]"
    empty = len(json.dumps({"pad": "", "grow": [1e5] * 300}, separators=(",", ":")).encode())
    return around('{"pad":"' + "a" * (size - empty) + '","grow":' + grow + "}")


def encoded_size(value: Any) -> int:
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())


def nested(depth: int, leaf: Any) -> Any:
    value = leaf
    for _ in range(depth):
        value = {"a": value}
    return value


# -- the attempts, one per bound: send the bounded quantity at `n` ----------------


def body_bytes(runtime: LocalRuntime, tenant: str, n: int) -> Outcome:
    body = json.dumps("x" * (n - 2)).encode()
    with runtime.client(tenant) as c:
        return of_http(c.put("/state/k", content=body))


def json_depth(runtime: LocalRuntime, tenant: str, n: int) -> Outcome:
    """A `/ws` ping nested `n` levels: the socket only parses it, so nothing but the
    parser's bound applies (a value that is decoded or stored is bounded tighter)."""
    pad = "[" * (n - 1) + "]" * (n - 1)
    return upgrade(runtime, tenant, "/ws", '{"type":"ping","pad":' + pad + "}")


def value_depth(runtime: LocalRuntime, tenant: str, n: int) -> Outcome:
    """A `/rpc` body whose deepest value is `n` levels down (the echoed value is 2 less)."""
    with runtime.client(tenant) as c:
        body = {"method": "echo", "params": [nested(n - 2, "bottom")]}
        return of_http(c.post("/_semantic/rpc", json=body))


def state_value_depth(runtime: LocalRuntime, tenant: str, n: int) -> Outcome:
    with runtime.client(tenant) as c:
        return of_http(c.put("/state/k", json=nested(n, "bottom")))


def key_bytes(runtime: LocalRuntime, tenant: str, n: int) -> Outcome:
    key = "é" * (n // 2) + "x" * (n % 2)  # two bytes a character: the most a URL carries per byte
    assert len(key.encode()) == n
    with runtime.client(tenant) as c:
        return of_http(c.put(f"/state/{quote(key, safe='')}", json=1))


def value_bytes(runtime: LocalRuntime, tenant: str, n: int) -> Outcome:
    body = inflating(n)
    assert encoded_size(json.loads(body)) == n and len(body) <= n
    with runtime.client(tenant) as c:
        return of_http(c.put("/state/k", content=body))


def state_list_limit(runtime: LocalRuntime, tenant: str, n: int) -> Outcome:
    with runtime.client(tenant) as c:
        return of_http(c.get("/state", params={"limit": n}))


def transaction_operations(runtime: LocalRuntime, tenant: str, n: int) -> Outcome:
    operations = [{"op": "set", "key": "k" * 500 + f"{i:012d}", "value": i} for i in range(n)]
    with runtime.client(tenant) as c:
        return of_http(c.post("/state/transaction", json={"operations": operations}))


def socket_tags(runtime: LocalRuntime, tenant: str, n: int) -> Outcome:
    tags = ",".join(f"{i}".rjust(64, "t") for i in range(n))
    return upgrade(runtime, tenant, f"/ws?tags={tags}", json.dumps({"type": "ping"}))


def tag_length(runtime: LocalRuntime, tenant: str, n: int) -> Outcome:
    return upgrade(runtime, tenant, f"/ws?tags={'t' * n}", json.dumps({"type": "ping"}))


def ws_message_bytes(runtime: LocalRuntime, tenant: str, n: int) -> Outcome:
    head, tail = '{"id":1,"method":"set","params":["k","', '"]}'
    room = n - len(head) - len(tail)
    message = head + "é" * (room // 2) + "x" * (room % 2) + tail
    assert len(message.encode()) == n
    return upgrade(runtime, tenant, "/ws/rpc", message)


def pattern(index: int, length: int = 129) -> str:
    """A distinct event pattern of `length` characters: a noun of 64, a verb of the rest."""
    return f"N{index:02d}".ljust(64, "n") + "." + "v" * (length - 65)


def subscriptions(runtime: LocalRuntime, tenant: str, n: int) -> Outcome:
    with socket_to(runtime, tenant, "/_workflow/ws/rpc") as ws:
        for index in range(n):
            ws.send(json.dumps({"id": index, "method": "subscribe", "params": [pattern(index)]}))
            answer = json.loads(ws.recv(timeout=30))
            if "error" in answer:
                return of_message(answer)
    return None, None


def pattern_length(runtime: LocalRuntime, tenant: str, n: int) -> Outcome:
    message = json.dumps({"id": 1, "method": "subscribe", "params": [pattern(0, n)]})
    return upgrade(runtime, tenant, "/ws/rpc", message)


def token_length(runtime: LocalRuntime, tenant: str, n: int) -> Outcome:
    """A socket opened with the longest token not past `n` characters (or the shortest past it)."""
    tokens = [mint(HARNESS_RPC_SECRET, target=tenant, scope="read", sub="s" * k) for k in range(5900, 6300)]
    fitting = [t for t in tokens if len(t) <= n] if n <= 8192 else [t for t in tokens if len(t) >= n]
    token = max(fitting, key=len) if n <= 8192 else min(fitting, key=len)
    assert abs(len(token) - n) <= 2  # base64 skips some lengths
    return upgrade(
        runtime, tenant, f"/_harness/ws/rpc?token={token}", json.dumps({"id": 1, "method": "whoami"})
    )


def chain(steps: int) -> dict[str, Any]:
    reads = [{"type": "property", "name": "a"}] * (steps - 1)
    return {
        "pipeline": {"target": [], "pipeline": [{"type": "method", "name": "get", "args": ["deep"]}, *reads]}
    }


def pipeline_steps(runtime: LocalRuntime, tenant: str, n: int) -> Outcome:
    with runtime.client(tenant) as c:
        c.put("/state/deep", json=nested(20, "bottom"))
        return of_http(c.post("/rpc/pipeline", json=chain(n)))


def batch_pipelines(runtime: LocalRuntime, tenant: str, n: int) -> Outcome:
    with runtime.client(tenant) as c:
        c.put("/state/deep", json=nested(20, "bottom"))
        response = c.post("/rpc/pipeline", json=[chain(16)] * n)
    if response.status_code == 200:
        assert all("result" in answer for answer in response.json())
    return of_http(response)


def capnweb_outcome(lines: list[str]) -> Outcome:
    parsed = [json.loads(line) for line in lines if line]
    if any(message[0] == "abort" for message in parsed):
        return None, "abort"
    assert all(message[0] == "resolve" for message in parsed), parsed
    return None, None


def capnweb_batch_messages(runtime: LocalRuntime, tenant: str, n: int) -> Outcome:
    lines = []
    for index in range(n):  # pushes, each pulled right after it
        lines.append(
            '["push",["pipeline",0,["get"],["k"]]]' if index % 2 == 0 else f'["pull",{index // 2 + 1}]'
        )
    with runtime.client(tenant) as c:
        response = c.post("/capnweb", content="\n".join(lines))
    return capnweb_outcome(response.text.split("\n"))


def capnweb_message_bytes(runtime: LocalRuntime, tenant: str, n: int) -> Outcome:
    head, tail = '["push",["pipeline",0,["set"],["k","', '"]]]'
    room = n - len(head) - len(tail)
    message = head + "é" * (room // 2) + "x" * (room % 2) + tail
    assert len(message.encode()) == n
    with socket_to(runtime, tenant, "/capnweb") as ws:
        ws.send(message)
        ws.send('["pull",1]')
        return capnweb_outcome([ws.recv(timeout=30)])


def where_conditions(runtime: LocalRuntime, tenant: str, n: int) -> Outcome:
    clause = {"$and": [{longest_path(i): {"$ne": SEGMENT}} for i in range(n)]}
    return rpc(runtime, tenant, "list_things", "Customer", clause)


def where_depth(runtime: LocalRuntime, tenant: str, n: int) -> Outcome:
    """Fields `n` deep (the clause itself is depth 1), under $and, $not and $or in turn,
    with all 200 conditions on the longest paths."""
    wrappers = [("$and", "$not", "$or")[level % 3] for level in range(n - 3)]
    leaves = [{longest_path(i): {"$in": [i, SEGMENT]}} for i in range(200)]
    spare = [leaves.pop() for wrapper in wrappers if wrapper != "$not"]
    clause: dict[str, Any] = {"$or": leaves}  # its fields are at depth 3
    for wrapper in wrappers:
        clause = {"$not": clause} if wrapper == "$not" else {wrapper: [clause, spare.pop()]}
    return rpc(runtime, tenant, "count_things", "Customer", clause)


def in_values(runtime: LocalRuntime, tenant: str, n: int) -> Outcome:
    values = [f"{i}".rjust(64, "v") for i in range(n)]
    return rpc(runtime, tenant, "list_things", "Customer", {LONGEST_PATH: {"$in": values}})


def all_values(runtime: LocalRuntime, tenant: str, n: int) -> Outcome:
    values = [f"{i}".rjust(64, "v") for i in range(n)]
    return rpc(runtime, tenant, "list_things", "Customer", {LONGEST_PATH: {"$all": values}})


def field_depth(runtime: LocalRuntime, tenant: str, n: int) -> Outcome:
    return rpc(runtime, tenant, "count_things", "Customer", {".".join([SEGMENT] * n): 1})


def field_name_length(runtime: LocalRuntime, tenant: str, n: int) -> Outcome:
    return rpc(runtime, tenant, "count_things", "Customer", {"f" * n: 1})


def regex_length(runtime: LocalRuntime, tenant: str, n: int) -> Outcome:
    return rpc(runtime, tenant, "count_things", "Customer", {"name": {"$regex": "a" * n}})


def order_fields(runtime: LocalRuntime, tenant: str, n: int) -> Outcome:
    clause = {"$and": [{longest_path(i): {"$ne": SEGMENT}} for i in range(200)]}
    order = [f"-{longest_path(i)}" for i in range(n)]
    with runtime.client(tenant) as c:
        c.post("/Customer", json={"name": "Ada"})
    return rpc(runtime, tenant, "list_things", "Customer", clause, order)


def thing_list_limit(runtime: LocalRuntime, tenant: str, n: int) -> Outcome:
    with runtime.client(tenant) as c:
        return of_http(c.get("/Customer", params={"limit": n}))


def thing_offset(runtime: LocalRuntime, tenant: str, n: int) -> Outcome:
    with runtime.client(tenant) as c:
        return of_http(c.get("/Customer", params={"offset": n}))


def thing_id_length(runtime: LocalRuntime, tenant: str, n: int) -> Outcome:
    with runtime.client(tenant) as c:
        return of_http(c.post("/Customer", json={"$id": "i" * n}))


def type_name_length(runtime: LocalRuntime, tenant: str, n: int) -> Outcome:
    with runtime.client(tenant) as c:
        return of_http(c.post("/" + "T" * n, json={"name": "x"}))


def thing_bytes(runtime: LocalRuntime, tenant: str, n: int) -> Outcome:
    body = inflating(n)
    with runtime.client(tenant) as c:
        return of_http(c.post("/Customer", content=body))


def thing_depth(runtime: LocalRuntime, tenant: str, n: int) -> Outcome:
    with runtime.client(tenant) as c:
        return of_http(c.post("/Customer", json=nested(n, "bottom")))


def create_many(runtime: LocalRuntime, tenant: str, n: int) -> Outcome:
    things = [{"$id": f"{i}".rjust(128, "c")} for i in range(n)]
    with runtime.client(tenant) as c:
        return of_http(c.post("/Customer", json=things))


def event_type_length(runtime: LocalRuntime, tenant: str, n: int) -> Outcome:
    with runtime.client(tenant) as c:
        return of_http(c.post("/events", json={"type": pattern(0, n)}))


def event_subject_length(runtime: LocalRuntime, tenant: str, n: int) -> Outcome:
    with runtime.client(tenant) as c:
        return of_http(c.post("/events", json={"type": "Customer.noted", "subject": "s" * n}))


def event_data_bytes(runtime: LocalRuntime, tenant: str, n: int) -> Outcome:
    body = inflating(n, lambda data: '{"type":"Customer.noted","data":' + data + "}")
    assert encoded_size(json.loads(body)["data"]) == n
    with runtime.client(tenant) as c:
        return of_http(c.post("/events", content=body))


def event_data_depth(runtime: LocalRuntime, tenant: str, n: int) -> Outcome:
    with runtime.client(tenant) as c:
        return of_http(c.post("/events", json={"type": "Customer.noted", "data": nested(n, "bottom")}))


def event_delay(runtime: LocalRuntime, tenant: str, n: int) -> Outcome:
    with runtime.client(tenant) as c:
        return of_http(c.post("/events", json={"type": "Customer.noted", "delay": n}))


def traverse_limit(runtime: LocalRuntime, tenant: str, n: int) -> Outcome:
    """Two hops whose first frontier holds 150 things (one SQL parameter each, before)."""
    relate = {"type": "method", "name": "relate"}
    batch = [
        {"pipeline": {"target": [], "pipeline": [{**relate, "args": ["Person/p", "knows", f"Person/f{i}"]}]}}
        for i in range(150)
    ]
    with runtime.client(tenant) as c:
        for start in range(0, len(batch), 30):
            c.post("/rpc/pipeline", json=batch[start : start + 30]).raise_for_status()
    hops = [{"verb": "knows", "direction": "out"}, {"verb": "knows", "direction": "in"}]
    return rpc(runtime, tenant, "traverse", "Person/p", hops, n)


def traverse_hops(runtime: LocalRuntime, tenant: str, n: int) -> Outcome:
    return rpc(runtime, tenant, "traverse", "Person/p", [{"verb": "knows"}] * n, 1000)


def query_params(runtime: LocalRuntime, tenant: str, n: int) -> Outcome:
    """`n` integer parameters in one flat call (a chain `?+?+...` of 100 would also be at
    SQLite's expression depth limit: each integer is bound as `(+CAST(? AS INTEGER))`)."""
    sql = "SELECT max(" + ", ".join(["?"] * n) + ")"
    with runtime.client(tenant) as c:
        return of_http(c.post("/query", json={"sql": sql, "params": [1] * n}))


def query_length(runtime: LocalRuntime, tenant: str, n: int) -> Outcome:
    sql = "SELECT '" + "q" * (n - 9) + "'"
    assert len(sql) == n
    with runtime.client(tenant) as c:
        return of_http(c.post("/query", json={"sql": sql}))


def query_sources(runtime: LocalRuntime, tenant: str, n: int) -> Outcome:
    """A cross join of `n` tables (empty: the refusal comes before any row is read)."""
    sql = "SELECT count(*) AS n FROM " + ", ".join(f"things t{i}" for i in range(n))
    with runtime.client(tenant) as c:
        return of_http(c.post("/query", json={"sql": sql}))


def query_format_width(runtime: LocalRuntime, tenant: str, n: int) -> Outcome:
    with runtime.client(tenant) as c:
        return of_http(c.post("/query", json={"sql": f"SELECT printf('%{n}d', 1) AS s"}))


def noun_length(runtime: LocalRuntime, tenant: str, n: int) -> Outcome:
    """A noun whose derived plural is 3 longer (Child -> Children)."""
    with runtime.client(tenant) as c:
        return of_http(c.post("/nouns", json={"name": "Child".rjust(n, "A")}))


def plural_length(runtime: LocalRuntime, tenant: str, n: int) -> Outcome:
    with runtime.client(tenant) as c:
        return of_http(c.post("/nouns", json={"name": "Ox", "plural": "Oxen".rjust(n, "O")}))


def noun_indexes(runtime: LocalRuntime, tenant: str, n: int) -> Outcome:
    with runtime.client(tenant) as c:
        return of_http(
            c.post("/nouns", json={"name": "Customer", "indexes": [longest_path(i) for i in range(n)]})
        )


def object_indexes(runtime: LocalRuntime, tenant: str, n: int) -> Outcome:
    """Nouns of 16 indexes each, then one noun with the rest: the last registration's answer."""
    with runtime.client(tenant) as c:
        answer: Outcome = (200, None)
        for start in range(0, n, 16):
            paths = [f"p{i}" for i in range(min(16, n - start))]
            answer = of_http(c.post("/nouns", json={"name": f"Noun{start // 16}", "indexes": paths}))
        return answer


def derived_verb_length(runtime: LocalRuntime, tenant: str, n: int) -> Outcome:
    """An action with a verb whose forms grow by 4 (ship -> shipping)."""
    verb = "ship" + "Z" * (n - 4)
    with runtime.client(tenant) as c:
        return of_http(c.post("/actions", json={"subject": "Person/p", "verb": verb, "object": "Order/o"}))


def run_time_schedules(runtime: LocalRuntime, tenant: str, n: int) -> Outcome:
    """`n - 1` run-time schedules in one call, then the `n`th (at 23:59, none of theirs)."""
    with runtime.client(tenant) as c:
        added = c.post("/_workflow/rpc", json={"method": "schedule_tickers", "params": [n - 1]})
        assert added.status_code == 200, added.text
        return of_http(
            c.post("/_workflow/rpc", json={"method": "schedule_ticker_daily_at", "params": ["23:59"]})
        )


def schedule_list_limit(runtime: LocalRuntime, tenant: str, n: int) -> Outcome:
    with runtime.client(tenant) as c:
        return of_http(c.get("/_workflow/schedules", params={"limit": n}))


@dataclass(frozen=True)
class Bound:
    name: str
    """The limit, as the bounds table of docs/api.md names it."""
    maximum: int
    past: Outcome
    attempt: Callable[[LocalRuntime, str, int], Outcome]


BOUNDS = [
    Bound("request body", 1_048_576, (413, "payload_too_large"), body_bytes),
    Bound("JSON nesting", 512, (None, "invalid_json"), json_depth),
    Bound("value nesting", 64, (400, "invalid_value"), value_depth),
    Bound("state key", 512, (400, "invalid_key"), key_bytes),
    Bound("state value", 1_048_576, (413, "value_too_large"), value_bytes),
    Bound("state value nesting", 32, (400, "invalid_value"), state_value_depth),
    Bound("state list `limit`", 1000, (400, "invalid_limit"), state_list_limit),
    Bound("state transaction operations", 1000, (400, "invalid_operations"), transaction_operations),
    Bound("socket tags", 9, (400, "invalid_tag"), socket_tags),
    Bound("socket tag length", 64, (400, "invalid_tag"), tag_length),
    Bound("`/ws/rpc` message", 65_536, (None, "message_too_large"), ws_message_bytes),
    Bound("`/ws/rpc` subscriptions", 32, (None, "too_many_subscriptions"), subscriptions),
    Bound("event pattern", 129, (None, "invalid_event_pattern"), pattern_length),
    Bound("event type", 129, (400, "invalid_event_type"), event_type_length),
    Bound("event subject", 256, (400, "invalid_subject"), event_subject_length),
    Bound("capability token", 8192, (401, "token_malformed"), token_length),
    Bound("pipeline steps", 16, (400, "pipeline_too_long"), pipeline_steps),
    Bound("pipelines per batch", 32, (400, "batch_too_large"), batch_pipelines),
    Bound("Cap'n Web HTTP batch messages", 1000, (None, "abort"), capnweb_batch_messages),
    Bound("Cap'n Web message", 1_048_576, (None, "abort"), capnweb_message_bytes),
    Bound("where conditions", 200, (400, "invalid_where"), where_conditions),
    Bound("where nesting", 12, (400, "invalid_where"), where_depth),
    Bound("`$in` / `$nin` values", 500, (400, "invalid_where"), in_values),
    Bound("`$all` values", 500, (400, "invalid_where"), all_values),
    Bound("field path depth", 8, (400, "invalid_where"), field_depth),
    Bound("field name", 64, (400, "invalid_where"), field_name_length),
    Bound("`$regex`", 256, (400, "invalid_where"), regex_length),
    Bound("`order_by` fields", 8, (400, "invalid_order_by"), order_fields),
    Bound("thing list `limit`", 1000, (400, "invalid_limit"), thing_list_limit),
    Bound("thing list `offset`", 1_000_000, (400, "invalid_offset"), thing_offset),
    Bound("thing id", 128, (400, "invalid_id"), thing_id_length),
    Bound("type name", 64, (400, "invalid_type"), type_name_length),
    Bound("thing", 1_048_576, (413, "thing_too_large"), thing_bytes),
    Bound("thing nesting", 32, (400, "invalid_data"), thing_depth),
    Bound("things per `create_many`", 500, (400, "batch_too_large"), create_many),
    Bound("event data", 1_048_576, (413, "value_too_large"), event_data_bytes),
    Bound("event data nesting", 32, (400, "invalid_data"), event_data_depth),
    Bound("event `delay`", 3_153_600_000, (400, "invalid_delay"), event_delay),
    Bound("run-time schedules", 100, (409, "too_many_schedules"), run_time_schedules),
    Bound("schedule list `limit`", 1000, (400, "invalid_limit"), schedule_list_limit),
    Bound("traversal `limit`", 1000, (400, "invalid_limit"), traverse_limit),
    Bound("traversal hops", 5, (400, "invalid_traversal"), traverse_hops),
    Bound("`/query` params", 100, (400, "invalid_params"), query_params),
    Bound("`/query` SQL", 10_000, (400, "invalid_sql"), query_length),
    Bound("`/query` row sources", 2, (400, "query_too_costly"), query_sources),
    Bound("`/query` `printf` width", 100, (400, "query_too_costly"), query_format_width),
    Bound("noun (with a derived plural)", 64, (400, "invalid_type"), noun_length),
    Bound("noun plural", 72, (400, "invalid_noun"), plural_length),
    Bound("indexes per noun", 16, (400, "invalid_noun"), noun_indexes),
    Bound("indexes per object", 64, (400, "invalid_noun"), object_indexes),
    Bound("verb with derived forms", 60, (400, "invalid_verb"), derived_verb_length),
]


@pytest.mark.parametrize("bound", BOUNDS, ids=lambda b: b.name)
def test_the_maximum_with_the_largest_values_is_accepted(runtime: LocalRuntime, bound: Bound) -> None:
    status, code = bound.attempt(runtime, new_tenant(), bound.maximum)
    assert code is None and (status is None or status < 400), (status, code)


@pytest.mark.parametrize("bound", BOUNDS, ids=lambda b: b.name)
def test_one_past_the_maximum_gets_the_documented_code(runtime: LocalRuntime, bound: Bound) -> None:
    assert bound.attempt(runtime, new_tenant(), bound.maximum + 1) == bound.past


UNIT_TESTED = {
    "socket attachment": "tests/unit/core/test_websocket.py",
    "requests per caller": "tests/unit/core/test_limits.py",
    "socket messages per caller": "tests/unit/core/test_limits.py",
    "batch answers": "tests/unit/wire/test_batch_answers.py",
    "residual walk": "tests/unit/semantic/test_residual_walk.py",
}
"""Rows of the table tried without the runtime (the rate is time-bound; nothing reaches the
cap; sixteen megabytes of answers are tried on the batch runners themselves; a walk's 32 MiB
on the walk itself, and at its real size in `test_page_bytes.py`)."""


def test_the_bounds_table_in_the_docs_is_this_one() -> None:
    text = (Path(ROOT) / "docs" / "api.md").read_text()
    table = text.split("\n## Bounds\n", 1)[1].split("\n\n", 2)[1]
    documented = {}
    for row in table.splitlines()[2:]:
        name, value, _, past = (cell.strip() for cell in row.strip("|").split("|"))
        number = re.search(r"\d[\d,]*", value)
        assert number, row
        documented[name] = (int(number.group(0).replace(",", "")), past.split()[-1].strip("`"))
    for name, test in UNIT_TESTED.items():
        assert documented.pop(name) and (Path(ROOT) / test).exists()
    assert documented == {bound.name: (bound.maximum, str(bound.past[1])) for bound in BOUNDS}


def test_a_refused_subscription_leaves_what_the_socket_holds_and_what_is_stored_equal(
    runtime: LocalRuntime,
) -> None:
    tenant = new_tenant()
    held = [pattern(index) for index in range(32)]
    with socket_to(runtime, tenant, "/_workflow/ws/rpc") as ws:

        def ask(method: str, event_pattern: str) -> dict[str, Any]:
            ws.send(json.dumps({"id": 1, "method": method, "params": [event_pattern]}))
            answer: dict[str, Any] = json.loads(ws.recv(timeout=30))
            return answer

        for event_pattern in held:
            assert "result" in ask("subscribe", event_pattern)
        assert ask("subscribe", pattern(32))["error"]["code"] == "too_many_subscriptions"
        assert ask("subscribe", held[5])["result"] == {"subscriptions": held}  # held already: no change
        listed = ask("unsubscribe", pattern(32))["result"]["subscriptions"]  # not held: lists what is
        stored = runtime.rpc(tenant, "socket_subscriptions", binding="WORKFLOW").json()["result"]
        assert listed == stored[0] == held
        with runtime.client(tenant) as c:
            c.post("/_workflow/events", json={"type": held[-1]}).raise_for_status()
        pushed = json.loads(ws.recv(timeout=30))
        assert pushed["method"] == "event" and pushed["params"]["type"] == held[-1]


def test_json_nested_far_past_its_bound_is_refused_and_the_object_lives_on(runtime: LocalRuntime) -> None:
    """Pyodide's parser dies (taking the isolate with it) somewhere past 6,500 levels."""
    tenant = new_tenant()
    deep = "[" * 20_000 + "]" * 20_000
    with runtime.client(tenant) as c:
        assert of_http(c.put("/state/k", content=deep)) == (400, "invalid_json")
        assert of_http(c.post("/rpc", content='{"method":"set","params":["k",' + deep + "]}")) == (
            400,
            "invalid_json",
        )
    assert upgrade(runtime, tenant, "/ws/rpc", deep) == (None, "invalid_json")
    with socket_to(runtime, tenant, "/capnweb") as ws:
        ws.send('["push",["pipeline",0,["set"],["k",' + deep + "]]]")
        assert capnweb_outcome([ws.recv(timeout=30)]) == (None, "abort")
    with runtime.client(tenant) as c:
        assert c.put("/state/k", json="alive").status_code == 200


def test_a_socket_message_that_is_not_strict_json_is_answered_invalid_json(runtime: LocalRuntime) -> None:
    tenant = new_tenant()
    for message in ("NaN", '{"type": "ping", "n": Infinity}', "{"):
        assert upgrade(runtime, tenant, "/ws", message) == (None, "invalid_json")
    assert upgrade(runtime, tenant, "/ws", '{"type": "ping"}') == (None, None)


def test_a_query_of_100_columns_is_answered_with_the_names_it_wrote(runtime: LocalRuntime) -> None:
    """Measuring a row summed one `+` per column: 98 to 100 columns passed SQLite's
    expression depth (100 on Cloudflare). A bare integer parameter named its column by the
    binding's rewrite, `(+CAST(? AS INTEGER))`."""
    with runtime.client() as c:
        sql = "SELECT " + ", ".join(f"{n} AS c{n}" for n in range(100))
        answer = c.post("/query", json={"sql": sql})
        assert answer.status_code == 200, answer.text
        assert answer.json()["rows"] == [{f"c{n}": n for n in range(100)}]
        answer = c.post("/query", json={"sql": "SELECT ?", "params": [1]})
        assert answer.json()["rows"] == [{"?": 1}], answer.text


def test_a_capnweb_batch_repeating_a_reference_is_refused_and_the_object_lives_on(
    runtime: LocalRuntime,
) -> None:
    """200 references to a 1 MB value in a 2.7 KB batch answered 200 MB; workerd ran out of
    memory and exited, every tenant's requests with it. Each push is now held to the batch
    answers' bound (16 MiB), and a second pull of one id is not answered again."""
    tenant = new_tenant()
    big = json.dumps(["push", "y" * 1_000_000])
    lines = [big, json.dumps(["push", [[["import", 1]] * 200]]), json.dumps(["pull", 2])]
    lines += [json.dumps(["pull", 1])] * 25
    with runtime.client(tenant) as c:
        response = c.post("/capnweb", content="\n".join(lines), timeout=60)
        assert response.status_code == 200 and len(response.content) < 1_100_000
        answers = [json.loads(line) for line in response.text.split("\n")]
        assert [answer[0] for answer in answers] == ["reject", "resolve"]
        assert "answer_too_large" in json.dumps(answers[0])
        assert c.put("/state/k", json="alive").status_code == 200
