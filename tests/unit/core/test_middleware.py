from __future__ import annotations

import asyncio
import logging

import pytest

from dotdo import (
    CorsPolicy,
    HttpRequest,
    HttpResponse,
    Router,
    bearer_auth,
    cors,
    json_response,
    request_logger,
)


def app(*middleware):  # type: ignore[no-untyped-def]
    router = Router()
    for m in middleware:
        router.use(m)

    @router.get("/health")
    async def health(request: HttpRequest) -> HttpResponse:
        return json_response({"ok": True})

    @router.get("/secret")
    async def secret(request: HttpRequest) -> HttpResponse:
        return json_response({"auth": request.state.get("authenticated", False)})

    return router


def call(router: Router, method: str, path: str, headers: dict[str, str] | None = None) -> HttpResponse:
    return asyncio.run(router.handle(HttpRequest(method, f"http://t.localhost{path}", headers=headers or {})))


def test_policy_from_env() -> None:
    policy = CorsPolicy.from_env(" https://a.example.com/, https://B.example.com ", "production")
    assert policy.allows("https://a.example.com")
    assert policy.allows("https://b.example.com")
    assert not policy.allows("http://localhost:3000")
    dev = CorsPolicy.from_env("", "development")
    assert dev.allows("http://localhost:3000") and dev.allows("http://app.localhost:8787")
    assert dev.allows("http://127.0.0.1:5173")
    assert not dev.allows("http://localhost.evil.com")
    assert not dev.allows("https://example.com")


def test_wildcard_origin_never_with_credentials() -> None:
    router = app(cors(CorsPolicy.from_env("*", "production")))
    response = call(router, "GET", "/health", {"origin": "https://x.example"})
    assert response.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in response.headers
    assert response.headers["vary"] == "Origin"


def test_preflight_allowed_and_denied() -> None:
    router = app(cors(CorsPolicy.from_env("https://a.example.com", "production")))
    ok = call(router, "OPTIONS", "/secret", {
        "origin": "https://a.example.com",
        "access-control-request-method": "GET",
        "access-control-request-headers": "authorization",
    })  # fmt: skip
    assert ok.status == 204
    assert ok.headers["access-control-allow-origin"] == "https://a.example.com"
    assert ok.headers["access-control-allow-headers"] == "authorization"
    assert ok.headers["access-control-allow-credentials"] == "true"
    denied = call(
        router,
        "OPTIONS",
        "/secret",
        {"origin": "https://b.example.com", "access-control-request-method": "GET"},
    )
    assert denied.status == 403 and denied.json()["error"]["code"] == "cors_origin_denied"


def test_bearer_auth() -> None:
    router = app(bearer_auth("s3cret"))
    assert call(router, "GET", "/health").status == 200
    missing = call(router, "GET", "/secret")
    assert missing.status == 401 and missing.headers["www-authenticate"].startswith("Bearer")
    assert call(router, "GET", "/secret", {"authorization": "Bearer wrong"}).status == 401
    assert call(router, "GET", "/secret", {"authorization": "Basic s3cret"}).status == 401
    assert call(router, "GET", "/secret", {"authorization": "Bearer s3cret"}).json() == {"auth": True}


def test_bearer_auth_exempts_paths_as_the_router_matches_them() -> None:
    router = app(bearer_auth("s3cret", exempt=("/health", "/a/b")))
    assert call(router, "GET", "/%68ealth").status == 200  # %68 is "h": the same path
    assert call(router, "GET", "/health/").status == 200
    assert call(router, "GET", "/secret%2F").status == 401
    assert call(router, "GET", "/a%2Fb").status == 401  # one segment "a/b", not the exempt /a/b
    refused = call(router, "GET", "/%FF")
    assert refused.status == 401  # a path that does not decode is never exempt
    invalid = call(router, "GET", "/%FF", {"authorization": "Bearer s3cret"})
    assert (invalid.status, invalid.json()["error"]["code"]) == (400, "invalid_path")


def test_request_logger() -> None:
    lines: list[str] = []
    call(app(request_logger(lines.append)), "GET", "/health?x=1")
    assert len(lines) == 1 and lines[0].startswith("GET /health 200 ")


def test_the_request_log_never_holds_a_token(caplog: pytest.LogCaptureFixture) -> None:
    token = "dotdo1.eyJzZWNyZXQiOjF9.c2lnbmF0dXJl"
    with caplog.at_level(logging.INFO, logger="dotdo.requests"):
        call(app(request_logger()), "GET", f"/health?token={token}&x=1", {"authorization": f"Bearer {token}"})
    assert len(caplog.records) == 1 and caplog.records[0].getMessage().startswith("GET /health 200 ")
    assert "token" not in caplog.text and "eyJ" not in caplog.text


@pytest.mark.filterwarnings("ignore:coroutine .* was never awaited:RuntimeWarning")
def test_a_call_next_not_awaited_is_named_with_its_fix(caplog: pytest.LogCaptureFixture) -> None:
    """`response = call_next(request)` then `response.headers[...]` raised `AttributeError:
    'coroutine' object has no attribute 'headers'` with no hint; the 500 and its log line say
    to await it."""

    async def stamp(request: HttpRequest, call_next):  # type: ignore[no-untyped-def]
        response = call_next(request)
        response.headers["x-desk"] = "1"
        return response

    router = Router(development=True)
    router.use(stamp)

    @router.get("/queue")
    async def queue(request: HttpRequest) -> HttpResponse:
        return json_response([])

    with caplog.at_level(logging.ERROR, logger="dotdo.http"):
        response = asyncio.run(router.handle(HttpRequest("GET", "http://t.localhost/queue")))
    assert response.status == 500
    fix = "`response = await call_next(request)`"
    assert fix in response.json()["error"]["message"]
    assert any(fix in record.getMessage() for record in caplog.records)
