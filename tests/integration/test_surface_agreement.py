"""One operation, one answer: every noun operation run through every surface.

The same sequence of operations (creates, queries, reads, writes, deletes, edges,
and bad input) runs on a fresh object once per surface: the Python API in the
object (`self.Ticket().list()`), the HTTP routes, `POST /rpc`, `/ws/rpc`,
`/rpc/pipeline`, the real npm `capnweb` client (`api.Ticket.list()`) and the
Python client (`client.Ticket.list()`). Every surface must give the Python API's
answer, value for value (timestamps aside), and the same error code and status.
The HTTP routes are compared through their documented REST rendering (absence
is a 404, arrays come in `{"items"}`), the table in docs/api.md.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from dotdo.client import Client, RpcError
from tests.integration.test_rpc_surfaces import call, prop, socket_to
from tests.runtime import ROOT, LocalRuntime, new_tenant

T = "Ticket"
PREFIX = "/_semantic"  # HarnessSemantic: its `noun_op` runs the Python API in the object


@dataclass(frozen=True)
class Error:
    code: str
    status: int | None = None


@dataclass(frozen=True)
class Case:
    label: str
    thing_id: str | None  # None: the noun accessor (`self.Ticket()`); else one thing
    op: str
    args: tuple[Any, ...]
    expect: Any  # the shape of the answer (see `shape`), or an Error


THING = "thing"
DELETED = "thing (deleted)"
CURSOR = "<cursor>"
PAGE = {"items": [THING] * 2, "total": None, "has_more": True, "cursor": CURSOR}
COUNTED = {**PAGE, "total": 3}
NO_EDGES = {"items": [], "total": 0, "has_more": False, "cursor": None}

CASES = [
    Case("create", None, "create", ({"$id": "t1", "title": "first", "n": 1},), THING),
    Case("create, id taken", None, "create", ({"$id": "t1"},), Error("thing_exists", 409)),
    Case("create_many", None, "create_many", ([{"$id": "t2", "n": 2}, {"$id": "t3", "n": 3}],), [THING] * 2),
    Case("upsert, new", None, "upsert", ({"$id": "t4", "n": 4},), THING),
    Case("upsert, existing", None, "upsert", ({"$id": "t4", "title": "four"},), THING),
    Case("list", None, "list", ({"n": {"$gte": 2}}, "n"), [THING] * 3),
    Case("list, limited", None, "list", (None, "-n", 2), [THING] * 2),
    Case("page", None, "page", ({"n": {"$gte": 2}}, "n", 2), PAGE),  # `total` only when asked
    Case("page, counted", None, "page", ({"n": {"$gte": 2}}, "n", 2, None, None, False, True), COUNTED),
    Case("count", None, "count", ({"n": {"$gte": 2}},), 3),
    Case("find_first", None, "find_first", ({"n": 3},), THING),
    Case("find_first, no match", None, "find_first", ({"n": 99},), None),
    Case("list, bad where", None, "list", ({"n": {"$bad": 1}},), Error("invalid_where", 400)),
    Case("count, bad where", None, "count", ({"n": {"$bad": 1}},), Error("invalid_where", 400)),
    Case("list, limit out of range", None, "list", (None, None, 5000), Error("invalid_limit", 400)),
    Case("list, limit not an integer", None, "list", (None, None, "2"), Error("invalid_params", 400)),
    Case("get", "t1", "get", (), THING),
    Case("get, missing", "nobody", "get", (), None),
    Case("get, bad id", "bad*id", "get", (), Error("invalid_id", 400)),
    Case("update", "t1", "update", ({"title": "changed"},), THING),
    Case("update, stale version", "t1", "update", ({"title": "x"}, 1), Error("version_conflict", 409)),
    Case("update, missing", "nobody", "update", ({"a": 1},), Error("thing_not_found", 404)),
    Case("replace", "t2", "replace", ({"n": 20},), THING),
    Case("replace, missing", "nobody", "replace", ({"n": 1},), Error("thing_not_found", 404)),
    Case("delete (soft by default)", "t3", "delete", (), DELETED),
    Case("get, soft-deleted", "t3", "get", (), None),
    Case("get, soft-deleted, include_deleted", "t3", "get", (True,), DELETED),
    Case("restore", "t3", "restore", (), THING),
    Case("soft_delete", "t3", "soft_delete", (), DELETED),
    Case("delete, hard", "t3", "delete", (True,), {"$id": "t3", "$type": T, "deleted": True}),
    Case("delete, hard, missing", "t3", "delete", (True,), Error("thing_not_found", 404)),
    Case("delete, missing", "nobody", "delete", (), Error("thing_not_found", 404)),
    Case("restore, missing", "nobody", "restore", (), Error("thing_not_found", 404)),
    Case("relate", "t1", "relate", ("blocks", f"{T}/t2"), True),
    Case("relate, again", "t1", "relate", ("blocks", f"{T}/t2"), False),
    Case("related", "t1", "related", ("blocks",), [{"$type": T, "$id": "t2"}]),
    Case("related, missing", "nobody", "related", ("blocks",), []),
    Case("related, bad id", "bad*id", "related", ("blocks",), Error("invalid_id", 400)),
    Case(
        "related_page",
        "t1",
        "related_page",
        ("blocks",),
        {"items": [{"$type": T, "$id": "t2"}], "total": 1, "has_more": False, "cursor": None},
    ),
    Case("related_page, missing", "nobody", "related_page", ("blocks",), NO_EDGES),
    Case("relate, a second", "t1", "relate", ("blocks", f"{T}/t4"), True),
    Case(
        "related_page, not counted",
        "t1",
        "related_page",
        ("blocks", "out", None, 1),
        {"items": [{"$type": T, "$id": "t2"}], "total": None, "has_more": True, "cursor": CURSOR},
    ),
    Case(
        "related_page, counted",
        "t1",
        "related_page",
        ("blocks", "out", None, 1, None, True),
        {"items": [{"$type": T, "$id": "t2"}], "total": 2, "has_more": True, "cursor": CURSOR},
    ),
    Case(
        "related_page, bad cursor",
        "t1",
        "related_page",
        ("blocks", "out", None, 10, "x"),
        Error("invalid_cursor", 400),
    ),
    Case("unrelate", "t1", "unrelate", ("blocks", f"{T}/t2"), True),
    Case("list, at the end", None, "list", (), [THING] * 3),
]

SKIP = object()
"""An operation a surface does not offer (no HTTP route for `upsert`), or an input it
cannot express (an HTTP query string has no integer type; Python does not check types)."""

Answer = Any  # ("value", normalized value) | ("error", code, status or None) | SKIP


def normalized(value: Any) -> Any:
    """Timestamps differ from run to run, and so do the cursors that name them; everything
    else must be equal."""
    if isinstance(value, dict):
        return {
            key: "<ms>"
            if key in ("$created_at", "$updated_at", "$deleted_at")
            else CURSOR
            if key == "cursor" and isinstance(item, str)
            else normalized(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [normalized(item) for item in value]
    return value


def shape(value: Any) -> Any:
    """A thing as THING or DELETED, containers element by element, anything else as it is."""
    if isinstance(value, dict) and "$version" in value:
        return DELETED if "$deleted_at" in value else THING
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(item) for item in value]
    return value


# -- the surfaces -------------------------------------------------------------------


def python_api(runtime: LocalRuntime, tenant: str) -> list[Answer]:
    answers: list[Answer] = []
    with runtime.client(tenant) as c:
        for case in CASES:
            if case.expect == Error("invalid_params", 400):
                answers.append(SKIP)  # in-object Python calls are not checked at a boundary
                continue
            params = [T, case.thing_id, case.op, list(case.args)]
            response = c.post(f"{PREFIX}/rpc", json={"method": "noun_op", "params": params})
            body = response.json().get("result") or {"error": response.json()["error"]["code"]}
            if "value" in body:
                answers.append(("value", normalized(body["value"])))
            else:
                answers.append(("error", body["error"], body.get("status", response.status_code)))
    return answers


def _query(args: tuple[Any, ...], names: tuple[str, ...]) -> dict[str, str]:
    params = {}
    for name, value in zip(names, args, strict=False):
        if value is None:
            continue
        if name == "where":
            params[name] = json.dumps(value)
        else:
            params[name] = "true" if value is True else str(value)
    return params


def _versioned(args: tuple[Any, ...]) -> Any:
    """The body with the expected version as `$version`: the REST rendering of an explicit
    expected version, a 409 `version_conflict` like the argument (an `If-Match` header
    is a precondition instead: 412, docs/api.md "Conditional requests")."""
    if len(args) > 1 and args[1] is not None and isinstance(args[0], dict):
        return {**args[0], "$version": args[1]}
    return args[0]


def http_request(c: httpx.Client, case: Case) -> tuple[httpx.Response, Callable[[Any], Any]] | None:
    """The REST rendering of an operation: the request, and how its body maps to the value."""
    path, args, same = f"{PREFIX}/{T}/{case.thing_id}", case.args, (lambda body: body)
    query = ("where", "order_by", "limit", "offset", "select", "include_deleted")
    if case.op == "create":
        return c.post(f"{PREFIX}/{T}", json=args[0]), same
    if case.op == "create_many":
        return c.post(f"{PREFIX}/{T}", json=args[0]), lambda body: body["items"]
    if case.op in ("list", "page"):
        params = _query(args, query)
        if case.op == "page" and len(args) > 6 and args[6]:  # `with_total=True`
            params["total"] = "exact"
        response = c.get(f"{PREFIX}/{T}", params=params)
        return response, (lambda body: body["items"]) if case.op == "list" else same
    if case.op == "count":
        response = c.get(
            f"{PREFIX}/{T}",
            params={**_query(args, ("where", "include_deleted")), "limit": "0", "total": "exact"},
        )
        return response, lambda body: body["total"]
    if case.op == "find_first":
        response = c.get(f"{PREFIX}/{T}", params={**_query(args, ("where", "order_by")), "limit": "1"})
        return response, lambda body: body["items"][0] if body["items"] else None
    if case.op == "get":
        return c.get(path, params=_query(args, ("include_deleted",))), same
    if case.op == "update":
        return c.patch(path, json=_versioned(args)), same
    if case.op == "replace":
        return c.put(path, json=_versioned(args)), same
    if case.op in ("delete", "soft_delete"):
        return c.delete(path, params={"hard": "true"} if args and args[0] else {}), same
    if case.op == "restore":
        return c.post(f"{path}/restore"), same
    if case.op == "relate":
        return c.post(f"{path}/{args[0]}", json={"to": args[1]}), lambda body: body["created"]
    if case.op == "related":  # the route answers the things themselves
        response = c.get(f"{path}/{args[0]}")
        return response, lambda body: [{"$type": t["$type"], "$id": t["$id"]} for t in body["items"]]
    if case.op == "related_page":
        names = ("direction", "type", "limit", "cursor", "total")
        given = [*args[1:6], "exact" if len(args) > 5 and args[5] else None]
        params = {name: value for name, value in zip(names, given, strict=False) if value is not None}
        response = c.get(f"{path}/{args[0]}", params=params)
        return response, lambda body: {
            **body,
            "items": [{"$type": t["$type"], "$id": t["$id"]} for t in body["items"]],
        }
    return None  # upsert, unrelate: no route


ABSENT = {"get": None, "related": [], "related_page": NO_EDGES}
"""What a read answers for a thing that is not there, where its route answers 404."""


def http_routes(runtime: LocalRuntime, tenant: str) -> list[Answer]:
    answers: list[Answer] = []
    with runtime.client(tenant) as c:
        for case in CASES:
            if case.expect == Error("invalid_params", 400):
                answers.append(SKIP)
                continue
            request = http_request(c, case)
            if request is None:  # no route: done over RPC, so that the next cases see the same things
                c.post(f"{PREFIX}/rpc", json=flat_call(case))
                answers.append(SKIP)
                continue
            response, value_of = request
            body = response.json()
            absent = response.status_code == 404 and body["error"]["code"] == "thing_not_found"
            if case.op in ABSENT and absent:
                answers.append(("value", ABSENT[case.op]))  # a read's absence, rendered as a 404
            elif response.is_success:
                answers.append(("value", normalized(value_of(body))))
            else:
                answers.append(("error", body["error"]["code"], response.status_code))
    return answers


FLAT = {
    "create": "create_thing",
    "create_many": "create_things",
    "upsert": "upsert_thing",
    "list": "list_things",
    "page": "page_things",
    "count": "count_things",
    "find_first": "find_first_thing",
    "get": "get_thing",
    "update": "update_thing",
    "replace": "replace_thing",
    "delete": "delete_thing",
    "soft_delete": "delete_thing",
    "restore": "restore_thing",
    "relate": "relate",
    "related": "related",
    "related_page": "related_page",
    "unrelate": "unrelate",
}
"""The object's own RPC method for each operation (`/rpc`, `/ws/rpc`, Workers RPC)."""


