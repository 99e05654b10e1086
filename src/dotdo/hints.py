"""What to do about an exception that is a common mistake in an app's code, said beside
it in the log and a development answer (`dotdo.errors.internal_error`)."""

from __future__ import annotations

__all__ = ["error_hint"]

_NOT_AWAITABLE = ("can't be used in 'await' expression", "can't be awaited")
"""How CPython words an `await` of a value that is not awaitable (3.13, Pyodide's; 3.14)."""

_AWAITED_SYNC_HINT = (
    "a synchronous call was awaited: dotdo's `request.json()` and `request.text()` return the "
    "body at once (it is read before the handler runs; Starlette's are coroutines), so drop "
    "the `await`"
)


_RESPONSE_ATTRIBUTES = ("'headers'", "'status'", "'body'")
"""An `HttpResponse`'s attributes: read on a coroutine, a middleware's `call_next(request)`."""

_CALL_NEXT_HINT = (
    "a missing `await`: a middleware's `call_next` is a coroutine function, so its response is "
    "`response = await call_next(request)`"
)

_MISSING_AWAIT_HINT = (
    "a missing `await`: a call of an async function (`call_next(request)` in a middleware, "
    "`self.send_event(...)`, a method of another object) returns a coroutine, not its result, "
    "until it is awaited"
)

_COROUTINE = ("'coroutine' object", "type 'coroutine'", "type coroutine")
"""How CPython names a coroutine used as a value (`'coroutine' object has no attribute 'headers'`,
`argument of type 'coroutine' is not iterable`, `Object of type coroutine is not JSON serializable`)."""


def error_hint(error: BaseException) -> str | None:
    """What to do about `error` when it is a common mistake in an app's code, else None:
    the TypeError of an `await` of a value that is not awaitable, `await request.json()`
    most often (Starlette's habit); and a coroutine used as its value (an AttributeError or
    TypeError naming `'coroutine'`), a missing `await`, `call_next(request)` in a middleware
    most often. For the log, and a development answer (`internal_error`)."""
    if not isinstance(error, TypeError | AttributeError):
        return None
    try:
        text = str(error)
    except Exception:
        return None
    if any(words in text for words in _COROUTINE):
        if isinstance(error, AttributeError) and any(
            f"attribute {name}" in text for name in _RESPONSE_ATTRIBUTES
        ):
            return _CALL_NEXT_HINT
        return _MISSING_AWAIT_HINT
    if isinstance(error, TypeError) and any(words in text for words in _NOT_AWAITABLE):
        return _AWAITED_SYNC_HINT
    return None
