"""Running an application's hook: what it returned awaited when there is something to
await, and, for a socket's hooks, what it raised said rather than lost.

The layers' hooks are `async def` (`on_alarm`, `on_message`, `on_close`, `on_socket_error`),
and an application may override one with a plain `def`, as it may write a plain route
handler: its result is then a value, not an awaitable, and awaiting it failed (an
`on_alarm` that had done its work counted as failed, and ran again at each retry). What a
socket's hook raises leaves the runtime's handler, which drops it without a word (a `/ws`
ping whose pong could not be encoded got no answer and no log line).
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from dotdo.errors import HttpError, internal_error

if TYPE_CHECKING:
    from dotdo.core.websocket import Connection

__all__ = ["completed", "socket_hook"]

logger = logging.getLogger("dotdo.sockets")


async def completed(result: Any) -> Any:
    """`result` itself, or what it gives when it is awaitable (a coroutine, a future)."""
    return await result if inspect.isawaitable(result) else result


async def socket_hook(
    hook: Callable[..., Any], connection: Connection, *args: Any, answer: bool = False, named: bool = False
) -> None:
    """Run `hook(connection, *args)`, a socket's hook (`on_message`, `on_close`,
    `on_socket_error`), to its end. What it raises is not lost: anything but an HttpError is
    logged with its traceback (`dotdo.sockets`, ERROR), and, when `answer` (a `/ws` socket,
    whose protocol has it), told to the client as `{"type": "error", "error": {"code",
    "message"}}`: an HttpError as itself (`unserializable_result` for a reply with no wire
    form), anything else a 500 `internal_error`, named when `named` (development)."""
    try:
        await completed(hook(connection, *args))
    except Exception as error:
        if isinstance(error, HttpError):
            refusal = error
        else:
            name = getattr(hook, "__name__", hook)
            logger.error("websocket %s: %s failed", connection.id, name, exc_info=error)
            refusal = HttpError(internal_error(error, named=named))
        if answer:
            connection.send({"type": "error", **refusal.to_dict()})