def flat_call(case: Case) -> dict[str, Any]:
    if case.op in ("relate", "related", "related_page", "unrelate"):
        params = [f"{T}/{case.thing_id}", *case.args]
    elif case.thing_id is None:
        params = [T, *case.args]
    else:
        params = [T, case.thing_id, *case.args]
    return {"method": FLAT[case.op], "params": params}


def rpc_endpoint(runtime: LocalRuntime, tenant: str) -> list[Answer]:
    answers: list[Answer] = []
    with runtime.client(tenant) as c:
        for case in CASES:
            response = c.post(f"{PREFIX}/rpc", json=flat_call(case))
            body = response.json()
            if response.is_success:
                answers.append(("value", normalized(body["result"])))
            else:
                answers.append(("error", body["error"]["code"], response.status_code))
    return answers


def websocket_rpc(runtime: LocalRuntime, tenant: str) -> list[Answer]:
    answers: list[Answer] = []
    with socket_to(runtime, tenant, f"{PREFIX}/ws/rpc") as ws:
        for number, case in enumerate(CASES):
            ws.send(json.dumps({"id": number, **flat_call(case)}))
            answer = json.loads(ws.recv(timeout=10))
            assert answer["id"] == number
            if "result" in answer:
                answers.append(("value", normalized(answer["result"])))
            else:
                answers.append(("error", answer["error"]["code"], None))
    return answers


