"""What the workflow components record when an application's code fails: a handler, a
schedule's method, a step's action or a workflow. Whatever the code raised, the failure
is the code's own and is written down as text SQLite can hold (ADR 0042).

- `call_app(function, *args)` calls the code (sync or async) and turns the standard
  library's exceptions that are not an `Exception` (`SystemExit`, `KeyboardInterrupt`,
  `GeneratorExit`: a `sys.exit()` in a handler, an interrupted call) into `AppRaised`,
  an `Exception`, so that the code's failure is counted as one (retried, a dead letter,
  a failed step or run). Cancellation (`asyncio.CancelledError`) and any other
  `BaseException` pass unchanged: a handler cut off by its time bound, dotdo's own
  control-flow signals (`Suspend`, `WritesNeeded`), and a class of the application's
  own deriving from `BaseException` are taken as the call being abandoned, as when the
  runtime dies under it (the lease runs out and the work runs again).
- `error_text(error)` is the failure as stored: `Type: message`, the message made
  whatever `str()` of the error does (an error whose `__str__` raises is named by its
  type), lone surrogates replaced by U+FFFD (no UTF-8 text holds one), at most
  `ERROR_TEXT_CHARS` characters (a message of megabytes would not fit SQLite's 2 MB
  string, and the row would never be written).
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from typing import Any

from dotdo.errors import AppRaised
from dotdo.values import LONE_SURROGATE

__all__ = ["ERROR_TEXT_CHARS", "AppRaised", "call_app", "error_text", "storable_text"]

ERROR_TEXT_CHARS = 4096
"""The most characters of a failure's text that are stored (a delivery's `last_error`, a
schedule's `last_error`, a step's or run's `error`); more is cut, saying how much."""

_CONTAINED = (SystemExit, KeyboardInterrupt, GeneratorExit)
_MARKER_ROOM = 48  # "... (<up to 20 digits> more characters)"


async def call_app(function: Callable[..., Any], *args: Any) -> Any:
    """`function(*args)`, awaited when it answers an awaitable; its `SystemExit`,
    `KeyboardInterrupt` or `GeneratorExit` raised as `AppRaised` (everything else as it
    is). Called inside the task that runs the code, so that asyncio never sees the first
    two escape a task (it would re-raise them out of the event loop)."""
    try:
        result = function(*args)
        if inspect.isawaitable(result):
            result = await result
    except asyncio.CancelledError:
        raise
    except _CONTAINED as error:
        raise AppRaised(error) from error
    return result


def error_text(error: BaseException) -> str:
    """`error` as a failure is stored: `Type: message` (`Type` alone when the message is
    empty or `str()` of it raises), storable (`storable_text`). An `AppRaised` is named
    by what the code raised."""
    if isinstance(error, AppRaised):
        error = error.original
    name = type(error).__name__
    try:
        message = str(error)
    except Exception:  # an error whose own __str__ fails still failed
        message = ""
    return storable_text(f"{name}: {message}" if message else name)


def storable_text(text: str, limit: int = ERROR_TEXT_CHARS) -> str:
    """`text` with each lone surrogate replaced by U+FFFD and cut to `limit` characters
    (the cut ends with `... (<n> more characters)`, within the limit)."""
    text = LONE_SURROGATE.sub("\ufffd", text)
    if len(text) <= limit:
        return text
    kept = limit - _MARKER_ROOM
    return f"{text[:kept]}... ({len(text) - kept} more characters)"
