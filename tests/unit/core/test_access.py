"""The one access layer under CPython: modes, where a credential travels, scopes per route,
the operator token beside capability tokens, and the request budget (ADR 0018)."""

from __future__ import annotations

import asyncio
import contextvars
import logging
from typing import Any

import pytest

from dotdo import HttpRequest, HttpResponse, Router, json_response
from dotdo.core import access as access_module
from dotdo.core.access import (
    MAX_KEY_LENGTH,
    Access,
    AccessControl,
    AccessSettings,
    caller,
    client_key,
    request_access,
)
from dotdo.core.limits import Limits, Rate
from dotdo.errors import Forbidden
from dotdo.wire.tokens import attenuate, mint, verify

SECRET = "a-secret-long-enough-for-the-checks-0123456789"
OPERATOR = "an-operator-token-long-enough-0123456789"


def lookup(values: dict[str, str]) -> Any:
    return values.get


def test_the_mode_comes_from_the_environment() -> None:
    bindings = ("DOTDO_SECRET", "RPC_SECRET")

    def settings(**values: str) -> AccessSettings:
        return AccessSettings.from_env(lookup(values), bindings, "AUTH_TOKEN")

    assert settings().mode == "closed"  # no ENVIRONMENT at all is production
    assert settings(ENVIRONMENT="production").mode == "closed"
    assert settings(ENVIRONMENT="staging").mode == "closed"
    assert settings(ENVIRONMENT=" Development ").mode == "open"
    assert settings(ENVIRONMENT="development", DOTDO_SECRET="s").mode == "token"  # a secret means tokens
    assert settings(ENVIRONMENT="production", AUTH_TOKEN="op").mode == "token"
    fallback = settings(RPC_SECRET="old")
    assert (fallback.secret, fallback.secret_binding) == ("old", "RPC_SECRET")
    both = settings(DOTDO_SECRET="new", RPC_SECRET="old")
    assert (both.secret, both.secret_binding) == ("new", "DOTDO_SECRET")
    assert settings(DOTDO_SECRET="").secret_binding == "DOTDO_SECRET"  # the name to tell the operator
    with pytest.raises(ValueError):
        AccessSettings.from_env(lookup({}), (), "AUTH_TOKEN")


async def _ok(request: HttpRequest) -> HttpResponse:
    access = request_access(request)
    return json_response({"sub": access.capability.sub if access.capability else None})


PLENTY = Rate(1000, 10.0)


def app(settings: AccessSettings, requests: Rate = PLENTY, clock: Any = None) -> Router:
    limits = Limits(requests, Rate(100, 10.0), **({"clock": clock} if clock else {}))
    control = AccessControl(settings, "acme", limits)
    router = Router(guard=lambda request, route: control.guard(request, route))
    router.get("/health", scope="public")(_ok)
    router.get("/items")(_ok)  # no scope said: read for GET
    router.post("/items")(_ok)  # write for POST
    router.post("/search", scope="read")(_ok)
    router.post("/nouns", scope="admin")(_ok)
    router.post("/rpc", scope="rpc")(_ok)
    router.post("/capnweb", scope="rpc", query_token=True)(_ok)
    router.get("/ws", scope="read")(_ok)
    router.all("/any")(_ok)
    return router


def send(
    router: Router, method: str, path: str, headers: dict[str, str] | None = None
) -> tuple[int, str | None, HttpResponse]:
    response = asyncio.run(router.handle(HttpRequest(method, f"http://acme.localhost{path}", headers or {})))
    code = response.json()["error"]["code"] if response.status >= 400 else None
    return response.status, code, response


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


TOKEN_MODE = AccessSettings(secret=SECRET, environment="production")


