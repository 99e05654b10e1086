"""What a hostile or unlucky client sends, through the local runtime: every answer is a
JSON error with a stable code and a 4xx (never a 500, a hang or a lost socket), and
nothing the request did not mean to write is written."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.integration.test_rpc_surfaces import socket_to
from tests.runtime import LocalRuntime, new_tenant

# Methods the runtime's HTTP parser accepts but the `workers` SDK's HTTPMethod enum does not list.
UNLISTED_METHODS = ["PROPFIND", "MKCOL", "PURGE", "LOCK", "REPORT", "SEARCH", "QUERY"]


def tomorrow() -> int:
    """Epoch milliseconds a day from now: past every delay the tests send."""
    return int(time.time() * 1000) + 86_400_000


def raw_exchange(runtime: LocalRuntime, request: bytes, timeout: float = 10) -> bytes:
    """Send `request` as it is (no client fixes it up) and read until the server closes."""
    with socket.create_connection(("127.0.0.1", runtime.port), timeout=timeout) as sock:
        sock.sendall(request)
        received = b""
        try:
            while chunk := sock.recv(65536):
                received += chunk
        except TimeoutError:
            pass
    return received


@pytest.mark.parametrize("method", UNLISTED_METHODS)
def test_a_method_the_sdk_does_not_list_is_routed_like_any_other(runtime: LocalRuntime, method: str) -> None:
    with runtime.client() as c:
        known = c.request(method, "/state/x")
        assert known.status_code == 405, known.text
        assert known.json()["error"]["code"] == "method_not_allowed"
        assert known.headers["allow"] == "DELETE, GET, HEAD, PUT"
        unknown = c.request(method, "/nope")
        assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "route_not_found")


def test_a_body_the_runtime_cannot_deliver_is_not_a_failure_of_the_object(runtime: LocalRuntime) -> None:
    tenant = new_tenant()
    host = f"Host: {tenant}.localhost\r\n".encode()
    broken_chunk = (
        b"PUT /state/k HTTP/1.1\r\n" + host + b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\nzz\r\n"
    )
    raw_exchange(runtime, broken_chunk)  # the runtime's parser gives up on it; the object must not
    with runtime.client(tenant) as c:
        assert c.get("/state/k").status_code == 404  # nothing was written
        assert c.put("/state/k", json=1).status_code == 200


def test_a_chunked_body_past_the_limit_is_refused(runtime: LocalRuntime) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(40):  # 40 x 64 KiB: past the 1 MiB limit, with no Content-Length
            yield b"7" * 65536

    with runtime.client() as c:
        response = c.put("/state/big", content=chunks())
        assert (response.status_code, response.json()["error"]["code"]) == (413, "payload_too_large")
        assert c.get("/state/big").status_code == 404
        small = c.put("/state/small", content=iter([b'{"a":', b" 1}"]))
        assert small.json() == {"key": "small", "value": {"a": 1}}


@pytest.mark.parametrize(
    "where",
    [{"$not": {}}, {"$and": [{}]}, {"$or": [{"a": 1}, {}]}, {"a": 1, "$not": {"$and": [{}]}}],
)
def test_an_empty_clause_inside_a_logical_operator_is_a_400(runtime: LocalRuntime, where: object) -> None:
    with runtime.client() as c:
        c.post("/Customer", json={"a": 1})
        response = c.get("/Customer", params={"where": json.dumps(where)})
        assert (response.status_code, response.json()["error"]["code"]) == (400, "invalid_where")
        counted = c.post("/rpc", json={"method": "count_things", "params": ["Customer", where]})
        assert (counted.status_code, counted.json()["error"]["code"]) == (400, "invalid_where")


def test_the_connection_stays_usable_after_refusals(runtime: LocalRuntime) -> None:
    with httpx.Client(base_url=runtime.base_url, headers={"host": f"{new_tenant()}.localhost"}) as c:
        assert c.request("PROPFIND", "/state/x").status_code == 405
        assert c.get("/health").status_code == 200


def test_a_capnweb_release_after_a_pull_is_no_server_failure(runtime: LocalRuntime) -> None:
    lines = [
        ["push", ["pipeline", 0, ["set"], ["k", 1]]],
        ["pull", 1],
        ["release", 1, 1],  # the times the id was introduced: once (a count above aborts)
        ["push", ["pipeline", 0, ["get"], ["k"]]],
        ["pull", 2],
    ]
    with runtime.client() as c:
        response = c.post("/capnweb", content="\n".join(json.dumps(line) for line in lines))
        assert response.status_code == 200, response.text
        assert [json.loads(line) for line in response.text.split("\n")] == [
            ["resolve", 1, None],
            ["resolve", 2, 1],
        ]


LONE = '"\\ud800"'  # JSON text for a string holding an unpaired surrogate (valid JSON, not Unicode)


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("PUT", "/state/k", "{" + LONE + ": 1}"),
        ("PUT", "/state/k", "[" + LONE + "]"),
        ("POST", "/state/transaction", '{"operations": [{"op": "set", "key": "k", "value": ' + LONE + "}]}"),
        ("POST", "/Customer", '{"name": ' + LONE + "}"),
        ("POST", "/events", '{"type": "Invoice.due", "data": {"note": ' + LONE + "}}"),
        ("POST", "/events", '{"type": "Invoice.due", "delay": 60, "data": [' + LONE + "]}"),
        ("POST", "/query", '{"sql": "SELECT ? AS x", "params": [' + LONE + "]}"),
        ("POST", "/rpc", '{"method": "set", "params": ["k", ' + LONE + "]}"),
        ("POST", "/rpc/pipeline",
         '{"pipeline": {"target": [], "pipeline": [{"type": "method", "name": "set", "args": ["k", '
         + LONE + "]}]}}"),
    ],
)  # fmt: skip
def test_an_unpaired_surrogate_in_a_body_is_a_400_and_writes_nothing(
    runtime: LocalRuntime, method: str, path: str, body: str
) -> None:
    with runtime.client() as c:  # the harness's DOWorkflow, which can travel in time
        response = c.request(method, "/_workflow" + path, content=body)
        refusal = (response.status_code, response.json()["error"]["code"])
        assert refusal == (400, "invalid_json"), response.text
        assert "unpaired surrogate U+D800" in response.json()["error"]["message"]
        assert c.get("/_workflow/state/k").status_code == 404
        assert c.get("/_workflow/Customer").json()["total"] == 0
        assert c.post("/_workflow/_test/alarm", json={"now": tomorrow()}).json()["sends"] == 0  # none delayed
        assert c.get("/_workflow/events").json()["items"] == []


def test_an_unpaired_surrogate_on_the_sockets_and_in_a_where_is_refused(runtime: LocalRuntime) -> None:
    tenant = new_tenant()
    with runtime.client(tenant) as c:
        where = c.get("/Customer", params={"where": '{"name": ' + LONE + "}"})
        assert (where.status_code, where.json()["error"]["code"]) == (400, "invalid_where")
        batch = c.post(
            "/capnweb", content='["push", ["pipeline", 0, ["set"], ["k", ' + LONE + ']]]\n["pull", 1]'
        )
        assert batch.status_code == 200 and json.loads(batch.text)[0] == "abort", batch.text
        assert c.get("/state/k").status_code == 404
    with socket_to(runtime, tenant, "/ws/rpc") as ws:
        ws.send('{"id": ' + LONE + ', "method": "get", "params": ["k"]}')  # an id the answer echoes
        refused = json.loads(ws.recv(timeout=10))
        assert refused["error"]["code"] == "invalid_json" and refused["id"] is None
        ws.send('{"id": 2, "method": "get", "params": ["k"]}')  # the socket is still open
        assert json.loads(ws.recv(timeout=10)) == {"id": 2, "result": None}


@pytest.mark.parametrize(
    ("method", "params"),
    [
        ("set", ["k", "v\ud800"]),
        ("set", ["k", {"n\udfff": 1}]),
        ("send_event", ["Customer.noted", {"v": "\ud800"}]),
        ("send_event", ["Customer.noted", {"v": "\ud800"}, None, None, 30]),
        ("record_action", ["Customer/c-1", "ship", "Order/o-1", {"v": "\ud800"}]),
        ("relate", ["Customer/c-1", "owns", "Order/o-1", {"v": "\ud800"}]),
    ],
)
def test_an_unpaired_surrogate_from_a_workers_rpc_caller_is_refused_and_writes_nothing(
    runtime: LocalRuntime, method: str, params: list[object]
) -> None:
    """A JavaScript caller's string can hold a lone surrogate, which no JSON body can: every
    stored value refuses it as a BadRequest saying so (it was a UnicodeEncodeError from
    SQLite's binding), before anything is written."""
    tenant = new_tenant()
    with runtime.client(tenant) as c:
        assert c.post("/Customer", json={"$id": "c-1"}).status_code == 201
        call = {"binding": "DOTDO", "name": tenant, "method": method, "params": params}
        # json.dumps escapes the surrogate; the harness worker parses it back into a string
        answer = httpx.post(f"{runtime.base_url}/_harness/rpc", content=json.dumps(call), timeout=30)
        refused = answer.json()["error"]["message"]
        assert "BadRequest" in refused and "unpaired surrogate U+D" in refused, refused
        assert c.get("/state/k").status_code == 404
        assert [e["type"] for e in c.get("/events").json()["items"]] == ["Customer.created"]
        assert c.get("/actions").json()["items"] == []
        assert c.get("/Customer/c-1/owns").json()["items"] == []


def test_a_regex_that_backtracks_forever_answers_at_once(runtime: LocalRuntime) -> None:
    # A backtracking matcher takes 2**30 steps per row on these: the object (and, locally,
    # every object of the runtime) would hang for hours. The answers are re.search's.
    with runtime.client() as c:
        c.post("/Customer", json=[{"name": "a" * 30 + "!"}, {"name": "a" * 30}, {"name": "Ada Lovelace"}])
        for pattern, options, found in [
            ("^(a+)+$", "", 1),
            ("(a|aa)*b", "", 0),
            ("^(a|a?)+$", "", 1),
            ("^ada\\b", "i", 1),
            ("LOVE", "i", 1),
        ]:
            where = {"name": {"$regex": pattern, "$options": options}}
            listed = c.get("/Customer", params={"where": json.dumps(where)}, timeout=60)
            assert listed.status_code == 200, listed.text
            assert listed.json()["total"] == found, (pattern, listed.json())
        for pattern, named in [("(a)\\1", "backreferences"), ("(?<=a)b", "lookahead and lookbehind")]:
            refused = c.get("/Customer", params={"where": json.dumps({"name": {"$regex": pattern}})})
            assert (refused.status_code, refused.json()["error"]["code"]) == (400, "invalid_where")
            assert named in refused.json()["error"]["message"]


WRONG_TYPES: list[object] = [1, 1.5, True, ["a"], {"a": 1}]
BODY_FIELDS = [
    ("/events", {"type": "Invoice.due"}, "subject"),
    ("/events", {"type": "Invoice.due"}, "object"),
    ("/events", {"type": "Invoice.due"}, "type"),
    ("/workflows/checkout", {"input": {"id": "o-1"}}, "id"),
    ("/nouns", {"name": "Widget"}, "plural"),
    ("/nouns", {"name": "Widget"}, "name"),
    ("/verbs", {"base": "zap"}, "past"),
    ("/actions", {"subject": "Customer/a", "verb": "ship"}, "verb"),
    ("/query", {"sql": "SELECT 1 AS x"}, "sql"),
]


@pytest.mark.parametrize(("path", "body", "field"), BODY_FIELDS)
def test_a_body_field_of_the_wrong_type_is_refused_as_rpc_refuses_it(
    runtime: LocalRuntime, path: str, body: dict[str, object], field: str
) -> None:
    # These fields were passed on unchecked: a subject {"$type": ...} was stored as
    # "[object Object]", a run id true as "1", a noun's plural 1 was a 500.
    with runtime.client() as c:
        for wrong in WRONG_TYPES:
            response = c.post("/_workflow" + path, json={**body, field: wrong})
            refusal = (response.status_code, response.json()["error"]["code"])
            assert refusal == (400, "invalid_params"), (wrong, response.text)
        assert c.get("/_workflow/events").json()["items"] == []  # nothing was sent or recorded
        assert [noun["name"] for noun in c.get("/_workflow/nouns").json()["items"]] == []
        assert c.get("/_workflow/workflows/1").status_code == 404


def test_a_query_answer_is_bounded_in_bytes_as_well_as_rows(runtime: LocalRuntime) -> None:
    # A thousand rows of big values (SELECT data FROM things over large things) would not fit
    # in a Durable Object's memory: SQLite measures them, and the rows past 4 MiB stay there.
    sql = "SELECT value AS n, ? AS s FROM json_each(?)"
    with runtime.client() as c:
        answer = c.post("/query", json={"sql": sql, "params": ["x" * 100000, json.dumps(list(range(80)))]})
        assert answer.status_code == 200, answer.text[:300]
        rows = answer.json()["rows"]
        assert answer.json()["truncated"] is True
        size = 1 + len(rows[0]["s"])  # each row: its digit and its string, as SQLite counts them
        assert len(rows) == 4 * 1024 * 1024 // size and [row["n"] for row in rows] == list(range(len(rows)))
        small = c.post("/query", json={"sql": sql, "params": ["x" * 10, "[1, 2]"]}).json()
        assert small == {"rows": [{"n": 1, "s": "x" * 10}, {"n": 2, "s": "x" * 10}], "truncated": False}


@pytest.mark.parametrize("since", ["9" * 30, "-" + "9" * 30, "9223372036854775808", "1e3", "٣"])
def test_a_since_past_64_bits_is_invalid_since(runtime: LocalRuntime, since: str) -> None:
    with runtime.client() as c:
        answer = c.get("/events", params={"since": since})
        assert (answer.status_code, answer.json()["error"]["code"]) == (400, "invalid_since"), answer.text
        empty = {"items": [], "has_more": False, "cursor": None}
        assert c.get("/events", params={"since": str(2**63 - 1)}).json() == empty
