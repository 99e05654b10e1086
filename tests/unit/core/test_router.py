from __future__ import annotations

import asyncio
import gc
import json
import warnings
from collections.abc import Callable
from functools import partial
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dotdo import HttpRequest, HttpResponse, NotFound, Router, json_response
from dotdo.core.http import decode_component, rest_of_path, split_path
from dotdo.core.middleware import CorsPolicy, cors
from dotdo.core.router import Route, _method_fit
from dotdo.errors import BadRequest, HttpError, MethodNotAllowed
from dotdo.types import Handler


def run(router: Router, method: str, path: str, **kwargs: object) -> HttpResponse:
    return asyncio.run(router.handle(HttpRequest(method, f"http://t.localhost{path}", **kwargs)))  # type: ignore[arg-type]


def make_router(development: bool = False) -> Router:
    router = Router(development=development)

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


def test_in_development_a_500_names_the_exception() -> None:
    """`await request.json()` (a plain call) answered a bare "Internal server error" to a
    developer at the client; with ENVIRONMENT=development the 500 names the exception."""
    answer = run(make_router(development=True), "GET", "/boom").json()["error"]
    assert answer["code"] == "internal_error"
    assert answer["message"].startswith("Internal server error: RuntimeError: secret detail (ENVIRONMENT=")
    assert "Traceback" not in answer["message"]
    assert run(make_router(development=True), "GET", "/missing").json()["error"]["message"] == "nothing here"


def test_an_awaited_request_json_says_to_drop_the_await(caplog: pytest.LogCaptureFixture) -> None:
    """`await request.json()`, Starlette's habit: dotdo's `json()` returns the value (the
    body is read before the handler runs), so the `await` raises a bare TypeError. The 500
    names it under development, and the log in any environment, with the fix."""

    def awaiting(router: Router) -> Router:
        @router.post("/starlette")
        async def starlette(request: HttpRequest) -> HttpResponse:
            return json_response(await request.json())

        @router.post("/text")
        async def text(request: HttpRequest) -> HttpResponse:
            return json_response(await request.text())

        return router

    for path in ("/starlette", "/text"):
        answer = run(awaiting(make_router(development=True)), "POST", path, body=b'{"a": 1}')
        message = answer.json()["error"]["message"]
        assert answer.status == 500 and message.startswith("Internal server error: TypeError: ")
        assert "`request.json()` and `request.text()` return the body at once" in message
        assert "drop the `await`" in message
    assert run(awaiting(make_router()), "POST", "/starlette", body=b"{}").json()["error"] == {
        "code": "internal_error",
        "message": "Internal server error",  # production: nothing of the app's code
    }
    logged = [r.getMessage() for r in caplog.records if r.name == "dotdo.http"]
    assert len(logged) == 3 and all("drop the `await`" in line for line in logged)
    # Another TypeError gets no such hint.
    assert "await" not in run(make_router(development=True), "GET", "/boom").json()["error"]["message"]


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


class Shop:
    async def bad_dict(self, request: HttpRequest) -> Any:
        return {"oops": True}

    async def no_return(self, request: HttpRequest) -> Any:
        json_response({"forgot": "return"})

    def plain(self, request: HttpRequest) -> HttpResponse:
        return json_response({"plain": True})