def test_a_refusal_names_the_request_not_the_route_pattern() -> None:
    # The user's case: "PATCH /:noun{[A-Z].*}/:id needs the write scope" named the
    # router's pattern, which the client never sent.
    router = app(TOKEN_MODE)
    router.patch("/:noun{[A-Z].*}/:id")(_ok)
    reader = bearer(mint(SECRET, target="acme", scope="read"))
    _, code, response = send(router, "PATCH", "/Person/ada%20b", reader)
    assert code == "token_scope"
    assert response.json()["error"]["message"].startswith("PATCH /Person/ada%20b needs the write scope")
    methods_only = bearer(mint(SECRET, target="acme", scope="write", methods=["poke"]))
    _, code, response = send(router, "PATCH", "/Person/ada", methods_only)
    assert code == "token_method"
    assert response.json()["error"]["message"].startswith("PATCH /Person/ada is no RPC method")


ROUTES = [
    ("GET", "/health", "public"),
    ("GET", "/items", "read"),
    ("HEAD", "/items", "read"),
    ("POST", "/items", "write"),
    ("POST", "/search", "read"),
    ("POST", "/nouns", "admin"),
    ("GET", "/any", "write"),  # all(): write, even for a GET
    ("GET", "/nowhere", "read"),  # no route: a stranger learns nothing, a reader gets the 404
    ("DELETE", "/items", "read"),  # a 405 likewise
]
RANK = {"public": -1, "read": 0, "write": 1, "admin": 2}


@pytest.mark.parametrize(("method", "path", "needs"), ROUTES)
def test_every_route_needs_its_scope(method: str, path: str, needs: str) -> None:
    router = app(TOKEN_MODE)
    expected_success = {"/nowhere": 404, "/items": 405 if method == "DELETE" else 200}.get(path, 200)
    anonymous = send(router, method, path)
    if needs == "public":
        assert anonymous[0] == 200
    else:
        assert anonymous[:2] == (401, "token_required")
        assert anonymous[2].headers["www-authenticate"] == 'Bearer realm="dotdo"'
    for scope in ("read", "write", "admin"):
        status, code, _ = send(router, method, path, bearer(mint(SECRET, target="acme", scope=scope)))
        if RANK[scope] >= RANK[needs]:
            assert status == expected_success, (scope, code)
        else:
            assert (status, code) == (403, "token_scope")
    elsewhere = send(router, method, path, bearer(mint(SECRET, target="other", scope="admin")))
    assert elsewhere[:2] == ((200, None) if needs == "public" else (403, "token_wrong_target"))
    everywhere = send(router, method, path, bearer(mint(SECRET, target="*", scope="admin")))
    assert everywhere[0] == expected_success
    expired = send(router, method, path, bearer(mint(SECRET, target="acme", scope="admin", ttl_seconds=-1)))
    assert expired[:2] == (401, "token_expired")  # a credential sent is checked, on a public route too
    assert 'error="invalid_token"' in expired[2].headers["www-authenticate"]
    widened = attenuate(mint(SECRET, target="acme", scope="read"), scope="admin")
    assert send(router, method, path, bearer(widened))[:2] == (403, "token_widened")
    narrowed = attenuate(mint(SECRET, target="acme", scope="admin"), scope="read")
    assert send(router, method, path, bearer(narrowed))[0] == (
        expected_success if RANK[needs] <= RANK["read"] else 403
    )


def test_a_token_limited_to_methods_reaches_rpc_routes_only() -> None:
    router = app(TOKEN_MODE)
    methods_only = bearer(attenuate(mint(SECRET, target="acme", scope="write"), methods=["get"]))
    assert send(router, "POST", "/rpc", methods_only)[0] == 200  # each call is checked by the route
    status, code, response = send(router, "GET", "/items", methods_only)
    assert (status, code) == (403, "token_method") and "grants only get" in response.json()["error"][
        "message"
    ]
    assert send(router, "GET", "/health", methods_only)[0] == 200


def test_closed_without_a_secret_outside_development() -> None:
    router = app(AccessSettings(secret_binding="DOTDO_SECRET", environment="production"))
    assert send(router, "GET", "/health")[0] == 200
    assert send(router, "GET", "/health", bearer("anything"))[0] == 200  # nothing to verify it with
    for method, path, _ in ROUTES[1:]:
        status, code, response = send(router, method, path, bearer(mint("guess", scope="admin")))
        assert (status, code) == (503, "auth_not_configured")
        assert "DOTDO_SECRET" in response.json()["error"]["message"]


