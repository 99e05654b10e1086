from __future__ import annotations

import asyncio

import pytest

from dotdo import HttpRequest, HttpResponse, NotFound, Router, json_response
from dotdo.errors import BadRequest
from dotdo.types import Handler


def run(router: Router, method: str, path: str, **kwargs: object) -> HttpResponse:
    return asyncio.run(router.handle(HttpRequest(method, f"http://t.localhost{path}", **kwargs)))  # type: ignore[arg-type]


def make_router() -> Router:
    router = Router()

    @router.get("/items/:id")
    async def item(request: HttpRequest) -> HttpResponse:
        return json_response({"id": request.params["id"], "q": request.query("q")})

    @router.post("/items")
    async def create(request: HttpRequest) -> HttpResponse:
        return json_response(request.json(), status=201)

    @router.all("/files/*")
    async def files(request: HttpRequest) -> HttpResponse:
        return json_response({"rest": request.params["*"], "method": request.method})

    @router.get("/boom")
    async def boom(request: HttpRequest) -> HttpResponse:
        raise RuntimeError("secret detail")

    @router.get("/missing")
    async def missing(request: HttpRequest) -> HttpResponse:
        raise NotFound("nothing here")

    return router


def test_path_params_are_decoded_per_segment() -> None:
    body = run(make_router(), "GET", "/items/a%2Fb?q=1").json()
    assert body == {"id": "a/b", "q": "1"}


def test_wildcard_matches_rest_including_empty() -> None:
    router = make_router()
    assert run(router, "PUT", "/files/x/y/z").json() == {"rest": "x/y/z", "method": "PUT"}
    assert run(router, "GET", "/files").json()["rest"] == ""


def test_404_and_405_are_json() -> None:
    router = make_router()
    missing = run(router, "GET", "/nothing")
    assert missing.status == 404 and missing.json()["error"]["code"] == "route_not_found"
    wrong = run(router, "DELETE", "/items/1")
    assert wrong.status == 405
    assert wrong.headers["allow"] == "GET, HEAD"
    assert run(router, "HEAD", "/items/1").status == 200


def test_errors_become_json_without_details(caplog: pytest.LogCaptureFixture) -> None:
    router = make_router()
    response = run(router, "GET", "/boom")
    assert response.status == 500
    assert response.json() == {"error": {"code": "internal_error", "message": "Internal server error"}}
    [record] = [r for r in caplog.records if r.name == "dotdo.http"]
    assert record.levelname == "ERROR" and record.getMessage() == "unhandled error in GET /boom"
    assert "secret detail" in caplog.text  # the traceback, in the log only
    assert run(router, "GET", "/missing").json()["error"] == {"code": "not_found", "message": "nothing here"}


def test_bad_json_body_is_400() -> None:
    response = run(make_router(), "POST", "/items", body=b"{nope")
    assert response.status == 400 and response.json()["error"]["code"] == "invalid_json"


def test_middleware_runs_outermost_first_and_sees_error_responses() -> None:
    router = make_router()
    seen: list[str] = []

    def tagging(name: str):  # type: ignore[no-untyped-def]
        async def middleware(request: HttpRequest, call_next: Handler) -> HttpResponse:
            seen.append(f"{name}>")
            response = await call_next(request)
            response.headers[f"x-{name}"] = "1"
            seen.append(f"<{name}")
            return response

        return middleware

    router.use(tagging("outer"))
    router.use(tagging("inner"))
    response = run(router, "GET", "/boom")
    assert response.status == 500
    assert response.headers["x-outer"] == response.headers["x-inner"] == "1"
    assert seen == ["outer>", "inner>", "<inner", "<outer"]


def test_middleware_errors_are_handled() -> None:
    router = make_router()

    async def reject(request: HttpRequest, call_next: Handler) -> HttpResponse:
        raise BadRequest("no", code="rejected")

    router.use(reject)
    assert run(router, "GET", "/items/1").json()["error"]["code"] == "rejected"


@pytest.mark.parametrize("pattern", ["items", "/a/*/b", "/a/:1x", "/a/:"])
def test_invalid_patterns_are_refused(pattern: str) -> None:
    with pytest.raises(ValueError):
        Router().get(pattern)


def test_constrained_parameters_only_match_their_pattern() -> None:
    router = Router()

    @router.get("/:noun{[A-Z].*}")
    async def noun(request: HttpRequest) -> HttpResponse:
        return json_response({"noun": request.params["noun"]})

    _, params = router.resolve("GET", "/Customer")
    assert params == {"noun": "Customer"}
    with pytest.raises(NotFound):
        router.resolve("GET", "/customer")
    with pytest.raises(ValueError, match="Invalid route pattern"):
        router.get("/:bad{[}")
