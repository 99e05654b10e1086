"""The one access layer through the real runtime in production mode (ADR 0018): every route
and every RPC surface against every kind of credential, nothing open without a secret, the
operator token beside capability tokens, tenants kept apart, rate budgets with Retry-After,
and the Python and npm `capnweb` clients with a token."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import ClientConnection, connect

from dotdo.client import Client, RpcError
from dotdo.remote.targets import snake_case
from dotdo.wire.tokens import attenuate, mint
from tests.conftest import OPERATOR_TOKEN, PRODUCTION_MESSAGE_RATE, PRODUCTION_REQUEST_RATE, PRODUCTION_SECRET
from tests.runtime import ROOT, LocalRuntime, new_tenant

SECRET = PRODUCTION_SECRET
STATUS = {
    "unauthorized": 401,
    "token_required": 401,
    "token_malformed": 401,
    "token_invalid": 401,
    "token_expired": 401,
    "token_widened": 403,
    "token_wrong_target": 403,
    "token_scope": 403,
    "token_method": 403,
    "rate_limited": 429,
    "auth_not_configured": 503,
}
"""Every answer of the access layer, with its status."""
RANK = {"read": 0, "write": 1, "approve": 2, "admin": 3}
NOUN = ":noun{[A-Z].*}"
VERB = ":verb{[a-z].*}"

# Every route of the app's class (DOFull), a request that reaches it,
# and the scope it needs. The test checks this list against the routes the object serves.
ROUTES: list[tuple[str, str, str, Any, str]] = [
    ("GET", "/health", "/health", None, "public"),
    ("GET", "/state", "/state", None, "read"),
    ("POST", "/state/transaction", "/state/transaction", {"operations": []}, "write"),
    ("GET", "/state/:key", "/state/k", None, "read"),
    ("PUT", "/state/:key", "/state/k", 1, "write"),
    ("DELETE", "/state/:key", "/state/k", None, "write"),
    ("GET", "/ws", "/ws", None, "read"),
    ("POST", "/rpc", "/rpc", {"method": "get", "params": ["k"]}, "rpc"),
    ("POST", "/rpc/pipeline", "/rpc/pipeline", {"pipeline": {"target": [], "pipeline": []}}, "rpc"),
    ("GET", "/ws/rpc", "/ws/rpc", None, "rpc"),
    ("POST", "/capnweb", "/capnweb", b"", "rpc"),
    ("GET", "/capnweb", "/capnweb", None, "rpc"),
    ("POST", "/query", "/query", {"sql": "SELECT 1 AS one"}, "read"),
    ("GET", "/nouns", "/nouns", None, "read"),
    ("POST", "/nouns", "/nouns", {"name": "Widget"}, "admin"),
    ("GET", "/verbs", "/verbs", None, "read"),
    ("POST", "/verbs", "/verbs", {"base": "ship"}, "admin"),
    ("GET", "/events", "/events", None, "read"),
    ("GET", "/actions", "/actions", None, "read"),
    ("POST", "/actions", "/actions", {"subject": "Customer/c1", "verb": "visit"}, "write"),
    ("POST", f"/{NOUN}", "/Customer", {"$id": "c1", "name": "Ada"}, "write"),
    ("GET", f"/{NOUN}", "/Customer", None, "read"),
    ("GET", f"/{NOUN}/:id", "/Customer/c1", None, "read"),
    ("PATCH", f"/{NOUN}/:id", "/Customer/c1", {"plan": "pro"}, "write"),
    ("PUT", f"/{NOUN}/:id", "/Customer/c1", {"name": "Ada"}, "write"),
    ("DELETE", f"/{NOUN}/:id", "/Customer/c1", None, "write"),
    ("POST", f"/{NOUN}/:id/restore", "/Customer/c1/restore", None, "write"),
    ("GET", f"/{NOUN}/:id/{VERB}", "/Customer/c1/owns", None, "read"),
    ("POST", f"/{NOUN}/:id/{VERB}", "/Customer/c1/owns", {"to": "Order/o1"}, "write"),
    ("DELETE", f"/{NOUN}/:id/{VERB}", "/Customer/c1/owns?to=Order/o1", None, "write"),
    ("GET", "/stats", "/stats", None, "read"),
    ("POST", "/storage/flush", "/storage/flush", None, "admin"),
    ("POST", "/storage/archive", "/storage/archive", None, "admin"),
    ("POST", "/events", "/events", {"type": "Customer.poked"}, "write"),
    ("GET", "/events/scheduled", "/events/scheduled", None, "read"),
    ("DELETE", "/events/scheduled/:id", "/events/scheduled/nothing", None, "write"),
    ("GET", "/events/dead", "/events/dead", None, "read"),
    ("POST", "/events/dead/:id/replay", "/events/dead/nothing/replay", None, "admin"),
    ("GET", "/schedules", "/schedules", None, "read"),
    ("DELETE", "/schedules/:id/*", "/schedules/nothing", None, "admin"),
    ("GET", "/workflows", "/workflows", None, "read"),
    ("POST", "/workflows/:name", "/workflows/nothing", {}, "write"),
    ("GET", "/workflows/:id", "/workflows/nothing", None, "read"),
    # DOFull's AI: bodies its handlers refuse (400) or nouns it does not search (404), so
    # no model is called; generating spends the budget, so it needs write.
    ("POST", "/ai/generate", "/ai/generate", {"prompt": ""}, "write"),
    ("POST", "/ai/embed", "/ai/embed", {"texts": []}, "write"),
    ("POST", "/ai/run", "/ai/run", {"model": "", "inputs": {}}, "write"),
    ("GET", "/ai/usage", "/ai/usage", None, "read"),
    ("GET", f"/search/{NOUN}", "/search/Customer?q=x", None, "read"),
    ("POST", f"/search/{NOUN}/reindex", "/search/Customer/reindex", None, "admin"),
    ("GET", "/approvals", "/approvals", None, "read"),
    ("GET", "/approvals/:id", "/approvals/nothing", None, "read"),
    ("POST", "/approvals/:id", "/approvals/nothing", {"decision": "approve"}, "approve"),
    # DOFull's fan-out: a body it refuses (400), so no object is called
    ("POST", "/fanout", "/fanout", {"targets": [], "method": "tally"}, "admin"),
]
NO_ROUTE = ("GET", "", "/no/such/route", None, "read")  # a 404 needs read: strangers learn nothing
CALLS = [
    ("get", ["k"], "read"),
    ("set", ["k", 1], "write"),
    ("decide_approval", ["nothing", "approve"], "approve"),
    ("register_noun", ["Gadget"], "admin"),
]
KINDS = ["none", "wrong tenant", "read", "write", "approve", "admin", "expired", "attenuated", "widened"]
HELD = {"read": 0, "attenuated": 0, "write": 1, "approve": 2, "admin": 3}


def credentials(tenant: str) -> dict[str, str | None]:
    """One credential of each kind for `tenant`, each its own token (so its own budget)."""
    return {
        "none": None,
        "wrong tenant": mint(SECRET, target=new_tenant(), scope="admin"),
        "read": mint(SECRET, target=tenant, scope="read"),
        "write": mint(SECRET, target=tenant, scope="write"),
        "approve": mint(SECRET, target=tenant, scope="approve"),
        "admin": mint(SECRET, target=tenant, scope="admin"),
        "expired": mint(SECRET, target=tenant, scope="admin", ttl_seconds=-60),
        "attenuated": attenuate(mint(SECRET, target=tenant, scope="admin", sub="narrowed"), scope="read"),
        "widened": attenuate(mint(SECRET, target=tenant, scope="read"), scope="admin"),
    }


def expected(kind: str, needs: str) -> str | None:
    """The access layer's answer to a credential of `kind` where `needs` is needed (None: let through)."""
    if kind == "expired":
        return "token_expired"  # a credential that is sent is checked, on a public route too
    if kind == "widened":
        return "token_widened"
    if needs == "public":
        return None
    if kind == "none":
        return "token_required"
    if kind == "wrong tenant":
        return "token_wrong_target"
    if needs == "rpc":
        return None  # the route lets the credential in; each call is checked on its own
    return None if HELD[kind] >= RANK[needs] else "token_scope"


