"""What the router does with what a handler, a middleware or an error handler answers
(`dotdo.core.answers`): a middleware's failure is answered where it happens, so the
middleware outside it (CORS) treats that 500 as it treats a handler's."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from dotdo import HttpRequest, HttpResponse, Router, json_response
from dotdo.core.middleware import CorsPolicy, cors
from dotdo.errors import BadRequest
from dotdo.types import Handler

ORIGIN = "https://a.example.com"


def run(router: Router, path: str) -> HttpResponse:
    request = HttpRequest("GET", f"http://t.localhost{path}", {"origin": ORIGIN})
    return asyncio.run(router.handle(request))


def cors_router(*middleware: Any) -> Router:
    router = Router(development=True)
    router.use(cors(CorsPolicy.from_env(ORIGIN, "development")))
    for each in middleware:
        router.use(each)
    return router


def forgetful(request: HttpRequest, call_next: Handler) -> Any:
    return None


async def raising(request: HttpRequest, call_next: Handler) -> HttpResponse:
    raise RuntimeError("middleware broke")


async def refusing(request: HttpRequest, call_next: Handler) -> HttpResponse:
    raise BadRequest("no", code="rejected")


@pytest.mark.parametrize(("middleware", "status"), [(forgetful, 500), (raising, 500), (refusing, 400)])
def test_a_failing_middlewares_answer_passes_through_cors(middleware: Any, status: int) -> None:
    """A middleware's failure went past CORS, answered after the chain: the 500 (or the
    middleware's 4xx) had no CORS headers, and a browser saw a CORS failure instead."""
    seen: list[int] = []

    async def outer(request: HttpRequest, call_next: Handler) -> HttpResponse:
        response = await call_next(request)
        seen.append(response.status)
        return response

    router = cors_router(outer, middleware)
    router.get("/x")(lambda request: json_response({}))
    response = run(router, "/x")
    assert response.status == status and seen == [status]
    assert response.headers["access-control-allow-origin"] == ORIGIN


def test_the_outermost_middlewares_failure_is_answered_too() -> None:
    router = Router()
    router.use(raising)
    response = run(router, "/x")
    assert response.status == 500 and response.json()["error"]["code"] == "internal_error"
