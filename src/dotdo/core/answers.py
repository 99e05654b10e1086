"""What a route's handler, a middleware and the router's error handler answer: an
`HttpResponse` (`json_response(...)` for JSON) that can be sent, checked where the router
receives it.

Anything else (a dict, None from a missing `return`), or an HttpResponse the runtime would
refuse or send wrongly (headers None, status 0 or "200", a dict body sent as its repr, a
body on a 204, a header value None or holding a line break, one header given twice in two
cases, headers past what the runtime sends: `dotdo.core.fields`), is a TypeError naming the
function, what it returned and the fix, raised there, so no middleware meets it (a plain
dict failed inside CORS, `'dict' object has no attribute 'headers'`, naming only dotdo's
frames): a 500 `internal_error`, which names it only in development. The
router tests the usual answer (an HttpResponse of its own class, its fields of their usual
types) inline, with no call (ADR 0052); `unsendable` is the slow path. A function that is no
`async def` (a plain function, a lambda answering a coroutine) is wrapped once, where it is
registered (`awaited`), so an `async def`, the usual handler, costs nothing more per request.
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Any, cast

from dotdo.core.fields import COMMON_NAMES, MIDDLEWARE_ROOM, NULL_BODY_STATUSES, SHORT_VALUE, headers_fault
from dotdo.core.hooks import completed
from dotdo.core.http import HttpRequest, HttpResponse, error_response
from dotdo.core.logs import Log
from dotdo.errors import HttpError, internal_error
from dotdo.hints import error_hint
from dotdo.types import Handler, Middleware

__all__ = [
    "SENDABLE_BODIES",
    "Log",
    "answer_error",
    "awaited",
    "checked_error_answer",
    "default_error_handler",
    "development_error_handler",
    "middleware_link",
    "unsendable",
]

logger = logging.getLogger("dotdo.http")


SENDABLE_BODIES = frozenset({str, bytes, type(None)})
"""The classes of an `HttpResponse.body` the router passes without a closer look."""


def unsendable(role: str, function: Any, result: Any) -> str | None:
    """What the TypeError says of `function` (a route's `handler`, a `middleware`, the
    router's `error handler`) answering `result`, when it cannot be sent: who, what, the fix.
    None when it can: an HttpResponse (a subclass too) whose `status` is an int from 200 to
    599 (101 with a `web_socket`), `headers` a dict of str to str that the runtime sends as
    they are (`dotdo.core.fields.headers_fault`: each name once, whatever its case, and at
    most MAX_HEADER_BYTES in all) and `body` a str, bytes or None (None or empty
    for a 204, 205 or 304). A coroutine `result` (an `await` left out) is closed."""
    name = getattr(function, "__qualname__", None) or repr(function)
    if isinstance(result, HttpResponse):
        wrong = _malformed(result, MIDDLEWARE_ROOM if role == "middleware" else 0)
        return None if wrong is None else f"{role} {name} returned an HttpResponse whose {wrong}"
    kind = type(result).__name__
    if inspect.iscoroutine(result):
        # Never run from here on: closed, so Python's "coroutine ... was never awaited"
        # warning, which names dotdo's frames, does not follow this message.
        result.close()
        what = "a coroutine (a missing await?)"
    elif result is None:
        what = "None (a missing return?)"
    else:
        what = f"{'an' if kind[0] in 'aeiouAEIOU' else 'a'} {kind}"
    if role == "middleware":
        fix = "return await call_next(request), or an HttpResponse of its own"
    else:
        fix = "return json_response(...) (from dotdo) for JSON, or HttpResponse(status, body, headers)"
    return f"{role} {name} returned {what}, not an HttpResponse: {fix}"


def _malformed(response: HttpResponse, room: int = 0) -> str | None:
    """What is wrong with `response` for the runtime, None when nothing is (its headers
    within MAX_HEADER_BYTES and `room`: `headers_fault`)."""
    status: Any = response.status
    if isinstance(status, bool) or not isinstance(status, int):
        return f"status is {status!r}, not an int: HttpResponse(200, ...)"
    if not (200 <= status <= 599 or (status == 101 and response.web_socket is not None)):
        return f"status is {status}: the runtime sends 200 to 599 only"
    if not isinstance(response.headers, dict):
        return f"headers are {type(response.headers).__name__}, not a dict of str to str"
    fault = headers_fault(response.headers, room)
    if fault is not None:
        return fault
    body = response.body
    if not isinstance(body, str | bytes | None):
        kind = type(body).__name__
        return f"body is a {kind}, not str, bytes or None: return json_response(...) (from dotdo) for JSON"
    if body and status in NULL_BODY_STATUSES and response.web_socket is None:
        return f"body is {body[:40]!r} on a {status}, which has none: HttpResponse({status}) (body None)"
    return None


def awaited(function: Callable[..., Any]) -> Callable[..., Awaitable[Any]]:
    """`function`, a handler or middleware that is no `async def`, as a coroutine function
    answering what it answers, awaited when that is awaitable (its name kept for messages)."""

    @functools.wraps(function)
    async def call(*args: Any) -> Any:
        return await completed(function(*args))

    return call


def answer_error(error: Exception, request: HttpRequest, named: bool, log: Log = logger) -> HttpResponse:
    """An HttpError as its JSON body and status; anything else, and an HttpError that cannot
    go out (a header the runtime refuses), logged with its traceback (`log`, `dotdo.http`)
    and a 500 `internal_error`, naming the exception when `named`."""
    if isinstance(error, HttpError):
        # Its message, code and details are checked where it is built; its headers, which
        # HTTP alone sends, here. A field changed since it was built may fail to go out too.
        try:
            response = error_response(error)
            unsent = _malformed(response)
        except Exception as failure:
            unsent = f"body has no wire form ({failure})"
        if unsent is None:
            return response
        refused = TypeError(f"{type(error).__name__}({error.message!r}) cannot be sent: its {unsent}")
        refused.__cause__ = error  # the log's traceback shows where it was raised
        error = refused
    hint = error_hint(error)
    suffix = f" ({hint})" if hint else ""
    log.error("unhandled error in %s %s%s", request.method, request.path, suffix, exc_info=error)
    return error_response(HttpError(internal_error(error, named=named, message="Internal server error")))


async def default_error_handler(error: Exception, request: HttpRequest) -> HttpResponse:
    """An HttpError as its JSON body and status; anything else logged with its traceback
    (`dotdo.http`) and answered 500 `internal_error` with no detail."""
    return answer_error(error, request, named=False)


async def development_error_handler(error: Exception, request: HttpRequest) -> HttpResponse:
    """`default_error_handler`, whose 500 names the exception for a developer at the client
    (`dotdo.errors.internal_error`): only with ENVIRONMENT=development, since in production
    an exception's text may hold data."""
    return answer_error(error, request, named=True)


async def checked_error_answer(
    handler: Callable[[Exception, HttpRequest], Any],
    error: Exception,
    request: HttpRequest,
    named: bool,
    log: Log = logger,
) -> HttpResponse:
    """`handler`'s answer to `error`, or, when it raises or answers no HttpResponse it can
    send (`unsendable`), both errors logged (`log`) and `answer_error` of its failure (the
    router's `handle` never raises). The two handlers of this module answer as they do,
    logged to `log`."""
    if handler is default_error_handler or handler is development_error_handler:
        return answer_error(error, request, handler is development_error_handler, log)
    try:
        response = await completed(handler(error, request))
        wrong = unsendable("error handler", handler, response)
        if wrong is None:
            return cast(HttpResponse, response)
        failure: Exception = TypeError(wrong)
    except Exception as raised:
        failure = raised
    log.error("unhandled error in %s %s", request.method, request.path, exc_info=error)
    return answer_error(failure, request, named, log)


def middleware_link(
    middleware: Middleware,
    call_next: Handler,
    answer: Callable[[Exception, HttpRequest], Awaitable[HttpResponse]],
) -> Handler:
    """`middleware` around `call_next`, a link of the router's chain: what it answers is
    checked as a handler's is, and its failure (a raise, an answer it cannot send) is
    `answer`ed here, so the middleware outside it (CORS) sees that answer."""
    run = middleware if inspect.iscoroutinefunction(middleware) else awaited(middleware)

    async def call(request: HttpRequest) -> HttpResponse:
        try:
            response = await run(request, call_next)
            odd = (  # the usual answer tested with no call, as in `Router._guarded`
                response.__class__ is not HttpResponse
                or response.status.__class__ is not int
                or not 200 <= response.status <= 599
                or response.headers.__class__ is not dict
                or response.body.__class__ not in SENDABLE_BODIES
                or (response.body and response.status in NULL_BODY_STATUSES)
            )
            if not odd:
                headers = response.headers
                for name in headers:
                    value = headers[name]
                    if (
                        name not in COMMON_NAMES
                        or value.__class__ is not str
                        or "\r" in value
                        or "\n" in value
                        or "\0" in value
                        or value[SHORT_VALUE:]  # a long one counted (MAX_HEADER_BYTES), with no call
                    ):
                        odd = True
                        break
            if odd and (wrong := unsendable("middleware", middleware, response)):
                raise TypeError(wrong)
            return response
        except Exception as error:
            return await answer(error, request)

    return call
