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


def error_hint(error: BaseException) -> str | None:
    """What to do about `error` when it is a common mistake in an app's code, else None:
    the TypeError of an `await` of a value that is not awaitable, `await request.json()`
    most often (Starlette's habit). For the log, and a development answer (`internal_error`)."""
    if not isinstance(error, TypeError):
        return None
    try:
        text = str(error)
    except Exception:
        return None
    return _AWAITED_SYNC_HINT if any(words in text for words in _NOT_AWAITABLE) else None