def test_open_in_development_without_a_secret() -> None:
    router = app(AccessSettings(environment="development"))
    for method, path, _ in ROUTES:
        assert send(router, method, path)[0] in (200, 404, 405)
    assert send(router, "POST", "/nouns", bearer("not even a token"))[0] == 200  # nothing checks it


def test_the_operator_token_and_capability_tokens_share_one_header() -> None:
    both = AccessSettings(secret=SECRET, operator_token=OPERATOR, environment="production")
    router = app(both)
    assert send(router, "POST", "/nouns", bearer(OPERATOR))[2].json() == {"sub": "operator"}
    assert send(router, "POST", "/nouns", {"x-capability": OPERATOR})[0] == 200
    writer = mint(SECRET, target="acme", scope="write", sub="ada")
    assert send(router, "POST", "/items", bearer(writer))[2].json() == {"sub": "ada"}  # no collision
    assert send(router, "POST", "/items", {"x-capability": writer})[0] == 200
    # one credential per request: X-Capability, when sent, is the one that counts
    assert send(router, "POST", "/nouns", {"x-capability": writer, **bearer(OPERATOR)})[:2] == (
        403,
        "token_scope",
    )
    assert send(router, "POST", "/items", bearer(OPERATOR[:-1] + "x"))[:2] == (401, "token_malformed")
    operator_only = app(AccessSettings(operator_token=OPERATOR, environment="production"))
    assert send(operator_only, "POST", "/nouns", bearer(OPERATOR))[0] == 200
    assert send(operator_only, "GET", "/items")[:2] == (401, "token_required")
    status, code, response = send(operator_only, "GET", "/items", bearer(writer))
    assert (status, code) == (503, "auth_not_configured") and "DOTDO_SECRET" in response.json()["error"][
        "message"
    ]
    assert send(router, "GET", "/items", {"authorization": f"Basic {writer}"})[:2] == (401, "token_required")


@pytest.mark.parametrize("header", ["{token}", "Basic {token}", "Token {token}", "Bearer"])
def test_an_authorization_header_that_is_no_bearer_token_is_said_to_be_ignored(header: str) -> None:
    """A token sent bare (`Authorization: dotdo1...`) was answered "A capability token is
    required", and the client looked for a fault in its token."""
    router = app(TOKEN_MODE)
    reader = mint(SECRET, target="acme", scope="read")
    status, code, response = send(router, "GET", "/items", {"authorization": header.format(token=reader)})
    assert (status, code) == (401, "token_required")
    message = response.json()["error"]["message"]
    assert "the Authorization header was ignored" in message and "Bearer <token>" in message
    assert reader not in message


def test_a_token_in_the_query_only_where_no_header_can_go() -> None:
    router = app(TOKEN_MODE)
    reader = mint(SECRET, target="acme", scope="read")
    assert send(router, "POST", f"/capnweb?token={reader}")[0] == 200
    assert send(router, "GET", f"/ws?token={reader}", {"upgrade": "websocket"})[0] == 200
    status, code, response = send(router, "GET", f"/items?token={reader}")
    assert (status, code) == (401, "token_required")
    assert "Authorization: Bearer" in response.json()["error"]["message"]
    assert reader not in response.json()["error"]["message"]  # an answer never echoes a token
    assert send(router, "GET", f"/ws?token={reader}")[:2] == (401, "token_required")  # no upgrade