def bearer(token: str | None) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"} if token else {}


def outcome(status: int, body: Any) -> str | None:
    """The access code an answer carries, or None when access was granted (the handler may
    still refuse something else: a missing thing, a body it does not take)."""
    if status < 400:
        return None
    code = body["error"]["code"] if isinstance(body, dict) else None
    if code in STATUS:
        assert status == STATUS[code], (status, body)
        return str(code)
    assert status < 500, (status, body)
    return None


def http_outcome(response: httpx.Response) -> str | None:
    body = response.json() if response.status_code >= 400 and response.content else None
    return outcome(response.status_code, body)


def send(client: httpx.Client, method: str, path: str, body: Any, headers: dict[str, str]) -> httpx.Response:
    if isinstance(body, bytes):
        return client.request(method, path, content=body, headers=headers)
    if body is None:
        return client.request(method, path, headers=headers)
    return client.request(method, path, json=body, headers=headers)


def upgrade(
    runtime: LocalRuntime, tenant: str, path: str, headers: dict[str, str] | None = None
) -> ClientConnection | str:
    """A WebSocket to `path`, or the access code its upgrade was refused with."""
    loopback = socket.create_connection(("127.0.0.1", runtime.port), timeout=30)
    try:
        return connect(
            f"ws://{tenant}.localhost:{runtime.port}{path}",
            sock=loopback,
            open_timeout=30,
            additional_headers=headers,
        )
    except InvalidStatus as refused:
        loopback.close()
        code = outcome(refused.response.status_code, json.loads(refused.response.body or b"null"))
        assert code is not None, refused.response.status_code
        return code


def capnweb_outcome(line: Any) -> str | None:
    if line[0] == "resolve":
        return None
    code = line[2][4].get("code") if len(line[2]) > 4 else None
    return code if code in STATUS else None


