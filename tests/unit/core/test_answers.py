"""What the router does with what a handler, a middleware or an error handler answers
(`dotdo.core.answers`): an answer it cannot send is a 500 naming the function, and a
middleware's failure is answered where it happens, so the middleware outside it (CORS)
treats that 500 as it treats a handler's."""

from __future__ import annotations

import asyncio
from http import HTTPStatus
from typing import Any

import pytest

from dotdo import HttpRequest, HttpResponse, Router, json_response
from dotdo.core.fields import COMMON_NAMES, MAX_HEADER_BYTES, SHORT_VALUE, sendable_text
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


class SubResponse(HttpResponse):
    pass


MALFORMED = [
    (HttpResponse(200, "x", None), "whose headers are NoneType, not a dict of str to str"),  # type: ignore[arg-type]
    (HttpResponse(0, "x"), "whose status is 0: the runtime sends 200 to 599 only"),
    (HttpResponse(999, "x"), "whose status is 999: the runtime sends 200 to 599 only"),
    (HttpResponse(101, None), "whose status is 101: the runtime sends 200 to 599 only"),
    (HttpResponse("200", "x"), "whose status is '200', not an int"),  # type: ignore[arg-type]
    (HttpResponse(True, "x"), "whose status is True, not an int"),  # type: ignore[arg-type]
    (HttpResponse(200.0, "x"), "whose status is 200.0, not an int"),  # type: ignore[arg-type]
    (HttpResponse(200, {"a": 1}), "whose body is a dict, not str, bytes or None: return json_response"),  # type: ignore[arg-type]
    (HttpResponse(200, 5), "whose body is a int, not str, bytes or None"),  # type: ignore[arg-type]
    (SubResponse(200, "x", None), "whose headers are NoneType"),  # type: ignore[arg-type]
    # What the runtime refused only after the router had answered (its 500, no CORS), or
    # sent otherwise (None as "undefined"):
    (HttpResponse(204, "not empty"), "whose body is 'not empty' on a 204, which has none"),
    (HttpResponse(304, b"x"), "whose body is b'x' on a 304, which has none"),
    (HttpResponse(205, "x", {"x-a": "1"}), "whose body is 'x' on a 205"),
    (HttpResponse(200, "x", {"x-a": "a\r\nset-cookie: e=1"}), "whose header 'x-a' holds a CR, LF or NUL"),
    (HttpResponse(200, "x", {"x-a": "a\nb"}), "whose header 'x-a' holds a CR, LF or NUL"),
    (HttpResponse(200, "x", {"content-type": "a\0"}), "whose header 'content-type' holds a CR, LF or NUL"),
    (HttpResponse(200, "x", {"bad name": "v"}), "whose header name 'bad name' is not an HTTP token"),
    (HttpResponse(200, "x", {"x-\u00e9": "v"}), "whose header name 'x-\u00e9' is not an HTTP token"),
    (HttpResponse(200, "x", {"": "v"}), "whose header name '' is not an HTTP token"),
    (HttpResponse(200, "x", {"x-a": None}), "whose header 'x-a' is None, not a str"),  # type: ignore[dict-item]
    (HttpResponse(200, "x", {"etag": 1}), "whose header 'etag' is 1, not a str"),  # type: ignore[dict-item]
    (HttpResponse(200, "x", {1: "v"}), "whose header name 1 is not a str"),  # type: ignore[dict-item]
    # Past the runtime's header block the request was never answered (the client hung):
    (
        HttpResponse(200, "x", {"x-long": "v" * MAX_HEADER_BYTES}),
        "whose header 'x-long' is 98314 bytes, past the 98304",
    ),
    (
        HttpResponse(200, "x", {"set-cookie": "a=" + "b" * 131072}),
        "whose header 'set-cookie' is 131088 bytes",
    ),
    (
        HttpResponse(200, "x", {f"x-h{i}": "v" * 100 for i in range(1200)}),
        "whose headers are 132090 bytes, past",
    ),
    (HttpResponse(200, "x", {"x-a": "\u2603" * 40000}), "whose header 'x-a' is 120007 bytes"),  # UTF-8 bytes
    # One header in two cases went out once, both values joined ("text/plain, text/html"):
    (
        HttpResponse(200, "x", {"Content-Type": "text/plain", "content-type": "text/html"}),
        "whose headers 'Content-Type' and 'content-type' are one header (names are case-insensitive",
    ),
    (HttpResponse(200, "x", {"x-a": "1", "X-A": "2"}), "whose headers 'x-a' and 'X-A' are one header"),
]


