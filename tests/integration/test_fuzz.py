"""Random requests and socket messages against every surface: whatever a client sends,
the answer is never a 5xx or an internal error, and every error carries a stable code.
The generators are seeded, so a failure names an input that can be replayed."""

from __future__ import annotations

import contextlib
import json
import random
from typing import Any

import httpx

from tests.integration.test_rpc_surfaces import socket_to
from tests.runtime import LocalRuntime, new_tenant

PATHS = [
    "/", "/health", "/state", "/state/k", "/state/%ff", "/state/" + "x" * 600, "/rpc", "/rpc/pipeline",
    "/Customer", "/Customer/abc", "/Customer/abc/restore", "/Customer/abc/owns", "/customer", "/Customer/",
    "/query", "/nouns", "/verbs", "/actions", "/events", "/events/dead", "/schedules", "/schedules/x",
    "/capnweb", "/ws", "/ws/rpc", "/workflows/x", "/Customer/a/b/c/d", "/%00", "/..%2f",
    "/Order?where=%7B", "/Customer?order_by=-a&limit=abc", "/Customer?select=a.b",
    "/Customer?include_deleted=maybe", "/Customer?where=%7B%22a%22%3A%7B%22%24regex%22%3A%22(%22%7D%7D",
    "/events?since=abc", "/events?cursor=zz", "/events?limit=-4", "/state?prefix=%ff&limit=x",
]  # fmt: skip
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"]
KEYS = [
    "$id", "$type", "$version", "name", "$gt", "$regex", "$in", "where", "method", "params", "id", "type",
    "pipeline", "target", "data", "delay", "input", "value", "sql", "$date", "$escape", "subject", "verb",
]  # fmt: skip
ATOMS: list[Any] = [None, True, 1, -1, 1e308, "x", "", "$date", 2**70, [], {}, "'; DROP TABLE things;--"]
RAW_BODIES = [b"{", b"[1,", b"\xff\xfe\x00garbage", b"null", b"", b"1e999", b"NaN"]