def test_every_route_against_every_credential(production_runtime: LocalRuntime) -> None:
    tenant = new_tenant()
    tokens = credentials(tenant)
    with production_runtime.client(tenant) as c:
        failures = []
        for kind, token in tokens.items():
            for method, pattern, path, body, needs in [*ROUTES, NO_ROUTE]:
                response = send(c, method, path, body, bearer(token))
                got, want = http_outcome(response), expected(kind, needs)
                if got != want:
                    failures.append(
                        f"{kind} {method} {pattern or path}: {got} (want {want}) {response.text[:120]}"
                    )
        assert not failures, "\n".join(failures)
        served = c.get("/health", headers=bearer(tokens["admin"])).json()["routes"]  # the table is complete
        assert {(r["method"], r["pattern"]): r["scope"] for r in served} == {
            (method, pattern): scope for method, pattern, _, _, scope in ROUTES
        }


def test_every_rpc_surface_against_every_credential(production_runtime: LocalRuntime) -> None:
    tenant = new_tenant()
    tokens = credentials(tenant)
    failures = []

    def check(kind: str, surface: str, got: str | None, want: str | None) -> None:
        if got != want:
            failures.append(f"{kind} {surface}: {got} (want {want})")

    with production_runtime.client(tenant) as c:
        for kind, token in tokens.items():
            for method, params, needs in CALLS:
                want = expected(kind, needs)
                rpc = c.post("/rpc", json={"method": method, "params": params}, headers=bearer(token))
                check(kind, f"/rpc {method}", http_outcome(rpc), want)
                steps = [{"type": "method", "name": method, "args": params}]
                piped = c.post(
                    "/rpc/pipeline",
                    json={"pipeline": {"target": [], "pipeline": steps}},
                    headers=bearer(token),
                )
                check(kind, f"/rpc/pipeline {method}", http_outcome(piped), want)
                lines = [json.dumps(["push", ["pipeline", 0, [method], params]]), json.dumps(["pull", 1])]
                query = {"token": token} if token else None
                batch = c.post("/capnweb", content="\n".join(lines), params=query)
                if batch.status_code >= 400:
                    check(kind, f"/capnweb batch {method}", http_outcome(batch), want)
                else:
                    check(kind, f"/capnweb batch {method}", capnweb_outcome(json.loads(batch.text)), want)
    for kind, token in tokens.items():
        query = f"?token={token}" if token else ""
        plain = upgrade(production_runtime, tenant, f"/ws{query}")
        check(kind, "/ws upgrade", plain if isinstance(plain, str) else None, expected(kind, "read"))
        if not isinstance(plain, str):
            plain.close()
        rpc_socket = upgrade(production_runtime, tenant, f"/ws/rpc{query}")
        capnweb_socket = upgrade(production_runtime, tenant, f"/capnweb{query}")
        for name, opened in (("/ws/rpc", rpc_socket), ("/capnweb socket", capnweb_socket)):
            if isinstance(opened, str):
                check(kind, f"{name} upgrade", opened, expected(kind, "rpc"))
        if isinstance(rpc_socket, str) or isinstance(capnweb_socket, str):
            continue
        with rpc_socket, capnweb_socket:
            for number, (method, params, needs) in enumerate(CALLS, start=1):
                rpc_socket.send(json.dumps({"id": number, "method": method, "params": params}))
                answer = json.loads(rpc_socket.recv(timeout=10))
                code = answer.get("error", {}).get("code")
                check(kind, f"/ws/rpc {method}", code if code in STATUS else None, expected(kind, needs))
                capnweb_socket.send(json.dumps(["push", ["pipeline", 0, [method], params]]))
                capnweb_socket.send(json.dumps(["pull", number]))
                got = capnweb_outcome(json.loads(capnweb_socket.recv(timeout=10)))
                check(kind, f"/capnweb socket {method}", got, expected(kind, needs))
    assert not failures, "\n".join(failures)


def test_health_says_only_alive_unless_the_caller_is_admin(production_runtime: LocalRuntime) -> None:
    tenant = new_tenant()
    with production_runtime.client(tenant) as c:
        assert c.get("/health").json() == {"status": "ok"}
        reader = mint(SECRET, target=tenant, scope="read")
        assert c.get("/health", headers=bearer(reader)).json() == {"status": "ok"}
        elsewhere = mint(SECRET, target=new_tenant(), scope="admin")
        assert c.get("/health", headers=bearer(elsewhere)).json() == {"status": "ok"}
        for admin in (mint(SECRET, target=tenant, scope="admin"), OPERATOR_TOKEN):
            detail = c.get("/health", headers=bearer(admin)).json()
            assert detail["class"] == "DOFull" and detail["access"] == "token"
            assert (
                "send_event" in detail["rpc"]
                and {"method": "GET", "pattern": "/health", "scope": "public"} in (detail["routes"])
            )
        assert c.head("/health").status_code == 200


