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
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from dotdo.errors import HttpError, internal_error

if TYPE_CHECKING:
    from dotdo.core.websocket import Connection

__all__ = ["completed", "socket_hook"]


async def completed(result: Any) -> Any:
    """`result` itself, or what it gives when it is awaitable (a coroutine, a future)."""
    return await result if inspect.isawaitable(result) else result


async def socket_hook(
    hook: Callable[..., Any], connection: Connection, *args: Any, answer: bool = False, named: bool = False
) -> None:
    """Run `hook(connection, *args)`, a socket's hook (`on_message`, `on_close`,
    `on_socket_error`), to its end. What it raises is not lost. When `answer` (a `/ws`
    socket, whose protocol has it), it is told to the client as `{"type": "error", "error":
    {"code", "message"}}`: an HttpError as itself (`unserializable_result` for a reply with no
    wire form), anything else a 500 `internal_error`, named when `named` (development), and
    anything but an HttpError logged with its traceback (`connection.log`: `dotdo.sockets`, ERROR). With no
    one to tell (`on_close`, `on_socket_error`, a socket already closed, an error frame that
    cannot be sent), the log has it, an HttpError too."""
    try:
        await completed(hook(connection, *args))
    except Exception as error:
        name = getattr(hook, "__name__", hook)
        if isinstance(error, HttpError) and answer:
            refusal = error
        else:
            connection.log.error("websocket %s: %s failed", connection.id, name, exc_info=error)
            if not answer:
                return
            refusal = HttpError(internal_error(error, named=named))
        if not _told(connection, name, refusal, named) and isinstance(error, HttpError):
            connection.log.error(
                "websocket %s: %s raised %s (%s: %s) on a closed socket: no one was told",
                connection.id,
                name,
                type(error).__name__,
                error.code,
                error.message,
            )


def _told(connection: Connection, name: object, refusal: HttpError, named: bool) -> bool:
    """Send `refusal` as the error frame of a hook (`name`) that raised: whether it went out
    (False: the socket is closed). A frame that cannot be sent (an error changed since it was
    built, where it is checked) is logged (ERROR) and a 500 `internal_error` frame instead."""
    try:
        return connection.send({"type": "error", **refusal.to_dict()})
    except Exception as unsent:
        connection.log.error(
            "websocket %s: %s's error could not be sent", connection.id, name, exc_info=unsent
        )
        return connection.send({"type": "error", **HttpError(internal_error(unsent, named=named)).to_dict()})
