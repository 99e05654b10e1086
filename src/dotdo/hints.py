"""What a failure of the server's own says to a client (`internal_error`), and what to do
about an exception that is a common mistake in an app's code (`error_hint`), said beside it
in the log and a development answer."""

from __future__ import annotations

__all__ = ["error_hint", "internal_error"]

_NAMED_LENGTH = 300
"""Most characters of an exception's `Type: text` that a development answer carries."""
_WHERE = "ENVIRONMENT=development; the traceback is in the server's output"

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


def internal_error(error: BaseException, *, named: bool, message: str = "Internal error") -> str:
    """The message of a 500 `internal_error` answering `error`, a failure of the server's own.

    `message` alone, unless `named`: then `message: Type: text (ENVIRONMENT=development; the
    traceback is in the server's output)`, with the first 300 characters of `Type: text`
    (another object's exception, whose text is its traceback, by `dotdo.tracebacks.error_said`)
    and, for a common mistake, what to do about it (`error_hint`) after them,
    written as a failure is stored (`dotdo.workflows.failures.error_text`): the type alone
    when the text is empty or `str()` of the error raises, a lone surrogate replaced by
    U+FFFD, since the answer must not fail in its turn (a socket's would never be sent) nor
    hold text that is not UTF-8.
    Only for ENVIRONMENT=development: in production an exception's text may hold data. Every
    surface words it so (the router's "Internal server error", the RPC surfaces' "Internal
    error"); the caller logs the traceback.
    """
    if not named:
        return message
    from dotdo.tracebacks import error_said
    from dotdo.values import LONE_SURROGATE  # dotdo.values imports dotdo.errors, which imports this

    try:
        text = str(error)
    except Exception:  # an error whose own __str__ fails is named by its type
        text = ""
    said = LONE_SURROGATE.sub("\ufffd", error_said(type(error).__name__, text, _NAMED_LENGTH))
    hint = error_hint(error)
    return f"{message}: {said}{f'; {hint}' if hint else ''} ({_WHERE})"