def test_without_a_secret_production_refuses_everything_but_health(production_runtime: LocalRuntime) -> None:
    # HarnessCore reads its secret and operator token from vars this server does not set.
    tenant = new_tenant()
    admin = bearer(mint(SECRET, target=tenant, scope="admin"))  # no secret there to verify it with
    with production_runtime.client(tenant) as c:
        for method, path, body in [
            ("GET", "/_harness/state", None),
            ("PUT", "/_harness/state/k", 1),
            ("GET", "/_harness/state/k", None),
            (
                "POST",
                "/_harness/rpc/",
                {"method": "whoami"},
            ),  # the slash gets past the harness's /_harness/rpc
            ("POST", "/_harness/rpc/pipeline", {"pipeline": {"target": [], "pipeline": []}}),
            ("POST", "/_harness/capnweb", b""),
            ("GET", "/_harness/nowhere", None),
        ]:
            for headers in ({}, admin, bearer(OPERATOR_TOKEN)):
                response = send(c, method, path, body, headers)
                assert (response.status_code, http_outcome(response)) == (503, "auth_not_configured"), path
                assert "HARNESS_RPC_SECRET" in response.json()["error"]["message"]
        assert c.get("/_harness/health").json() == {"status": "ok"}
        assert c.get("/_harness/health", headers=admin).json() == {"status": "ok"}
    for path in ("/_harness/ws", "/_harness/ws/rpc", "/_harness/capnweb"):
        assert upgrade(production_runtime, tenant, path) == "auth_not_configured"
    logged = poll_log(production_runtime, "auth_not_configured: HarnessCore refuses every route but /health")
    assert "HARNESS_RPC_SECRET" in logged and PRODUCTION_SECRET not in production_runtime.log_path.read_text()


def test_the_operator_token_and_capability_tokens_do_not_collide(production_runtime: LocalRuntime) -> None:
    tenant = new_tenant()
    writer = mint(SECRET, target=tenant, scope="write", sub="ada")
    with production_runtime.client(tenant) as c:
        for headers in (bearer(OPERATOR_TOKEN), {"x-capability": OPERATOR_TOKEN}):
            assert c.post("/nouns", json={"name": "Widget"}, headers=headers).status_code == 201
            assert c.post(
                "/rpc", json={"method": "register_noun", "params": ["Gizmo"]}, headers=headers
            ).is_success
        # a capability token is a bearer token like the operator's: one header, no second scheme
        assert c.put("/state/k", json=1, headers=bearer(writer)).status_code == 200
        assert c.post("/rpc", json={"method": "get", "params": ["k"]}, headers=bearer(writer)).json() == {
            "result": 1
        }
        both = {"x-capability": writer, **bearer(OPERATOR_TOKEN)}  # X-Capability is the one that counts
        assert http_outcome(c.post("/nouns", json={"name": "Both"}, headers=both)) == "token_scope"
        assert http_outcome(c.get("/state", headers=bearer(OPERATOR_TOKEN + "x"))) == "token_malformed"
        operator_batch = c.post(
            "/capnweb",
            content=json.dumps(["push", ["pipeline", 0, ["get"], ["k"]]]) + "\n" + json.dumps(["pull", 1]),
            params={"token": OPERATOR_TOKEN},
        )
        assert json.loads(operator_batch.text) == ["resolve", 1, 1]
        query_only = c.get("/state", params={"token": writer})  # ?token= is for sockets and Cap'n Web
        assert http_outcome(query_only) == "token_required" and writer not in query_only.text
    opened = upgrade(production_runtime, tenant, "/ws/rpc", bearer(OPERATOR_TOKEN))
    assert not isinstance(opened, str)
    with opened:
        opened.send(json.dumps({"id": 1, "method": "register_noun", "params": ["Thing"]}))
        assert json.loads(opened.recv(timeout=10))["result"]["name"] == "Thing"
    other_tenant = new_tenant()
    with production_runtime.client(other_tenant) as elsewhere:  # the operator is admin of every tenant
        assert (
            elsewhere.post("/nouns", json={"name": "Widget"}, headers=bearer(OPERATOR_TOKEN)).status_code
            == 201
        )
        wrong = elsewhere.get("/state", headers=bearer(writer))
        assert http_outcome(wrong) == "token_wrong_target"
        # the message names the token's target and the tenant reached, as the holder knows both
        assert f"{tenant!r}" in wrong.json()["error"]["message"]
        assert f"{other_tenant!r}" in wrong.json()["error"]["message"]


def test_a_token_limited_to_methods_calls_only_those(production_runtime: LocalRuntime) -> None:
    tenant = new_tenant()
    getter = attenuate(mint(SECRET, target=tenant, scope="write"), methods=["get"])
    with production_runtime.client(tenant) as c:
        assert c.post("/rpc", json={"method": "get", "params": ["k"]}, headers=bearer(getter)).json() == {
            "result": None
        }
        set_call = c.post("/rpc", json={"method": "set", "params": ["k", 1]}, headers=bearer(getter))
        assert http_outcome(set_call) == "token_method"
        refused = c.get("/state/k", headers=bearer(getter))
        assert (
            http_outcome(refused) == "token_method"
            and "grants only get" in refused.json()["error"]["message"]
        )


