"""What an application's hook returned, awaited when there is something to await.

The layers' hooks are `async def` (`on_alarm`, `on_message`, `on_close`, `on_socket_error`),
and an application may override one with a plain `def`, as it may write a plain route
handler: its result is then a value, not an awaitable, and awaiting it failed (an
`on_alarm` that had done its work counted as failed, and ran again at each retry).
"""

from __future__ import annotations

import inspect
from typing import Any

__all__ = ["completed"]


async def completed(result: Any) -> Any:
    """`result` itself, or what it gives when it is awaitable (a coroutine, a future)."""
    return await result if inspect.isawaitable(result) else result
