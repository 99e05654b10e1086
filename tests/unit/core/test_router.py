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


def test_errors_become_json_without_details(capsys: pytest.CaptureFixture[str]) -> None:
    router = make_router()
    response = run(router, "GET", "/boom")
    assert response.status == 500
    assert response.json() == {"error": {"code": "internal_error", "message": "Internal server error"}}
    assert "secret detail" in capsys.readouterr().err
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


def test_an_encoded_slash_stays_in_its_segment() -> None:
    router = make_router()
    assert run(router, "GET", "/items/a%2Fb").json()["id"] == "a/b"
    assert run(router, "GET", "/items/a/b").json()["error"]["code"] == "route_not_found"
    # the wildcard's rest is as sent, so a %2F and a / stay apart
    assert run(router, "GET", "/files/a%2Fb/c").json()["rest"] == "a%2Fb/c"
    assert run(router, "GET", "/files/a/b/c").json()["rest"] == "a/b/c"


@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("/items/%FE", "invalid_path"),
        ("/items/%FF", "invalid_path"),
        ("/items/%G1", "invalid_path"),
        ("/nothing/%FF", "invalid_path"),  # before routing: not a 404
        ("/items/1?q=%FF", "invalid_query"),
        ("/items/1?unread=%FE", "invalid_query"),  # refused even when the handler never reads it
        ("/files/x?q=%", "invalid_query"),
    ],
)
def test_undecodable_paths_and_queries_are_json_400s_before_any_handler(path: str, code: str) -> None:
    router = make_router()
    reached: list[str] = []

    async def spy(request: HttpRequest, call_next: Handler) -> HttpResponse:
        response = await call_next(request)
        reached.append(str(response.status))
        return response

    router.use(spy)
    response = run(router, "GET", path)
    assert (response.status, response.json()["error"]["code"]) == (400, code)
    assert reached == ["400"]  # middleware saw the error response


def test_resolve_and_match_decode_strictly() -> None:
    router = make_router()
    _, params = router.resolve("GET", "/items/caf%C3%A9")
    assert params == {"id": "café"}
    with pytest.raises(BadRequest) as refused:
        router.resolve("GET", "/items/%FE")
    assert refused.value.code == "invalid_path"
    route = router.routes[0]
    assert route.match("/items/%41") == {"id": "A"}
    with pytest.raises(BadRequest):
        route.match("/items/%FF")