def test_each_token_has_a_request_budget_per_tenant(production_runtime: LocalRuntime) -> None:
    limit, window = PRODUCTION_REQUEST_RATE
    tenant = new_tenant()
    token = mint(SECRET, target="*", scope="read")
    with production_runtime.client(tenant) as c:
        statuses = {c.get("/state", headers=bearer(token)).status_code for _ in range(limit)}
        assert statuses == {200}
        over = c.get("/state", headers=bearer(token))
        assert (over.status_code, over.json()["error"]["code"]) == (429, "rate_limited")
        assert 1 <= int(over.headers["retry-after"]) <= window == 60
        assert over.json()["error"]["retry_after"] == int(over.headers["retry-after"])
        narrower = attenuate(token, methods=["get"])  # an attenuation spends its token's budget
        assert (
            c.post("/rpc", json={"method": "get", "params": ["k"]}, headers=bearer(narrower)).status_code
            == 429
        )
        assert c.get("/state", headers=bearer(mint(SECRET, target=tenant, scope="read"))).status_code == 200
    with production_runtime.client() as other:  # the same token on another tenant: that tenant's budget
        assert other.get("/state", headers=bearer(token)).status_code == 200


def test_a_tokens_sockets_share_one_message_budget(production_runtime: LocalRuntime) -> None:
    limit, _ = PRODUCTION_MESSAGE_RATE
    tenant = new_tenant()
    token = mint(SECRET, target=tenant, scope="read")
    query = f"?token={token}"
    first, second, capnweb = (
        upgrade(production_runtime, tenant, p + query) for p in ("/ws/rpc", "/ws/rpc", "/capnweb")
    )
    other = upgrade(production_runtime, tenant, f"/ws/rpc?token={mint(SECRET, target=tenant, sub='another')}")
    assert not any(isinstance(s, str) for s in (first, second, capnweb, other))
    assert isinstance(first, ClientConnection) and isinstance(second, ClientConnection)
    assert isinstance(capnweb, ClientConnection) and isinstance(other, ClientConnection)
    with first, second, capnweb, other:

        def ask(ws: ClientConnection, number: int) -> dict[str, Any]:
            ws.send(json.dumps({"id": number, "method": "get", "params": ["k"]}))
            answer: dict[str, Any] = json.loads(ws.recv(timeout=10))
            return answer

        answers = [ask(first if n % 2 else second, n) for n in range(limit)]
        assert all("result" in answer for answer in answers)
        refused = ask(first, limit)
        assert refused["error"]["code"] == "rate_limited" and 1 <= refused["error"]["retry_after"] <= 60
        assert ask(second, limit + 1)["error"]["code"] == "rate_limited"  # the socket stays open
        capnweb.send(json.dumps(["push", ["pipeline", 0, ["get"], ["k"]]]))
        capnweb.send(json.dumps(["pull", 1]))
        assert capnweb_outcome(json.loads(capnweb.recv(timeout=10))) == "rate_limited"
        assert "result" in ask(other, 1)  # another token, its own budget


def test_the_python_client_with_a_token(production_runtime: LocalRuntime) -> None:
    tenant = new_tenant()
    url = f"http://{tenant}.localhost:{production_runtime.port}"
    writer = mint(SECRET, target=tenant, scope="write")

    async def scenario() -> None:
        async with Client(url, token=writer) as client:
            await client.call("set", "greeting", {"text": "hi"})
            assert await client.call("get", "greeting") == {"text": "hi"}
            ada = await client.Customer.create({"$id": "ada", "name": "Ada"})
            assert (await client.Customer("ada").get())["$version"] == ada["$version"]
            assert await client.pipeline("Customer", "ada").get()["name"] == "Ada"
            with pytest.raises(RpcError) as scope:
                await client.call("register_noun", "Widget")
            assert (scope.value.code, scope.value.status) == ("token_scope", 403)
            events = client.subscribe("Customer.*")  # the token goes in the socket's handshake
            first = asyncio.ensure_future(anext(events))
            written: list[str] = []
            for n in range(40):  # the subscription is live once its handshake is done: write until seen
                written.append((await client.Customer.create({"$id": f"late-{n}"}))["$id"])
                done, _ = await asyncio.wait({first}, timeout=0.25)
                if done:
                    break
            event = await asyncio.wait_for(first, 10)
            assert event["type"] == "Customer.created" and event["subject"] in written
            await events.aclose()
        async with Client(url) as anonymous:
            with pytest.raises(RpcError) as missing:
                await anonymous.call("get", "greeting")
            assert (missing.value.code, missing.value.status) == ("token_required", 401)
        async with Client(url, token=OPERATOR_TOKEN) as operator:
            assert (await operator.call("register_noun", "Widget"))["name"] == "Widget"
        other_tenant = new_tenant()
        async with Client(
            f"http://{other_tenant}.localhost:{production_runtime.port}", token=writer
        ) as other:
            with pytest.raises(RpcError) as elsewhere:
                await other.Customer.list()
            assert elsewhere.value.code == "token_wrong_target"
            assert f"{tenant!r}" in str(elsewhere.value) and f"{other_tenant!r}" in str(elsewhere.value)

    asyncio.run(scenario())