def test_each_caller_has_its_own_request_budget_with_retry_after() -> None:
    now = [0.0]
    router = app(TOKEN_MODE, requests=Rate(3, 60.0), clock=lambda: now[0])
    token = mint(SECRET, target="acme", scope="admin")
    narrower = attenuate(token, scope="read")
    statuses = [send(router, "GET", "/items", bearer(t))[0] for t in (token, narrower, token)]
    assert statuses == [200, 200, 200]
    now[0] = 15.0
    status, code, response = send(router, "GET", "/items", bearer(narrower))  # attenuations share the budget
    assert (status, code) == (429, "rate_limited")
    assert response.headers["retry-after"] == "45" and response.json()["error"]["retry_after"] == 45
    assert send(router, "GET", "/items", bearer(mint(SECRET, target="acme", scope="read")))[0] == 200
    assert send(router, "GET", "/nouns")[:2] == (401, "token_required")  # refusals spend nothing
    for _ in range(3):
        assert send(router, "GET", "/health", {"cf-connecting-ip": "192.0.2.1"})[0] == 200
    assert send(router, "GET", "/health", {"cf-connecting-ip": "192.0.2.1"})[0] == 429
    assert send(router, "GET", "/health", {"cf-connecting-ip": "192.0.2.2"})[0] == 200
    assert client_key(HttpRequest("GET", "http://a.localhost/", {"cf-connecting-ip": "2001:DB8::0:1"})) == (
        "client:2001:db8::1"
    )
    longest = "ffff:" * 7 + "ffff"
    keys = [
        client_key(HttpRequest("GET", "http://a.localhost/", {"cf-connecting-ip": address}))
        for address in (longest, "x" * 5000, "not an address")
    ]
    assert all(len(key) <= MAX_KEY_LENGTH for key in keys) and len(set(keys)) == 3
    assert len(f"token:{verify(token, SECRET).root}") <= MAX_KEY_LENGTH
    now[0] = 60.0  # the first request left the window
    assert send(router, "GET", "/items", bearer(token))[0] == 200


def test_start_up_says_how_the_object_is_reached(caplog: pytest.LogCaptureFixture) -> None:
    access_module._announced.clear()
    limits = Limits(Rate(1, 1.0), Rate(1, 1.0))
    with caplog.at_level(logging.INFO, logger="dotdo.access"):
        for _ in range(3):  # once per class and isolate
            AccessControl(AccessSettings(environment="development"), None, limits).announce("Shop")
        AccessControl(AccessSettings(environment="production"), None, limits).announce("Shop")
        AccessControl(AccessSettings(secret="short", operator_token=OPERATOR), None, limits).announce("Shop")
        AccessControl(AccessSettings(secret=SECRET, operator_token=OPERATOR), None, limits).announce("Long")
    records = [(r.levelname, r.getMessage()) for r in caplog.records]
    assert len(records) == 3
    assert records[0][0] == "WARNING" and records[0][1].startswith("OPEN ACCESS: Shop answers anyone")
    assert (
        records[1][0] == "ERROR"
        and "auth_not_configured" in records[1][1]
        and "DOTDO_SECRET" in records[1][1]
    )
    assert records[2][0] == "WARNING" and "DOTDO_SECRET of Shop is shorter than 32" in records[2][1]
    assert "short" not in records[2][1].replace("shorter", "")  # the secret itself is never logged
    access_module._announced.clear()


def test_the_capability_an_rpc_call_was_authorized_with_is_its_caller() -> None:
    def authorized(token: str, scope: str) -> Any:
        capability = verify(token, "s" * 32)
        access = Access(capability, "acme", key="k")

        def call() -> Any:
            access.authorize("decide_approval", scope)
            return caller()

        return capability, contextvars.copy_context().run(call)

    approver, seen = authorized(mint("s" * 32, target="acme", scope="approve", sub="alice"), "approve")
    assert seen is approver and seen.sub == "alice"
    assert caller() is None  # nothing authorized this test's own context
    with pytest.raises(Forbidden) as refused:  # approve ranks above write
        authorized(mint("s" * 32, target="acme", scope="write", sub="app"), "approve")
    assert refused.value.code == "token_scope"
    admin, seen = authorized(mint("s" * 32, target="acme", scope="admin"), "approve")
    assert seen is admin