@pytest.mark.parametrize(
    ("method", "said"),
    [
        ("bad_dict", "handler Shop.bad_dict returned a dict, not an HttpResponse: return json_response(...)"),
        ("no_return", "handler Shop.no_return returned None (a missing return?), not an HttpResponse"),
    ],
)
def test_a_handler_answering_no_response_is_named_where_the_router_receives_it(
    method: str, said: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A handler answering a dict failed inside CORS (`'dict' object has no attribute
    'headers'`), a traceback naming none of the app's code; every middleware now sees a
    proper 500, which names the handler in development only."""
    shop = Shop()
    for development in (True, False):
        router = Router(development=development)
        router.use(cors(CorsPolicy.from_env("https://a.example.com", "development")))
        router.get("/x")(getattr(shop, method))
        response = run(router, "GET", "/x", headers={"origin": "https://a.example.com"})
        assert response.status == 500
        assert response.headers["access-control-allow-origin"] == "https://a.example.com"
        message = response.json()["error"]["message"]
        if development:
            assert message.startswith(f"Internal server error: TypeError: {said}")
        else:
            assert message == "Internal server error"  # no name of the app's in production
    assert said in caplog.text


def test_a_plain_function_answering_a_response_is_taken() -> None:
    router = Router()
    router.get("/plain")(Shop().plain)  # type: ignore[arg-type]
    assert run(router, "GET", "/plain").json() == {"plain": True}


def test_a_middleware_answering_nothing_is_named(caplog: pytest.LogCaptureFixture) -> None:
    router = make_router(development=True)
    seen: list[int] = []

    async def outer(request: HttpRequest, call_next: Handler) -> HttpResponse:
        response = await call_next(request)
        seen.append(response.status)
        return response

    async def forgetful(request: HttpRequest, call_next: Handler) -> Any:
        await call_next(request)  # no return

    router.use(outer)
    router.use(forgetful)
    response = run(router, "GET", "/items/1")
    assert response.status == 500 and seen == [500]  # answered at its link: `outer` sees the 500
    assert (
        "TypeError: middleware test_a_middleware_answering_nothing_is_named.<locals>.forgetful"
        in (response.json()["error"]["message"])
    )
    assert "returned None (a missing return?), not an HttpResponse: return await call_next(request)" in (
        caplog.text
    )


def test_a_middleware_answering_call_next_unawaited_is_closed(caplog: pytest.LogCaptureFixture) -> None:
    """`return call_next(request)` in an `async def` middleware answers a coroutine: the 500
    names the missing await, and the coroutine is closed, so Python's own "never awaited"
    warning (naming dotdo's frames) does not follow it."""
    router = make_router(development=True)

    async def hasty(request: HttpRequest, call_next: Handler) -> Any:
        return call_next(request)  # no await

    router.use(hasty)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        response = run(router, "GET", "/items/1")
        gc.collect()
    assert response.status == 500
    said = "returned a coroutine (a missing await?), not an HttpResponse: return await call_next(request)"
    assert said in (caplog.text)
    assert [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)] == []


def test_an_error_handler_answering_no_response_falls_back_to_a_500() -> None:
    """`router.handle` never raises, even when a replaced error handler fails."""
    router = make_router(development=True)

    async def answer_dict(error: Exception, request: HttpRequest) -> Any:
        return {"error": str(error)}

    router.on_error(answer_dict)
    response = run(router, "GET", "/boom")
    assert response.status == 500
    assert "TypeError: error handler " in response.json()["error"]["message"]
    assert "answer_dict returned a dict, not an HttpResponse" in response.json()["error"]["message"]

    async def raising(error: Exception, request: HttpRequest) -> HttpResponse:
        raise ValueError("handler broke")

    router.on_error(raising)
    assert "ValueError: handler broke" in run(router, "GET", "/boom").json()["error"]["message"]


@pytest.mark.parametrize("pattern", ["items", "/a/*/b", "/a/:1x", "/a/:"])
def test_invalid_patterns_are_refused(pattern: str) -> None:
    with pytest.raises(ValueError):
        Router().get(pattern)


@pytest.mark.parametrize(
    ("pattern", "name"),
    [
        ("/agents/{agent_id}/tickets", "agent_id"),  # FastAPI, Starlette
        ("/files/{path:path}", "path"),
        ("/agents/<agent_id>", "agent_id"),  # Flask, Django
        ("/items/<int:item_id>", "item_id"),
        ("/files/{name}.txt", "name"),
    ],
)
def test_another_frameworks_parameter_is_refused_naming_dotdos(pattern: str, name: str) -> None:
    # Taken as text it matched only `/agents/%7Bagent_id%7D/tickets`, and the real paths 404ed.
    with pytest.raises(ValueError, match=f"route parameters are written ':{name}'"):
        Router().get(pattern)


@pytest.mark.parametrize("pattern", ["/a/{", "/a/}", "/a/{}", "/a/<", "/a/x<y", "/a/:id{[0-9]{2}}"])
def test_braces_that_name_no_parameter_stay_literal(pattern: str) -> None:
    Router().get(pattern)(named("x"))


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


# -- precedence: the most specific route wins (ADR 0011) ---------------------------


def named(name: str) -> Handler:
    async def handler(request: HttpRequest) -> HttpResponse:
        return json_response({"route": name, "params": request.params})

    return handler


def served_by(router: Router, method: str, path: str) -> str:
    response = run(router, method, path)
    assert response.status == 200, response.json()
    route: str = response.json()["route"]
    return route


def framework_routes(router: Router) -> None:
    """The shape of DOCore's and DOSemantic's routes: literals beside catch-alls."""
    router.post("/state/transaction")(named("transaction"))
    router.get("/state/:key")(named("state"))
    router.get("/nouns")(named("nouns"))
    router.get("/:noun{[A-Z].*}")(named("list"))
    router.get("/:noun{[A-Z].*}/:id")(named("thing"))
    router.delete("/:noun{[A-Z].*}/:id")(named("delete"))
    router.get("/:noun{[A-Z].*}/:id/:verb{[a-z].*}")(named("related"))


@pytest.mark.parametrize("app_first", [True, False])
def test_app_routes_win_over_framework_catch_alls_before_or_after_super(app_first: bool) -> None:
    router = Router()
    if not app_first:
        framework_routes(router)
    router.get("/Customer/stats")(named("app-stats"))
    router.get("/Customer/:id/summary")(named("app-summary"))
    router.get("/:slug")(named("app-slug"))
    if app_first:
        framework_routes(router)
    assert served_by(router, "GET", "/Customer/stats") == "app-stats"
    assert served_by(router, "GET", "/Customer/abc/summary") == "app-summary"
    assert served_by(router, "GET", "/Customer/abc") == "thing"
    assert served_by(router, "GET", "/Customer/abc/knows") == "related"
    # A plain parameter does not take what a constrained one or a literal claims.
    assert served_by(router, "GET", "/Customer") == "list"
    assert served_by(router, "GET", "/nouns") == "nouns"
    assert served_by(router, "GET", "/about") == "app-slug"
    # Another method falls through to the route that has it.
    assert served_by(router, "DELETE", "/Customer/stats") == "delete"


def test_literal_segments_beat_parameters_in_any_registration_order() -> None:
    router = Router()
    router.post("/state/:key")(named("param"))
    router.post("/state/transaction")(named("literal"))
    assert served_by(router, "POST", "/state/transaction") == "literal"
    assert served_by(router, "POST", "/state/other") == "param"


@pytest.mark.parametrize(
    ("path", "winner", "patterns"),
    [
        ("/a/b", "/a/:y", ["/:x/b", "/a/:y"]),  # the leftmost difference decides
        ("/x/7", "/x/:n{[0-9]+}", ["/x/:name", "/x/:n{[0-9]+}"]),  # constrained beats plain
        ("/x/y", "/x/:name", ["/x/*", "/x/:name"]),  # a parameter beats the wildcard
        ("/files", "/files", ["/files/*", "/files"]),  # an empty wildcard loses to the exact path
        ("/a/b/c", "/a/b/*", ["/a/*", "/a/b/*", "/*"]),  # a longer prefix beats a shorter one
        ("/a/b", "/a/b", ["/:x/:y", "/a/*", "/a/b", "/:x{a}/b"]),
    ],
)
def test_the_more_specific_pattern_wins(path: str, winner: str, patterns: list[str]) -> None:
    for order in (patterns, patterns[::-1]):
        router = Router()
        for pattern in order:
            router.get(pattern)(named(pattern))
        assert served_by(router, "GET", path) == winner


def test_same_method_and_pattern_registered_later_replaces_the_earlier() -> None:
    router = Router()
    framework_routes(router)
    count = len(router.routes)
    router.get("/:noun{[A-Z].*}/:id")(named("app-thing"))
    router.get("/state/:key/")(named("app-state"))  # the same pattern, spelled with a trailing slash
    assert len(router.routes) == count
    assert served_by(router, "GET", "/Customer/abc") == "app-thing"
    assert served_by(router, "GET", "/state/k") == "app-state"
    assert served_by(router, "DELETE", "/Customer/abc") == "delete"  # other methods stay


def test_equally_specific_patterns_go_to_the_later_registration() -> None:
    router = Router()
    router.get("/:noun{[A-Z].*}/:id")(named("framework"))
    router.get("/:kind{[A-Z][a-z]+}/:key")(named("app"))
    assert served_by(router, "GET", "/Customer/abc") == "app"
    assert served_by(router, "GET", "/CUSTOMER/abc") == "framework"  # only one matches
    assert len(router.routes) == 2


def test_a_route_for_the_method_beats_one_for_every_method_on_the_same_pattern() -> None:
    router = Router()
    router.get("/files/*")(named("get"))
    router.all("/files/*")(named("all"))
    assert served_by(router, "GET", "/files/a") == "get"
    assert served_by(router, "PUT", "/files/a") == "all"
    # The path decides first: a more specific pattern for every method beats a GET route.
    router.all("/files/special")(named("special"))
    assert served_by(router, "GET", "/files/special") == "special"


def test_head_is_served_by_the_most_specific_get_route() -> None:
    router = Router()
    router.all("/:noun{[A-Z].*}/:id")(named("any-method"))
    router.get("/Customer/stats")(named("app-stats"))
    assert served_by(router, "HEAD", "/Customer/stats") == "app-stats"
    router.route("HEAD", "/Customer/stats")(named("head"))
    assert served_by(router, "HEAD", "/Customer/stats") == "head"
    assert served_by(router, "GET", "/Customer/stats") == "app-stats"


def test_405_lists_the_methods_of_every_route_matching_the_path() -> None:
    router = Router()
    framework_routes(router)
    router.get("/Customer/stats")(named("app-stats"))
    router.put("/Customer/:id")(named("app-put"))
    response = run(router, "POST", "/Customer/stats")
    assert response.status == 405
    assert response.json()["error"]["code"] == "method_not_allowed"
    assert response.headers["allow"] == "DELETE, GET, HEAD, PUT"
    assert run(router, "POST", "/nowhere/at/all/here").status == 404


# Random route sets over a small alphabet, so that patterns overlap often.
SEGMENTS = st.sampled_from(["a", "b", ":p", ":c{[a-z]}"])
PATTERNS = st.builds(
    lambda fixed, wildcard: "/" + "/".join([*fixed, *(["*"] if wildcard else [])]),
    st.lists(SEGMENTS, max_size=3),
    st.booleans(),
)
PATHS = st.lists(st.sampled_from(["a", "b", "c", "B"]), max_size=4).map(lambda parts: "/" + "/".join(parts))


def specificity(pattern: str, parts: list[str]) -> tuple[int, ...] | None:
    """The test's own statement of the rule: per path segment, a literal 3, a constrained
    parameter 2, a plain one 1, the wildcard 0; then 1 when no wildcard was needed. None when
    the pattern does not match."""
    segments = [s for s in pattern.split("/") if s]
    wildcard = bool(segments) and segments[-1] == "*"
    fixed = segments[:-1] if wildcard else segments
    if len(parts) < len(fixed) or (not wildcard and len(parts) != len(fixed)):
        return None
    ranks: list[int] = []
    for segment, part in zip(fixed, parts, strict=False):
        if segment == ":c{[a-z]}":
            if len(part) != 1 or not part.islower():
                return None
            ranks.append(2)
        elif segment == ":p":
            ranks.append(1)
        elif segment == part:
            ranks.append(3)
        else:
            return None
    return (*ranks, *[0] * (len(parts) - len(fixed)), 0 if wildcard else 1)


@given(st.lists(PATTERNS, min_size=1, max_size=8, unique=True), PATHS, st.data())
def test_the_most_specific_route_wins_whatever_the_registration_order(
    patterns: list[str], path: str, data: st.DataObject
) -> None:
    parts = [p for p in path.split("/") if p]
    scores = {p: s for p in patterns if (s := specificity(p, parts)) is not None}
    for order in (patterns, data.draw(st.permutations(patterns))):
        router = Router()
        for pattern in order:
            router.get(pattern)(named(pattern))
        if not scores:
            with pytest.raises(NotFound):
                router.resolve("GET", path)
            continue
        handler, _ = router.resolve("GET", path)
        response = asyncio.run(handler(HttpRequest("GET", f"http://t.localhost{path}")))
        assert response.json()["route"] == max(scores, key=lambda p: scores[p])


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


def test_a_route_carries_its_scope_closed_by_default() -> None:
    router = Router()
    handler = make_router().routes[0].handler
    for method in ("GET", "HEAD", "OPTIONS"):
        router.route(method, f"/{method.lower()}")(handler)
    for method in ("POST", "PUT", "PATCH", "DELETE", "*"):
        router.route(method, f"/{method.lower().strip('*') or 'all'}")(handler)
    router.get("/open", scope="public")(handler)
    router.post("/search", scope="read")(handler)
    router.post("/calls", scope="rpc", query_token=True)(handler)
    scopes = {(route.method, route.pattern): (route.scope, route.query_token) for route in router.routes}
    assert {scopes[(m, f"/{m.lower()}")] for m in ("GET", "HEAD", "OPTIONS")} == {("read", False)}
    assert {scopes[(m, f"/{m.lower()}")][0] for m in ("POST", "PUT", "PATCH", "DELETE")} == {"write"}
    assert scopes[("*", "/all")] == ("write", False)  # all() serves unsafe methods too
    assert scopes[("GET", "/open")] == ("public", False) and scopes[("POST", "/search")] == ("read", False)
    assert scopes[("POST", "/calls")] == ("rpc", True)
    for bad in ("Public", "owner", ""):
        with pytest.raises(ValueError, match="scope"):
            router.get("/x", scope=bad)


def test_the_guard_sees_the_chosen_route_before_its_handler_and_none_before_a_404() -> None:
    seen: list[tuple[str, str | None]] = []
    router = make_router()

    def guard(request: HttpRequest, route: object) -> None:
        seen.append((request.path, getattr(route, "pattern", None)))
        if request.header("x-refuse"):
            raise NotFound("refused by the guard", code="refused")

    router.guard = guard
    assert run(router, "GET", "/items/7").status == 200
    assert run(router, "GET", "/nowhere").status == 404
    assert run(router, "DELETE", "/items/7").status == 405
    refused = run(router, "GET", "/boom", headers={"x-refuse": "1"})
    assert refused.json()["error"]["code"] == "refused"  # the handler (which would 500) never ran
    assert seen == [("/items/7", "/items/:id"), ("/nowhere", None), ("/items/7", None), ("/boom", "/boom")]


def test_routes_and_middleware_added_after_a_request_count() -> None:
    """The router keeps its route index and middleware chain between requests (built once,
    not per request); a route or middleware added later, or a route list changed in place,
    still counts from the next request on."""
    router = make_router()
    assert run(router, "GET", "/late/1").status == 404
    assert run(router, "GET", "/files/a/b").json()["rest"] == "a/b"

    @router.get("/late/:n")
    async def late(request: HttpRequest) -> HttpResponse:
        return json_response({"n": request.params["n"]})

    assert run(router, "GET", "/late/1").json() == {"n": "1"}
    router.routes.pop()  # changed in place, not through route()
    assert run(router, "GET", "/late/1").status == 404

    async def tag(request: HttpRequest, call_next: Handler) -> HttpResponse:
        response = await call_next(request)
        response.headers["x-tag"] = "on"
        return response

    router.use(tag)
    assert run(router, "GET", "/items/7").headers["x-tag"] == "on"


def scan(router: Router, method: str, raw_path: str) -> tuple[Handler, dict[str, str]]:
    """The rule of ADR 0011 stated as a plain scan: every route tried in registration order,
    the greatest (specificity, method fit, registration) of those matching and serving the
    method wins; else 405 with every matching route's method, else 404."""
    raw, parts = split_path(raw_path)
    allowed: list[str] = []
    best: tuple[tuple[tuple[int, ...], int, int], Any, dict[str, str]] | None = None
    for index, route in enumerate(router.routes):
        params = route.match_parts(parts, raw)
        if params is None:
            continue
        fit = _method_fit(route.method, method)
        if fit is None:
            allowed.append(route.method)
        elif best is None or (route.specificity, fit, index) > best[0]:
            best = ((route.specificity, fit, index), route, params)
    if best is not None:
        return best[1].handler, best[2]
    path = decode_component(raw_path)
    if allowed:
        names = sorted(set(allowed) | ({"HEAD"} if "GET" in allowed else set()))
        raise MethodNotAllowed(
            f"{method} is not allowed on {path}; allowed: {', '.join(names)}", allowed=names
        )
    raise NotFound(f"No route for {method} {path}", code="route_not_found")


def outcome(resolve: Callable[[], tuple[Handler, dict[str, str]]]) -> object:
    try:
        handler, params = resolve()
    except HttpError as error:
        return (error.status, error.code, error.message, error.headers)
    return (handler, params)


# Segments that overlap often: literals (one empty), plain parameters under two names (two
# branches of the index for the same paths), constraints that do and do not meet the paths'.
ROUTE_SEGMENTS = st.sampled_from(["a", "b", "", ":x", ":y", ":n{[0-9]+}", ":w{[a-z]}", ":u{[A-Z].*}"])
ROUTE_METHODS = st.sampled_from(["GET", "POST", "PUT", "HEAD", "*"])
PATH_SEGMENTS = st.sampled_from(["a", "b", "", "7", "q", "Z", "a%2Fb", "%61", "caf%C3%A9"])


REQUEST_METHODS = st.sampled_from(["GET", "POST", "PUT", "HEAD", "DELETE"])


def pattern_of(segments: list[str], wildcard: bool) -> str:
    return "/" + "/".join([*segments, *(["*"] if wildcard else [])])


def path_near(route: Route, data: st.DataObject) -> str:
    """A path that the route's pattern may well match: its literals, any segment where it
    has a parameter (an empty one included), a random rest where it has a `*`."""
    parts = [
        data.draw(PATH_SEGMENTS) if name is not None else segment
        for segment, name in zip(route.segments, route.names, strict=True)
    ]
    if route.wildcard:
        parts += data.draw(st.lists(PATH_SEGMENTS, max_size=2))
    return "/" + "/".join(parts)


@settings(max_examples=200)
@given(
    st.lists(st.tuples(ROUTE_METHODS, st.lists(ROUTE_SEGMENTS, max_size=4), st.booleans()), max_size=12),
    st.data(),
)
def test_the_route_index_resolves_as_the_plain_scan(
    routes: list[tuple[str, list[str], bool]], data: st.DataObject
) -> None:
    """The router's segment tree gives every request the route (and parameters), the 405 or
    the 404 that trying every route gives, over random tables and paths; routes registered,
    replaced or removed between requests count from the next one."""
    router = Router()
    for number, (method, segments, wildcard) in enumerate(routes):  # a handler each: told apart
        router.add(method, pattern_of(segments, wildcard), named(str(number)))
    for _ in range(data.draw(st.integers(1, 8))):
        if router.routes and data.draw(st.booleans()):
            path = path_near(data.draw(st.sampled_from(router.routes)), data)
        else:
            path = "/" + "/".join(data.draw(st.lists(PATH_SEGMENTS, max_size=5)))
        method = data.draw(REQUEST_METHODS)
        assert outcome(partial(router.resolve, method, path)) == outcome(partial(scan, router, method, path))
        change = data.draw(st.sampled_from(["none", "add", "remove"]))
        if change == "add":  # the table changes between two requests
            late, segments, wildcard = data.draw(
                st.tuples(ROUTE_METHODS, st.lists(ROUTE_SEGMENTS, max_size=3), st.booleans())
            )
            router.add(late, pattern_of(segments, wildcard), named("late"))
        elif change == "remove" and router.routes:
            router.routes.pop(data.draw(st.integers(0, len(router.routes) - 1)))


def make_declared_router() -> tuple[Router, list[str]]:
    """Routes that say which query parameters they take, and one that does not."""
    router = Router()
    ran: list[str] = []

    @router.get("/approvals", query=("status", "limit"))
    async def approvals(request: HttpRequest) -> HttpResponse:
        ran.append("approvals")
        return json_response({"status": request.query("status"), "limit": request.query("limit")})

    @router.post("/things", query=())
    async def create(request: HttpRequest) -> HttpResponse:
        ran.append("create")
        return json_response({}, status=201)

    @router.post("/capnweb", query_token=True, query=())
    async def batch(request: HttpRequest) -> HttpResponse:
        return json_response({"token": request.query("token")})

    @router.get("/sloppy", query=("limit",))
    async def sloppy(request: HttpRequest) -> HttpResponse:
        return json_response({"cursor": request.query("cursor")})  # not declared: a bug

    @router.get("/app")  # an app's route, not declared: takes anything
    async def app(request: HttpRequest) -> HttpResponse:
        return json_response({"bogus": request.query("bogus")})

    return router, ran


@pytest.mark.parametrize(
    ("method", "path", "message", "suggestion"),
    [
        ("GET", "/approvals?bogus=1", "Query parameter 'bogus' is not taken by GET /approvals", None),
        (
            "GET",
            "/approvals?limit=2&stauts=open",
            "'stauts' is not taken by GET /approvals; did you mean 'status'?",
            "status",
        ),
        ("GET", "/approvals?Limit=2", "did you mean 'limit'? (it takes limit, status)", "limit"),
        ("POST", "/things?as_of=1", "'as_of' is not taken by POST /things (it takes none)", None),
        ("GET", "/approvals?token=t", "?token= is accepted only on WebSocket upgrades and /capnweb", None),
        ("HEAD", "/approvals?x=", "'x' is not taken by HEAD /approvals", None),
    ],
)
def test_a_query_parameter_the_route_does_not_take_is_refused_before_its_handler(
    method: str, path: str, message: str, suggestion: str | None
) -> None:
    router, ran = make_declared_router()
    answer = run(router, method, path, body=b"{}")
    assert answer.status == 400 and ran == []
    if method != "HEAD":
        error = answer.json()["error"]
        assert error["code"] == "invalid_query" and message in error["message"], error
        assert error["suggestion"] == suggestion


def test_the_parameters_a_route_takes_pass_and_an_undeclared_route_takes_any() -> None:
    router, ran = make_declared_router()
    assert run(router, "GET", "/approvals?status=open&limit=2").json() == {"status": "open", "limit": "2"}
    assert run(router, "GET", "/approvals").json() == {"status": None, "limit": None}
    assert run(router, "POST", "/capnweb?token=t", body=b"").json() == {"token": "t"}  # query_token takes it
    assert run(router, "GET", "/app?bogus=1").json() == {"bogus": "1"}
    assert ran == ["approvals", "approvals"]


def test_a_handler_reading_a_parameter_its_route_does_not_declare_is_a_bug(
    caplog: pytest.LogCaptureFixture,
) -> None:
    router, _ = make_declared_router()
    caplog.set_level("CRITICAL", logger="dotdo.http")
    answer = run(router, "GET", "/sloppy?limit=1")
    assert answer.status == 500 and answer.json()["error"]["code"] == "internal_error"


def test_a_routes_query_is_a_list_of_names() -> None:
    with pytest.raises(ValueError, match="list of parameter names"):
        Router().get("/a", query="limit")


def _id_router() -> Router:
    router = Router()

    @router.delete("/schedules/:id/*")
    async def remove(request: HttpRequest) -> HttpResponse:
        return json_response({"id": rest_of_path(request.params["id"], request.params["*"])})

    @router.get("/schedules")
    async def listing(request: HttpRequest) -> HttpResponse:
        return json_response([])

    return router


def test_an_id_holding_a_slash_is_the_rest_of_the_path_raw_or_encoded() -> None:
    router = _id_router()
    declared = "class:low_stock_sweep:*/5 * * * *:UTC"  # a declared schedule's id
    for path in (
        "/schedules/class:low_stock_sweep:*/5%20*%20*%20*%20*:UTC",
        "/schedules/class%3Alow_stock_sweep%3A%2A%2F5%20%2A%20%2A%20%2A%20%2A%3AUTC",
    ):
        response = run(router, "DELETE", path)
        assert response.status == 200 and json.loads(response.body)["id"] == declared  # type: ignore[arg-type]
    assert json.loads(run(router, "DELETE", "/schedules/s1").body)["id"] == "s1"  # type: ignore[arg-type]
    assert run(router, "DELETE", "/schedules").status == 405  # an id is one segment at least


_ID_SEGMENT = st.text(min_size=1, max_size=8).filter(lambda s: s not in (".", ".."))


@given(st.lists(_ID_SEGMENT, min_size=1, max_size=4))
@settings(max_examples=200)
def test_any_id_reaches_a_rest_route_whole(parts: list[str]) -> None:
    router = _id_router()
    wanted = "/".join(parts)
    # a `/` at either end of a path is ignored (`split_path`): such an id needs `%2F` there
    if not wanted.startswith("/") and not wanted.endswith("/"):
        raw_slashes = "/".join(quote(part, safe="") for part in parts)
        response = run(router, "DELETE", f"/schedules/{raw_slashes}")
        assert json.loads(response.body)["id"] == wanted  # type: ignore[arg-type]
    response = run(router, "DELETE", f"/schedules/{quote(wanted, safe='')}")
    assert json.loads(response.body)["id"] == wanted  # type: ignore[arg-type]


def test_an_app_route_that_replaces_one_of_dotdos_is_a_warning_once_unless_meant(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An app's `GET /stats` silently hid DOStorage's: replacing one of dotdo's own routes is
    logged once a process (the new route serves), and `override=True` says it is meant."""
    from dotdo.core import route_replacement

    async def framework_stats(request: HttpRequest) -> HttpResponse:
        return json_response({"by": "dotdo"})

    async def app_stats(request: HttpRequest) -> HttpResponse:
        return json_response({"by": "app"})

    framework_stats.__module__ = "dotdo.storage.durable"
    route_replacement._replaced_warned.discard(("GET", "/stats"))
    with caplog.at_level("WARNING", logger="dotdo.http"):
        for _ in range(2):  # a second wake of the object: no second warning
            router = Router()
            router.get("/stats")(framework_stats)
            router.get("/stats")(app_stats)
            assert json.loads(run(router, "GET", "/stats").body) == {"by": "app"}
    warned = [r.getMessage() for r in caplog.records if "replaces dotdo's own route" in r.getMessage()]
    assert len(warned) == 1 and warned[0].startswith("GET /stats of ") and "app_stats" in warned[0]

    route_replacement._replaced_warned.discard(("GET", "/stats"))
    caplog.clear()
    with caplog.at_level("WARNING", logger="dotdo.http"):
        router = Router()
        router.get("/stats")(framework_stats)
        router.get("/stats", override=True)(app_stats)
        other = Router()
        other.get("/mine")(app_stats)
        other.get("/mine")(framework_stats)  # dotdo replacing an app's route: the next test
    assert not [r for r in caplog.records if "replaces dotdo's own route" in r.getMessage()]


def _framework_handler(name: str) -> Handler:
    handler = named(name)
    handler.__module__ = "dotdo.core.state_routes"
    return handler


def test_an_app_route_that_differs_from_dotdos_in_its_parameters_names_replaces_it_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An app's `GET /state/:id` served every path of dotdo's `GET /state/:key` (the later of
    two equally specific routes wins) and nothing said so: a route is the same route whatever
    its parameters are named. A constraint makes another route."""
    from dotdo.core import route_replacement

    route_replacement._replaced_warned.discard(("GET", "/state/:key"))
    with caplog.at_level("WARNING", logger="dotdo.http"):
        router = Router()
        router.get("/state/:key")(_framework_handler("dotdo-state"))
        router.get("/state/:id")(named("app-state"))
        constrained = Router()
        constrained.get("/state/:key")(_framework_handler("dotdo-state"))
        constrained.get("/state/:id{[0-9]+}")(named("app-number"))
    warned = [r.getMessage() for r in caplog.records if "replaces dotdo's own route" in r.getMessage()]
    assert len(warned) == 1 and warned[0].startswith("GET /state/:id of "), warned
    assert [route.pattern for route in router.routes] == ["/state/:id"]
    assert served_by(router, "GET", "/state/k") == "app-state"
    assert served_by(constrained, "GET", "/state/7") == "app-number"
    assert served_by(constrained, "GET", "/state/k") == "dotdo-state"


def test_an_app_route_that_dotdos_replaces_is_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    """An app's `GET /stats` registered before `super().routes(router)` was replaced by dotdo's
    and served nothing, without a word: that is a warning too, once a process, naming where
    to register it."""
    from dotdo.core import route_replacement

    route_replacement._replaced_warned.discard(("GET", "/stats"))
    with caplog.at_level("WARNING", logger="dotdo.http"):
        for _ in range(2):
            router = Router()
            router.get("/stats")(named("app-stats"))
            router.get("/stats")(_framework_handler("dotdo-stats"))
            assert served_by(router, "GET", "/stats") == "dotdo-stats"
    warned = [r.getMessage() for r in caplog.records if "is replaced by dotdo's own route" in r.getMessage()]
    assert len(warned) == 1, warned
    assert warned[0].startswith("GET /stats of ") and "after super().routes(router)" in warned[0]