def pipelines(runtime: LocalRuntime, tenant: str) -> list[Answer]:
    answers: list[Answer] = []
    with runtime.client(tenant) as c:
        for case in CASES:
            target = [T] if case.thing_id is None else [T, case.thing_id]
            response = pipe(c, target, [call(case.op, *case.args)])
            body = response.json()
            if response.is_success:
                answers.append(("value", normalized(body["result"])))
            else:
                answers.append(("error", body["error"]["code"], response.status_code))
    return answers


def pipe(c: httpx.Client, target: list[str], steps: list[dict[str, Any]]) -> httpx.Response:
    return c.post(f"{PREFIX}/rpc/pipeline", json={"pipeline": {"target": target, "pipeline": steps}})


def capnweb_steps(steps: list[list[Any]], url: str) -> list[dict[str, Any]]:
    """Each step `[noun or None, id or None, op, args]` through the npm client, one batch each."""
    script = Path(ROOT) / "tests" / "node" / "capnweb_nouns.mjs"
    done = subprocess.run(
        ["node", str(script), url],
        input=json.dumps({"steps": steps}),
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    answers: list[dict[str, Any]] = json.loads(done.stdout.strip().splitlines()[-1])
    return answers


def capnweb(runtime: LocalRuntime, tenant: str, prefix: str = PREFIX) -> list[Answer]:
    steps = [[T, case.thing_id, case.op, list(case.args)] for case in CASES]
    answers = capnweb_steps(steps, f"http://{tenant}.localhost:{runtime.port}{prefix}/capnweb")
    return [
        ("value", normalized(answer["value"])) if "value" in answer else ("error", answer.get("code"), None)
        for answer in answers
    ]


def python_client(runtime: LocalRuntime, tenant: str) -> list[Answer]:
    async def run() -> list[Answer]:
        answers: list[Answer] = []
        async with Client(f"http://{tenant}.localhost:{runtime.port}{PREFIX}") as client:
            for case in CASES:
                receiver = client.noun(T) if case.thing_id is None else client.noun(T)(case.thing_id)
                try:
                    value = await getattr(receiver, case.op)(*case.args)
                except RpcError as error:
                    answers.append(("error", error.code, error.status))
                except Exception as error:  # recorded as a disagreement with the others
                    answers.append(("error", f"raised {error!r}", None))
                else:
                    answers.append(("value", normalized(value)))
        return answers

    return asyncio.run(run())


SURFACES: dict[str, Callable[[LocalRuntime, str], list[Answer]]] = {
    "HTTP routes": http_routes,
    "POST /rpc": rpc_endpoint,
    "/ws/rpc": websocket_rpc,
    "/rpc/pipeline": pipelines,
    "Cap'n Web (npm capnweb)": capnweb,
    "dotdo.client": python_client,
}


def agrees(answer: Answer, reference: Answer) -> bool:
    """The same value, or the same error code (and status, where the surface has one)."""
    if answer[0] == "value" or reference[0] == "value":
        return bool(answer == reference)
    return bool(answer[1] == reference[1] and (answer[2] is None or answer[2] == reference[2]))


def test_every_operation_answers_the_same_on_every_surface(runtime: LocalRuntime) -> None:
    reference = python_api(runtime, new_tenant())
    disagreements = []
    for case, answer in zip(CASES, reference, strict=True):
        if answer is SKIP:
            continue
        if isinstance(case.expect, Error):
            expected: Answer = ("error", case.expect.code, case.expect.status)
        else:
            expected = ("value", case.expect)
        if (answer[0], shape(answer[1]), *answer[2:]) != expected:
            disagreements.append(f"Python API, {case.label}: {answer} where the table says {case.expect}")
    typed = next(n for n, case in enumerate(CASES) if case.expect == Error("invalid_params", 400))
    reference[typed] = ("error", "invalid_params", 400)  # what every remote surface must say

    for surface, run in SURFACES.items():
        answers = run(runtime, new_tenant())
        for case, answer, expected in zip(CASES, answers, reference, strict=True):
            if answer is not SKIP and not agrees(answer, expected):
                disagreements.append(f"{surface}, {case.label}: {answer} where Python says {expected}")
    assert not disagreements, "\n".join(disagreements)


def test_capnweb_reaches_nouns_on_the_app_class(runtime: LocalRuntime) -> None:
    """The application's own class (DOWorkflow, bound as DOTDO) the same way."""
    reference = python_api(runtime, new_tenant())
    answers = capnweb(runtime, new_tenant(), prefix="")
    for case, answer, expected in zip(CASES, answers, reference, strict=True):
        if expected is not SKIP:
            assert agrees(answer, expected), (case.label, answer, expected)


def test_the_same_names_are_reached_or_refused_alike(runtime: LocalRuntime) -> None:
    """Beyond nouns: what the object offers and what it refuses, with the same codes."""
    tenant = new_tenant()
    # [receiver noun or None (the object), id, name, args] -> the answer every surface gives
    probes: list[tuple[list[Any], Any]] = [
        ([None, None, "count_things", [T]], 0),
        ([None, None, "countThings", [T]], 0),  # camelCase finds the snake_case method
        ([T, None, "nope", []], Error("method_not_found")),
        ([T, None, "_remote_call", []], Error("method_not_found")),
        ([T, "t1", "traverse", [[]]], Error("method_not_found")),  # Python-only (takes Hop objects)
        (["ticket", None, "list", []], Error("property_not_found")),  # not a type name: no noun
        ([None, None, "noun", [T]], Error("method_not_found")),  # a framework method, not @rpc
        ([None, None, "__init__", []], Error("method_not_found")),
    ]
    url = f"http://{tenant}.localhost:{runtime.port}{PREFIX}/capnweb"
    from_capnweb = capnweb_steps([probe for probe, _ in probes], url)
    with runtime.client(tenant) as c:
        for (noun, thing_id, name, args), expected in probes:
            target = [] if noun is None else [noun] if thing_id is None else [noun, thing_id]
            piped = pipe(c, target, [call(name, *args)])
            answers = {"pipeline": piped.json(), "capnweb": from_capnweb.pop(0)}
            if noun is None:  # the object's own names: the flat surfaces too
                answers["rpc"] = c.post(f"{PREFIX}/rpc", json={"method": name, "params": args}).json()
                with socket_to(runtime, tenant, f"{PREFIX}/ws/rpc") as ws:
                    ws.send(json.dumps({"id": 1, "method": name, "params": args}))
                    answers["ws"] = json.loads(ws.recv(timeout=10))
            for surface, answer in answers.items():
                got = answer.get("result", answer.get("value"))
                if isinstance(expected, Error):
                    error = answer.get("error")
                    code = error.get("code") if isinstance(error, dict) else answer.get("code")
                    assert code == expected.code, (surface, name, answer)
                else:
                    assert got == expected, (surface, name, answer)
        # A noun is a property of the object on a pipeline too, not only as its target.
        assert pipe(c, [], [prop(T), call("count")]).json() == {"result": 0}
        # A thing is a noun called with its id; a surface that cannot hold it says so.
        assert pipe(c, [], [call(T, "t1"), call("get")]).json() == {"result": None}
        bare = c.post(f"{PREFIX}/rpc", json={"method": T, "params": ["t1"]})
        assert (bare.status_code, bare.json()["error"]["code"]) == (400, "unserializable_result")
        for steps in ([call(T, "bad*id"), call("get")], [call(T, 7)]):
            refused = pipe(c, [], steps)
            assert refused.status_code == 400, refused.json()
        assert pipe(c, [T, "bad*id"], [call("get")]).json()["error"]["code"] == "invalid_id"