@pytest.mark.parametrize(("answer", "said"), MALFORMED)
def test_a_handler_answering_a_response_the_runtime_cannot_send_is_named(
    answer: HttpResponse, said: str
) -> None:
    """`headers=None` failed inside CORS with `argument of type 'NoneType' is not iterable`;
    a status out of range failed in the runtime, and a dict body went out as its repr."""
    router = cors_router()

    async def odd(request: HttpRequest) -> HttpResponse:
        return answer

    router.get("/odd")(odd)
    response = run(router, "/odd")
    assert response.status == 500 and response.headers["access-control-allow-origin"] == ORIGIN
    message = response.json()["error"]["message"]
    assert f"TypeError: handler {odd.__qualname__} returned an HttpResponse {said}" in message


@pytest.mark.parametrize(("answer", "said"), [*MALFORMED[:3], *MALFORMED[10:]])
def test_a_middleware_answering_a_response_the_runtime_cannot_send_is_named(
    answer: HttpResponse, said: str
) -> None:
    async def odd(request: HttpRequest, call_next: Handler) -> HttpResponse:
        await call_next(request)
        return answer

    response = run(cors_router(odd), "/nowhere")
    assert response.status == 500
    assert (
        f"TypeError: middleware {odd.__qualname__} returned an HttpResponse {said}"
        in (response.json()["error"]["message"])
    )


@pytest.mark.parametrize(
    "answer",
    [
        HttpResponse(204),
        HttpResponse(599, b"bytes"),
        HttpResponse(HTTPStatus.CREATED, "an IntEnum status"),
        SubResponse(201, "a subclass", {"x-a": "1"}),
        HttpResponse(101, web_socket=object()),  # an upgrade
        HttpResponse(204, ""),  # an empty body is none: the runtime sends it so
        HttpResponse(304, b"", {"etag": '"1"'}),
        HttpResponse(200, "x", {"x-order": "outer", "x-B": "h\u00e9llo \u2603"}),  # past Latin-1: UTF-8
        HttpResponse(200, "x", {"x-a": " stripped by the runtime\t", "x-c": "\x7f\x01"}),
        HttpResponse(200, "x", {"x-long": "v" * (MAX_HEADER_BYTES - 10)}),  # 10: "x-long: " and CRLF
        HttpResponse(200, "x", dict.fromkeys(COMMON_NAMES, "v" * SHORT_VALUE)),  # all in the fast path
    ],
)
def test_responses_the_runtime_can_send_are_passed_as_they_are(answer: HttpResponse) -> None:
    router = Router()

    async def fine(request: HttpRequest) -> HttpResponse:
        return answer

    async def passing(request: HttpRequest, call_next: Handler) -> HttpResponse:
        return await call_next(request)

    router.use(passing)
    router.get("/fine")(fine)
    assert run(router, "/fine") is answer


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


def test_a_handlers_http_error_that_cannot_be_sent_is_a_500_naming_it() -> None:
    """`details={"o": object()}` was answered 400 `unserializable_result` "object cannot be
    sent over RPC", the client blamed for the server's mistake; a header of an HttpError is
    checked as a handler's are."""
    router = cors_router()

    async def details(request: HttpRequest) -> HttpResponse:
        raise BadRequest("odd details", code="odd", details={"o": object()})

    async def header(request: HttpRequest) -> HttpResponse:
        raise BadRequest("odd header", headers={"x-a": "a\r\nb"})

    async def large(request: HttpRequest) -> HttpResponse:
        raise BadRequest("large header", headers={"x-a": "v" * 200_000})

    async def changed(request: HttpRequest) -> HttpResponse:
        error = BadRequest("changed")
        error.details["o"] = {1, 2}  # after it was built, where it is checked
        raise error

    router.get("/details")(details)
    router.get("/header")(header)
    router.get("/changed")(changed)
    router.get("/large")(large)
    for path, said in [
        ("/details", "BadRequest('odd details') cannot be sent: its details are not plain JSON: object"),
        ("/header", "BadRequest('odd header') cannot be sent: its header 'x-a' holds a CR, LF or NUL"),
        ("/changed", "BadRequest('changed') cannot be sent: its body has no wire form (set cannot be sent"),
        (
            "/large",
            "BadRequest('large header') cannot be sent: its header 'x-a' is 200007 bytes, past the 98304",
        ),
    ]:
        response = run(router, path)
        assert response.status == 500 and response.headers["access-control-allow-origin"] == ORIGIN
        error = response.json()["error"]
        assert error["code"] == "internal_error" and f"TypeError: {said}" in error["message"], error


