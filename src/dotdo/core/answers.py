"""What a route's handler, a middleware and the router's error handler answer: an
`HttpResponse` (`json_response(...)` for JSON), checked where the router receives it.

Anything else (a dict, None from a missing `return`) is a TypeError naming the function,
what it returned and the fix, raised there, so no middleware meets it (a plain dict failed
inside CORS, `'dict' object has no attribute 'headers'`, naming only dotdo's frames): a
500 `internal_error`, which names it only in development. A function that is no `async
def` (a plain function, a lambda answering a coroutine) is wrapped once, where it is
registered (`awaited`), so an `async def`, the usual handler, costs nothing more per request.
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from dotdo.core.http import HttpRequest, HttpResponse, error_response
from dotdo.errors import HttpError, internal_error
from dotdo.hints import error_hint

__all__ = ["answer_error", "awaited", "checked_error_answer", "not_a_response"]

logger = logging.getLogger("dotdo.http")


def not_a_response(role: str, function: Any, result: Any) -> str:
    """What the TypeError says of `function` (a route's `handler`, a `middleware`, the
    router's `error handler`) answering `result`, which is no HttpResponse: who, what, the fix."""
    name = getattr(function, "__qualname__", None) or repr(function)
    kind = type(result).__name__
    what = (
        "None (a missing return?)" if result is None else f"{'an' if kind[0] in 'aeiouAEIOU' else 'a'} {kind}"
    )
    if role == "middleware":
        fix = "return await call_next(request), or an HttpResponse of its own"
    else:
        fix = "return json_response(...) (from dotdo) for JSON, or HttpResponse(status, body, headers)"
    return f"{role} {name} returned {what}, not an HttpResponse: {fix}"


def awaited(function: Callable[..., Any]) -> Callable[..., Awaitable[Any]]:
    """`function`, a handler or middleware that is no `async def`, as a coroutine function
    answering what it answers, awaited when that is awaitable (its name kept for messages)."""

    @functools.wraps(function)
    async def call(*args: Any) -> Any:
        result = function(*args)
        return await result if inspect.isawaitable(result) else result

    return call


def answer_error(error: Exception, request: HttpRequest, named: bool) -> HttpResponse:
    """An HttpError as its JSON body and status; anything else logged with its traceback
    (`dotdo.http`) and a 500 `internal_error`, naming the exception when `named`."""
    if isinstance(error, HttpError):
        return error_response(error)
    hint = error_hint(error)
    suffix = f" ({hint})" if hint else ""
    logger.error("unhandled error in %s %s%s", request.method, request.path, suffix, exc_info=error)
    return error_response(HttpError(internal_error(error, named=named, message="Internal server error")))


async def checked_error_answer(
    handler: Callable[[Exception, HttpRequest], Any], error: Exception, request: HttpRequest, named: bool
) -> HttpResponse:
    """`handler`'s answer to `error`, or, when it raises or answers no HttpResponse, both
    errors logged and `answer_error` of its failure (the router's `handle` never raises)."""
    try:
        response = handler(error, request)
        if inspect.isawaitable(response):
            response = await response
        if isinstance(response, HttpResponse):
            return response
        failure: Exception = TypeError(not_a_response("error handler", handler, response))
    except Exception as raised:
        failure = raised
    logger.error("unhandled error in %s %s", request.method, request.path, exc_info=error)
    return answer_error(failure, request, named)