def run_capnweb_client(url: str, token: str | None) -> dict[str, Any]:
    script = Path(ROOT) / "tests" / "node" / "capnweb_client.mjs"
    command = ["node", str(script), url, *([token] if token else [])]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_the_npm_capnweb_client_with_a_token(production_runtime: LocalRuntime) -> None:
    tenant = new_tenant()
    url = f"http://{tenant}.localhost:{production_runtime.port}/_semantic/capnweb"
    result = run_capnweb_client(
        url, mint(SECRET, target=tenant, scope="write")
    )  # as ?token=, batch and socket
    assert result["batch"][0] == {"value": "hello"}
    assert result["batch"][1] == {"value": {"owner": "alice", "count": 3, "sum": 12}}
    assert result["overSocket"][:2] == [
        {"value": "hey, carol"},
        {"value": {"owner": "carol", "count": 3, "sum": 12}},
    ]
    elsewhere = run_capnweb_client(url, mint(SECRET, target=new_tenant(), scope="admin"))
    assert all("error" in answer for answer in elsewhere["batch"] + elsewhere["overSocket"])


def poll_log(runtime: LocalRuntime, text: str, timeout: float = 20.0) -> str:
    """The first log line holding `text` (the runtime writes its log asynchronously)."""
    deadline = time.monotonic() + timeout
    while True:
        lines = [line for line in runtime.log_path.read_text(errors="replace").splitlines() if text in line]
        if lines or time.monotonic() > deadline:
            assert lines, f"no log line with {text!r}:\n{runtime.log_tail()}"
            return lines[0]
        time.sleep(0.1)


def test_development_without_a_secret_says_so_at_start_up(runtime: LocalRuntime) -> None:
    with runtime.client() as c:
        assert c.get("/state").status_code == 200  # open: no token needed
    line = poll_log(runtime, "OPEN ACCESS: DOFull answers anyone")
    assert "DOTDO_SECRET" in line
    before = runtime.log_path.read_text(errors="replace").count("OPEN ACCESS: DOFull")
    for _ in range(3):  # more objects of the class in the same isolate: said once
        with runtime.client() as c:
            assert c.get("/state").status_code == 200
    assert runtime.log_path.read_text(errors="replace").count("OPEN ACCESS: DOFull") == before


def test_the_storage_layers_routes_and_methods_have_their_scopes(production_runtime: LocalRuntime) -> None:
    tenant = new_tenant()
    tokens = credentials(tenant)
    failures = []
    with production_runtime.client(tenant) as c:
        for kind, token in tokens.items():
            for method, path, body, needs in [
                ("GET", "/_storage/stats", None, "read"),
                ("POST", "/_storage/storage/flush", None, "admin"),
                ("POST", "/_storage/rpc", {"method": "stats"}, "read"),
                ("POST", "/_storage/rpc", {"method": "flush"}, "admin"),
            ]:
                got, want = http_outcome(send(c, method, path, body, bearer(token))), expected(kind, needs)
                if got != want:
                    failures.append(f"{kind} {method} {path} {body}: {got} (want {want})")
    assert not failures, "\n".join(failures)


def test_tenant_tokens_work_on_an_object_its_alarm_woke(production_runtime: LocalRuntime) -> None:
    """Cloudflare names an instance only when a named stub made it; an instance its alarm
    woke (after a restart) refused every token for its tenant (403 token_wrong_target)
    until the next restart, since it compared tokens against no name."""
    tenant = new_tenant()
    admin = {"authorization": f"Bearer {mint(SECRET, target=tenant, scope='admin')}"}
    with production_runtime.client(tenant) as c:
        assert c.put("/state/kept", json={"value": 1}, headers=admin).status_code == 200
        sent = c.post("/events", json={"type": "Customer.noted", "delay": 1}, headers=admin)
        assert sent.status_code == 201
    production_runtime.restart()
    # The alarm fires a second after the send and wakes the object with no name; nothing
    # outside the object can see that happen without waking it by name first, so wait.
    time.sleep(4)
    reader = {"authorization": f"Bearer {mint(SECRET, target=tenant, scope='read')}"}
    with production_runtime.client(tenant) as c:
        kept = c.get("/state/kept", headers=reader)
        assert kept.status_code == 200, kept.text
        assert c.get("/events", params={"type": "Customer.noted"}, headers=reader).json()["items"]


def test_the_test_clients_sockets_carry_their_authorization_header(production_runtime: LocalRuntime) -> None:
    """`dotdo.testing`'s clients sign their sockets with the token set on `client.headers`
    (the documented conftest fixture), as their HTTP requests: `subscribe` was a 401
    `token_required` with a secret set."""
    tenant = new_tenant()
    token = mint(SECRET, target=tenant, scope="write")
    with production_runtime.client(tenant) as client:
        client.headers["authorization"] = f"Bearer {token}"
        with client.subscribe("Customer.*") as events:
            client.post("/Customer", json={"$id": "ada"}).raise_for_status()
            assert events.next(timeout=10)["type"] == "Customer.created"

    async def scenario() -> None:
        async with production_runtime.async_client(tenant) as client:
            client.headers["authorization"] = f"Bearer {token}"
            async with client.ws("/ws/rpc") as socket:
                await socket.send(json.dumps({"id": 1, "method": "get", "params": ["k"]}))
                assert json.loads(await socket.recv()) == {"id": 1, "result": None}

    asyncio.run(scenario())