def test_a_lone_surrogate_in_a_text_body_is_sent_as_u_fffd() -> None:
    assert sendable_text("a\ud800b\udfff") == "a\ufffdb\ufffd"
    text = "h\u00e9llo \U0001f600"
    assert sendable_text(text) is text


@pytest.mark.parametrize(
    "given",
    [
        {"Access-Control-Allow-Origin": "http://evil"},
        {"ACCESS-CONTROL-ALLOW-ORIGIN": "http://evil", "Access-Control-Allow-Credentials": "false"},
    ],
)
def test_cors_replaces_an_answers_own_allow_origin_whatever_its_case(given: dict[str, str]) -> None:
    """`Access-Control-Allow-Origin` beside dotdo's `access-control-allow-origin` went out as
    `http://evil, https://a.example.com`, two origins, which every browser refuses."""
    for where in ("handler", "middleware"):

        async def handler(request: HttpRequest) -> HttpResponse:
            return HttpResponse(200, "ok", dict(given))

        async def middleware(request: HttpRequest, call_next: Handler) -> HttpResponse:
            await call_next(request)
            return HttpResponse(200, "ok", dict(given))

        router = cors_router(middleware) if where == "middleware" else cors_router()
        router.get("/x")(handler)
        headers = run(router, "/x").headers
        names = [name for name in headers if name.lower().startswith("access-control-allow-")]
        assert sorted(names) == ["access-control-allow-credentials", "access-control-allow-origin"]
        assert headers["access-control-allow-origin"] == ORIGIN
        assert headers["access-control-allow-credentials"] == "true"


def test_cors_merges_an_answers_own_vary_whatever_its_case() -> None:
    router = cors_router()
    router.get("/x")(lambda request: HttpResponse(200, "ok", {"VARY": "Accept", "X-Kept": "1"}))
    headers = run(router, "/x").headers
    assert headers == {
        "X-Kept": "1",
        "vary": "Accept, Origin",
        "access-control-allow-origin": ORIGIN,
        "access-control-allow-credentials": "true",
        "access-control-expose-headers": "etag, retry-after",
    }


def test_an_origin_not_allowed_keeps_the_answers_own_allow_origin_once() -> None:
    router = cors_router()
    router.get("/x")(lambda request: HttpResponse(200, "ok", {"Access-Control-Allow-Origin": "*"}))
    request = HttpRequest("GET", "http://t.localhost/x", {"origin": "https://other.example"})
    headers = asyncio.run(router.handle(request)).headers
    assert headers == {"access-control-allow-origin": "*", "vary": "Origin"}


def test_a_handlers_headers_at_the_bound_go_out_through_cors() -> None:
    """CORS adds its fields to every answer: a handler's answer at MAX_HEADER_BYTES was
    blamed on `middleware cors.<locals>.middleware`; a middleware has MIDDLEWARE_ROOM more."""
    router = cors_router()
    at_bound = {"x-long": "v" * (MAX_HEADER_BYTES - 10)}
    router.get("/x")(lambda request: HttpResponse(200, "ok", dict(at_bound)))
    response = run(router, "/x")
    assert response.status == 200 and response.headers["access-control-allow-origin"] == ORIGIN
    many = {f"x-h{i}": "v" * 100 for i in range(1000)}  # 109,890 bytes

    async def adding(request: HttpRequest, call_next: Handler) -> HttpResponse:
        return HttpResponse(200, "ok", dict(many))

    assert run(cors_router(adding), "/x").status == 200
    router = cors_router()
    router.get("/x")(lambda request: HttpResponse(200, "ok", dict(many)))
    message = run(router, "/x").json()["error"]["message"]
    assert "returned an HttpResponse whose headers are 109890 bytes, past the 98304" in message
