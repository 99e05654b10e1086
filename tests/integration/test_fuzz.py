"""Random requests and socket messages against every surface: whatever a client sends,
the answer is never a 5xx or an internal error, and every error carries a stable code.
The generators are seeded, so a failure names an input that can be replayed."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import random
from typing import Any
from urllib.parse import quote

import httpx
from websockets.exceptions import ConnectionClosed, InvalidStatus

from dotdo import Forbidden, TokenError
from dotdo.wire.tokens import _canonical, _decode, _encode, attenuate, mint, verify
from tests.conftest import OPERATOR_TOKEN, PRODUCTION_SECRET
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
            messages = []
            for _ in range(4):  # drawn before any is sent: the run's inputs never hang on its timing
                method = rng.choice(["get", "list_things", "set", "nope"])
                arguments = junk(rng) if rng.random() < 0.5 else [junk(rng)]
                messages.append(
                    rng.choice(
                        [
                            ["push", ["pipeline", 0, [method], arguments]],
                            ["pull", rng.randint(0, 5)],
                            ["push", junk(rng)],
                            junk(rng),
                        ]
                    )
                )
            for message in messages:
                try:
                    ws.send(json.dumps(message))
                except ConnectionClosed:
                    # An earlier message was aborted and the socket closed (1002) before this
                    # one was sent: a slow client's race, which the answers below still show.
                    break
            answers = []
            # The abort is read before the close it precedes.
            with contextlib.suppress(TimeoutError, ConnectionClosed):
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
            if response.status_code == 503 and response.json()["error"]["code"] == "ai_unavailable":
                continue  # a valid prompt and no generative model offline: the provider's state
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


def fuzz_token(rng: random.Random, tenant: str) -> str | None:
    """A credential as anyone might send one: minted, narrowed, widened, chained with junk
    caveats (no secret is needed to chain one), mutated, forged, or no token at all."""
    roll = rng.random()
    targets = [tenant, tenant, "*", "someone-else", ""]
    if roll < 0.5:
        token = mint(
            PRODUCTION_SECRET,
            target=rng.choice(targets[:3]) if rng.random() < 0.85 else "someone-else",
            scope=rng.choice(["read", "write", "admin", "admin"]),
            methods=rng.choice([None, None, None, ["get"], ["get", "set"], ["register_noun", "set"], []]),
            ttl_seconds=rng.choice([None, 3600, 3600, 3600, -3600]),
            sub=rng.choice([None, "ada", f"s{rng.randint(0, 10**9)}"]),
        )
        for _ in range(rng.choice([0, 0, 0, 1, 2])):  # each argument usually left as it is
            try:
                token = attenuate(
                    token,
                    target=rng.choice([None, None, None, *targets[:4]]),
                    scope=rng.choice([None, None, "read", "write", "admin"]),
                    methods=rng.choice([None, None, None, ["get"], ["set"], ["get", "register_noun"]]),
                    ttl_seconds=rng.choice([None, None, 60, 10**6, -60]),
                    sub=rng.choice([None, None, None, "ada", "mallory"]),
                )
            except Forbidden as widened:  # another subject is refused when made (a chain by
                assert widened.code == "token_widened"  # hand naming one, below, when read)
        return token
    base = mint(PRODUCTION_SECRET, target=tenant, scope="admin", sub=f"s{rng.randint(0, 10**9)}")
    if roll < 0.6:
        caveats, signature = _decode(base)
        caveat = {rng.choice(["target", "scope", "methods", "exp", "sub", "other"]): junk(rng)}
        if rng.random() < 0.5:
            caveat.update(rng.choice([{"scope": "read"}, {"target": tenant}, {"methods": ["get", 1]}]))
        return _encode([*caveats, caveat], hmac.new(signature, _canonical(caveat), hashlib.sha256).digest())
    if roll < 0.75:
        prefix, body, signature = base.split(".")
        position = rng.randrange(len(body))
        mutated = rng.choice(
            [
                f"{prefix}.{body[:position]}{rng.choice('AZaz09-_')}{body[position + 1 :]}.{signature}",
                f"{prefix}.{body}.{signature[:-1]}{'A' if signature[-1] != 'A' else 'B'}",
                f"{prefix}.{body}",
                f"dotdo2.{body}.{signature}",
                f"{base}.{signature}",
                base[: rng.randrange(len(base))],
                f" {base} ",
                base.upper(),
            ]
        )
        return mutated
    if roll < 0.8:
        return rng.choice(
            [
                OPERATOR_TOKEN,
                OPERATOR_TOKEN + "x",
                OPERATOR_TOKEN[:-1],
                f" {OPERATOR_TOKEN}",
                OPERATOR_TOKEN.upper(),
            ]
        )
    if roll < 0.91:
        return mint("not-the-secret-of-this-deployment-0123456789", target=tenant, scope="admin")
    return rng.choice(
        [
            None,
            "",
            " ",
            "null",
            "Bearer",
            "dotdo1..",
            "dotdo1.e30.",
            "x" * 9000,
            "dotdo1." + "A" * 8200,
            "ĉapability",
            "dotdo1.\u00e9.x",
        ]
    )


ACCESS_RANK = {"read": 0, "write": 1, "admin": 2}


def model(token: str | None, tenant: str, needs: str, method: str | None) -> str | None:
    """What the access layer must answer, worked out here with the secret (None: let through).
    `needs` "rpc" is a route that lets any credential for the tenant in; `method` an RPC call."""
    if not token:
        return "token_required"
    if token == OPERATOR_TOKEN:
        return None
    try:
        capability = verify(token, PRODUCTION_SECRET)
    except (TokenError, Forbidden) as refused:
        return refused.code
    if capability.target not in ("*", tenant):
        return "token_wrong_target"
    if needs == "rpc":
        return None
    if method is not None:
        try:
            capability.check(tenant, method, needs)
        except Forbidden as refused:
            return refused.code
        return None
    if capability.methods is not None:
        return "token_method"
    return None if ACCESS_RANK[capability.scope] >= ACCESS_RANK[needs] else "token_scope"


FUZZ_CALLS = [("get", ["k"], "read"), ("set", ["k", 1], "write"), ("register_noun", ["Widget"], "admin")]
FUZZ_ROUTES = [
    ("GET", "/state", None, "read"),
    ("PUT", "/state/k", 1, "write"),
    ("POST", "/nouns", {"name": "W"}, "admin"),
]


def answered(status: int, body: Any) -> str | None:
    """The access code of an answer (None: let through); never a 5xx but the 503 of access."""
    code = body.get("error", {}).get("code") if isinstance(body, dict) else None
    assert status < 500, (status, body)
    return code if status in (401, 403) and isinstance(code, str) and code.startswith("token_") else None


def test_random_tokens_and_caveats_on_every_surface(production_runtime: LocalRuntime) -> None:
    rng = random.Random(20261213)
    tenant = new_tenant()
    failures: list[str] = []
    with production_runtime.client(tenant) as c:
        for number in range(200):
            token = fuzz_token(rng, tenant)
            # a header value is printable ASCII without white space at either end (RFC 9110 §5.5)
            printable = bool(token) and token.isascii() and token.isprintable() and token == token.strip()
            surfaces = ["capnweb", "wsrpc"] + (["rest", "rpc", "pipeline"] * 2 if printable else [])
            surface = rng.choice(surfaces)
            if surface in ("rest", "rpc", "pipeline"):
                assert token is not None
                header = rng.choice(["authorization", "x-capability"])
                headers = {header: f"Bearer {token}" if header == "authorization" else token}
                sent: str | None = token
            else:
                headers, sent = {}, token or None  # ?token=, as sent
            method, params, needs = rng.choice(FUZZ_CALLS)
            if surface == "rest":
                verb, path, body, needs = rng.choice(FUZZ_ROUTES)
                response = c.request(verb, path, json=body, headers=headers)
                got, want = answered(response.status_code, response.json()), model(sent, tenant, needs, None)
            elif surface in ("rpc", "pipeline"):
                call = (
                    {"method": method, "params": params}
                    if surface == "rpc"
                    else {
                        "pipeline": {
                            "target": [],
                            "pipeline": [{"type": "method", "name": method, "args": params}],
                        }
                    }
                )
                response = c.post(
                    f"/{surface.replace('pipeline', 'rpc/pipeline')}", json=call, headers=headers
                )
                got, want = (
                    answered(response.status_code, response.json()),
                    model(sent, tenant, needs, method),
                )
            elif surface == "capnweb":
                lines = [json.dumps(["push", ["pipeline", 0, [method], params]]), json.dumps(["pull", 1])]
                response = c.post(
                    "/capnweb", content="\n".join(lines), params={"token": token} if token else None
                )
                want = model(sent, tenant, needs, method)
                if response.status_code != 200:
                    got = answered(response.status_code, response.json())
                else:
                    line = json.loads(response.text)
                    code = None if line[0] == "resolve" else line[2][4]["code"]
                    got = code if isinstance(code, str) and code.startswith("token_") else None
            else:
                query = f"?token={quote(token, safe='')}" if token else ""
                want = model(sent, tenant, needs, method)
                try:
                    ws = socket_to(production_runtime, tenant, f"/ws/rpc{query}")
                except InvalidStatus as refused:
                    got = answered(refused.response.status_code, json.loads(refused.response.body or b"null"))
                    want = model(sent, tenant, "rpc", None)
                else:
                    with ws:
                        ws.send(json.dumps({"id": 1, "method": method, "params": params}))
                        answer = json.loads(ws.recv(timeout=10))
                    got = answered(403 if "error" in answer else 200, answer)
            if got != want:
                failures.append(f"#{number} {surface} {method} {token!r:.80}: {got} (want {want})")
    assert not failures, "\n".join(failures)