def junk(rng: random.Random, depth: int = 0) -> Any:
    roll = rng.random()
    if depth > 3 or roll < 0.3:
        return rng.choice(ATOMS)
    if roll < 0.6:
        return [junk(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    return {rng.choice(KEYS): junk(rng, depth + 1) for _ in range(rng.randint(0, 4))}


def random_request(rng: random.Random, tenant: str) -> tuple[str, str, dict[str, str], bytes | None]:
    method, path = rng.choice(METHODS), rng.choice(PATHS)
    hosts = [f"{tenant}.localhost"] * 8 + ["bad_tenant.localhost", "-x-.localhost"]
    headers = {"host": rng.choice(hosts)}
    if rng.random() < 0.2:
        headers["if-match"] = rng.choice(["1", "x", '"2"', "-1", "99999999999999999999"])
    if rng.random() < 0.1:
        headers["content-type"] = rng.choice(["text/plain", "application/json", "multipart/form-data"])
    roll = rng.random()
    body: bytes | None = None
    if roll < 0.5:
        body = json.dumps(junk(rng)).encode()
    elif roll < 0.6:
        body = rng.choice(RAW_BODIES)
    return method, path, headers, body


def test_random_requests_get_clear_answers(runtime: LocalRuntime) -> None:
    rng = random.Random(20261124)
    tenant = new_tenant()
    with httpx.Client(base_url=runtime.base_url, timeout=30) as client:
        for number in range(400):
            method, path, headers, body = random_request(rng, tenant)
            response = client.request(method, path, headers=headers, content=body)
            described = (
                f"#{number} {method} {path} {headers} {body!r}: {response.status_code} {response.text[:200]}"
            )
            assert response.status_code < 500, described
            if response.status_code >= 400 and method != "HEAD":
                assert isinstance(response.json()["error"]["code"], str), described


RPC_METHODS = ["get", "set", "subscribe", "unsubscribe", "list_things", "create_thing", "query", "__init__"]


def test_random_socket_rpc_messages_get_clear_errors(runtime: LocalRuntime) -> None:
    rng = random.Random(11)
    with socket_to(runtime, new_tenant(), "/ws/rpc") as ws:
        for number in range(90):  # under the socket's 100 messages per 10 s
            call = {"id": number, "method": rng.choice(RPC_METHODS), "params": junk(rng)}
            message = rng.choice([json.dumps(junk(rng)), json.dumps(call), "x", ""])
            ws.send(message)
            answer = json.loads(ws.recv(timeout=10))
            code = answer.get("error", {}).get("code")
            assert code != "internal_error" and ("result" in answer or isinstance(code, str)), (
                message,
                answer,
            )


def test_random_capnweb_messages_abort_or_reject_never_fail_inside(runtime: LocalRuntime) -> None:
    rng = random.Random(12)
    tenant = new_tenant()
    for _ in range(15):
        with socket_to(runtime, tenant, "/capnweb") as ws:
            for _ in range(4):
                method = rng.choice(["get", "list_things", "set", "nope"])
                arguments = junk(rng) if rng.random() < 0.5 else [junk(rng)]
                ws.send(
                    json.dumps(
                        rng.choice(
                            [
                                ["push", ["pipeline", 0, [method], arguments]],
                                ["pull", rng.randint(0, 5)],
                                ["push", junk(rng)],
                                junk(rng),
                            ]
                        )
                    )
                )
            answers = []
            with contextlib.suppress(TimeoutError):
                while not answers or answers[-1][0] != "abort":
                    answers.append(json.loads(ws.recv(timeout=1)))
            for answer in answers:
                assert answer[0] in ("resolve", "reject", "abort"), answer
                if answer[0] == "reject":
                    assert answer[2][4]["code"] != "internal_error", answer


TYPED_ARGUMENTS: list[Any] = [
    None, "Customer", "customer", "Customer.created", "*.created", "01abc", "x", 1, -1, 10**6, 1e308, True,
    [], {}, {"a": 1}, {"$gt": 1},
]  # fmt: skip


def test_random_arguments_to_every_rpc_method_are_never_a_500(runtime: LocalRuntime) -> None:
    rng = random.Random(13)
    tenant = new_tenant()
    with runtime.client(tenant) as c:
        methods = c.get("/health").json()["rpc"]
        for number in range(600):
            method = rng.choice(methods)
            params: Any = [
                rng.choice(TYPED_ARGUMENTS) if rng.random() < 0.6 else junk(rng)
                for _ in range(rng.randint(0, 4))
            ]
            if rng.random() < 0.2:
                names = [
                    "type_name",
                    "where",
                    "limit",
                    "data",
                    "key",
                    "value",
                    "thing_id",
                    "order_by",
                    "input",
                ]
                params = {rng.choice(names): rng.choice(TYPED_ARGUMENTS) for _ in range(rng.randint(1, 3))}
            response = c.post("/rpc", json={"method": method, "params": params})
            assert response.status_code < 500, f"#{number} {method}({params!r}): {response.text[:300]}"


EVENT_TYPES: list[Any] = [
    "Customer.created",
    "Order.paid",
    "x",
    "Customer.",
    "Customer.*",
    "c.created",
    1,
    None,
]
WHEN: list[Any] = [*TYPED_ARGUMENTS, 0, 0.5, -5, 1e308, 86400 * 400, "2026-12-01T00:00:00Z", "tomorrow"]


def test_random_sends_and_workflow_runs_get_clear_answers(runtime: LocalRuntime) -> None:
    rng = random.Random(14)
    with runtime.client() as c:
        for number in range(300):
            roll = rng.random()
            if roll < 0.6:
                body: Any = {"type": rng.choice(EVENT_TYPES), "data": junk(rng)}
                for key in ("subject", "object", "delay", "at"):
                    if rng.random() < 0.3:
                        body[key] = rng.choice(WHEN)
                response = c.post("/events", json=body)
            else:
                body = rng.choice(
                    [{"input": junk(rng)}, {"input": 1, "id": rng.choice(TYPED_ARGUMENTS)}, junk(rng)]
                )
                response = c.post(f"/workflows/{rng.choice(['checkout', 'nope', 'a b'])}", json=body)
            described = f"#{number} {response.request.method} {response.request.url.path} {body!r}"
            assert response.status_code < 500, f"{described}: {response.text[:300]}"
            if response.status_code >= 400:
                assert isinstance(response.json()["error"]["code"], str), described
        timers = c.get("/schedules").status_code  # the object still answers after all of it
        assert timers == 200