# A noun accessor's operations and the flat RPC method each is (docs/api.md, "One operation,
# one answer"): (flat method, its params, "noun" or "thing", the path method, its args).
OPERATIONS: list[tuple[str, list[Any], str, str, list[Any]]] = [
    ("create_thing", ["Customer", {"name": "x"}], "noun", "create", [{"name": "x"}]),
    ("create_things", ["Customer", [{"name": "y"}]], "noun", "createMany", [[{"name": "y"}]]),
    ("upsert_thing", ["Customer", {"$id": "u1"}], "noun", "upsert", [{"$id": "u1"}]),
    ("list_things", ["Customer"], "noun", "list", []),
    ("page_things", ["Customer"], "noun", "page", []),
    ("count_things", ["Customer"], "noun", "count", []),
    ("find_first_thing", ["Customer"], "noun", "findFirst", []),
    ("get_thing", ["Customer", "c9"], "thing", "get", []),
    ("update_thing", ["Customer", "c9", {"a": 1}], "thing", "update", [{"a": 1}]),
    ("replace_thing", ["Customer", "c9", {"a": 2}], "thing", "replace", [{"a": 2}]),
    ("relate", ["Customer/c9", "knows", "Customer/c8"], "thing", "relate", ["knows", "Customer/c8"]),
    ("related", ["Customer/c9", "knows"], "thing", "related", ["knows"]),
    ("related_page", ["Customer/c9", "knows"], "thing", "relatedPage", ["knows"]),
    ("unrelate", ["Customer/c9", "knows", "Customer/c8"], "thing", "unrelate", ["knows", "Customer/c8"]),
    ("delete_thing", ["Customer", "c9"], "thing", "softDelete", []),
    ("restore_thing", ["Customer", "c9"], "thing", "restore", []),
    ("delete_thing", ["Customer", "c9"], "thing", "delete", []),
]


def test_a_token_grants_an_operation_by_one_name_on_every_surface(production_runtime: LocalRuntime) -> None:
    """`methods` lists flat RPC names; a path call (`["Customer", "c9"].get()`) is checked as the
    flat method it is (`get_thing`), and a camelCase call by its Python name."""
    tenant = new_tenant()
    failures = []
    with production_runtime.client(tenant) as c:
        admin = bearer(mint(SECRET, target=tenant, scope="admin"))
        for kept in ("c9", "c7"):  # c9 is deleted by the last operation
            assert c.post("/Customer", json={"$id": kept, "name": "Ada"}, headers=admin).status_code == 201
        for flat, params, on, path_method, args in OPERATIONS:
            target = ["Customer"] if on == "noun" else ["Customer", "c9"]
            python_name = snake_case(path_method)
            cases = [([flat], None, None)]  # the flat name grants the operation everywhere
            if python_name != flat:  # the path's own name, where it differs, grants it nowhere
                cases.append(([python_name], "token_method", "token_method"))
            for methods, want_flat, want_path in cases:
                token = attenuate(mint(SECRET, target=tenant, scope="write"), methods=methods)
                got = http_outcome(
                    c.post("/rpc", json={"method": flat, "params": params}, headers=bearer(token))
                )
                if got != want_flat:
                    failures.append(f"{methods} /rpc {flat}: {got}")
                steps = [{"type": "method", "name": path_method, "args": args}]
                piped = c.post(
                    "/rpc/pipeline",
                    json={"pipeline": {"target": target, "pipeline": steps}},
                    headers=bearer(token),
                )
                if http_outcome(piped) != want_path:
                    failures.append(f"{methods} pipeline {target}.{path_method}: {http_outcome(piped)}")
                lines = [
                    json.dumps(["push", ["pipeline", 0, [target[0]], target[1:]]]),
                    # Cap'n Web escapes an array value by wrapping it in a second array
                    json.dumps(
                        [
                            "push",
                            ["pipeline", 1, [path_method], [[a] if isinstance(a, list) else a for a in args]],
                        ]
                    ),
                    json.dumps(["pull", 2]),
                ]
                batch = c.post("/capnweb", content="\n".join(lines), params={"token": token})
                got = capnweb_outcome(json.loads(batch.text.splitlines()[-1]))
                if got != want_path:
                    failures.append(f"{methods} capnweb {target}.{path_method}: {got}")
    assert not failures, "\n".join(failures)
    camel = attenuate(mint(SECRET, target=tenant, scope="read"), methods=["get_thing"])
    with production_runtime.client(tenant) as c:
        answer = c.post(
            "/rpc", json={"method": "getThing", "params": ["Customer", "c7"]}, headers=bearer(camel)
        )
        assert answer.status_code == 200 and answer.json()["result"]["$id"] == "c7"
    opened = upgrade(production_runtime, tenant, f"/ws/rpc?token={camel}")
    assert isinstance(opened, ClientConnection)
    with opened:
        opened.send(json.dumps({"id": 1, "method": "getThing", "params": ["Customer", "c7"]}))
        assert json.loads(opened.recv(timeout=10))["result"]["$id"] == "c7"
        opened.send(json.dumps({"id": 2, "method": "get", "params": ["k"]}))
        assert json.loads(opened.recv(timeout=10))["error"]["code"] == "token_method"


def test_nothing_is_pushed_to_a_socket_whose_token_expired(production_runtime: LocalRuntime) -> None:
    """A `/ws/rpc` subscription and a `/ws?tags=events` socket opened with a token that
    expires are closed (1008, `token_expired`) at the first push after it expired."""
    from websockets.exceptions import ConnectionClosed

    tenant = new_tenant()
    with production_runtime.client(tenant) as warm:  # the app loaded before the 2 s start
        assert warm.get("/health").status_code == 200
    writer = mint(SECRET, target=tenant, scope="write", sub="writer")  # a request budget of its own
    token = mint(SECRET, target=tenant, scope="read", ttl_seconds=2)
    subscribed = upgrade(production_runtime, tenant, f"/ws/rpc?token={token}")
    events = upgrade(production_runtime, tenant, f"/ws?tags=events&token={token}")
    assert isinstance(subscribed, ClientConnection) and isinstance(events, ClientConnection)
    with subscribed, events, production_runtime.client(tenant) as c:
        subscribed.send(json.dumps({"id": 1, "method": "subscribe", "params": ["Customer.*"]}))
        assert "result" in json.loads(subscribed.recv(timeout=10))
        closes: dict[str, Any] = {}
        deadline = time.monotonic() + 60  # a bound, not a speed: the token lasts 2 s
        for number in range(10**6):
            if time.monotonic() > deadline:
                break
            time.sleep(0.2)  # paced: the writer's request budget is 150 a minute
            created = c.post("/Customer", json={"name": f"c{number}"}, headers=bearer(writer))
            assert created.status_code == 201, created.text
            for name, ws in (("rpc", subscribed), ("events", events)):
                if name in closes:
                    continue
                try:
                    pushed = json.loads(ws.recv(timeout=0.5))
                except TimeoutError:
                    continue
                except ConnectionClosed as closed:
                    closes[name] = closed.rcvd
                    continue
                assert "event" in (pushed.get("method"), pushed.get("type")), pushed  # before the expiry
            if len(closes) == 2:
                break
        assert set(closes) == {"rpc", "events"}, closes
        for frame in closes.values():
            assert frame is not None and (frame.code, frame.reason) == (1008, "token_expired")


def test_a_socket_whose_token_expired_is_closed_at_its_next_message(production_runtime: LocalRuntime) -> None:
    """A plain `/ws` socket was closed only at a push after its token expired: a message it
    sent still reached the app's `on_message`. It is closed (1008, `token_expired`) instead."""
    from websockets.exceptions import ConnectionClosed

    tenant = new_tenant()
    with production_runtime.client(tenant) as warm:  # the app loaded before the 2 s start
        assert warm.get("/health").status_code == 200
    token = mint(SECRET, target=tenant, scope="read", ttl_seconds=2)
    ws = upgrade(production_runtime, tenant, f"/ws?token={token}")
    assert isinstance(ws, ClientConnection)
    with ws:
        time.sleep(3)
        ws.send("hello")
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=20)
        assert closed.value.rcvd is not None
        assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (1008, "token_expired")


def test_the_client_says_its_subscription_token_expired(production_runtime: LocalRuntime) -> None:
    tenant = new_tenant()
    with production_runtime.client(tenant) as warm:  # the app loaded before the 2 s start
        assert warm.get("/health").status_code == 200
    writer = mint(SECRET, target=tenant, scope="write", sub="writer")  # a request budget of its own
    token = mint(SECRET, target=tenant, scope="read", ttl_seconds=2)
    base = f"http://{tenant}.localhost:{production_runtime.port}"

    async def follow() -> RpcError:
        async with Client(base, token=token) as client:
            try:
                async for _ in client.subscribe("Customer.*"):
                    pass
            except RpcError as error:
                return error
        raise AssertionError("the subscription ended quietly")

    async def run() -> RpcError:
        following = asyncio.ensure_future(follow())
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{production_runtime.port}") as http:
            deadline = time.monotonic() + 60  # a bound, not a speed: the token lasts 2 s
            for number in range(10**6):
                if following.done() or time.monotonic() > deadline:
                    break
                await http.post(
                    "/Customer",
                    json={"name": f"c{number}"},
                    headers={"host": f"{tenant}.localhost", **bearer(writer)},
                )
                await asyncio.wait({following}, timeout=0.5)
        return await asyncio.wait_for(following, 10)

    error = asyncio.run(run())
    assert error.code == "token_expired", error
