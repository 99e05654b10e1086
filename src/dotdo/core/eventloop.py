"""One macrotask for all the callbacks the event loop is handed in a row.

Pyodide's event loop (`pyodide.webloop.WebLoop`) runs every `call_soon` callback (a
task's next step, a future's done callback: two or more for each `await` that suspends)
as a macrotask of its own, through `scheduleCallback(callback, 0)`: inside workerd, where
there is neither `setImmediate` nor a browser's `postMessage`, that is a new
`MessageChannel` and a message through the runtime's event loop for each callback
(Pyodide's `src/js/scheduler.ts`). `batch_callbacks` gives the loop a queue instead: the
callbacks handed to it are run in order, all those that were ready in one macrotask,
as asyncio's own loops run them (`BaseEventLoop._run_once`). A callback added while they
run waits for the next macrotask, so the runtime's own events (I/O, promise
resolutions) still come between turns, never starved.
"""

from __future__ import annotations

import asyncio
import contextvars
import importlib
import logging
from collections import deque
from collections.abc import Callable
from typing import Any

__all__ = ["batch_callbacks", "install"]

logger = logging.getLogger("dotdo.core")

_BATCHED = "_dotdo_batched_callbacks"


def batch_callbacks(loop: asyncio.AbstractEventLoop, schedule: Callable[[Callable[[], None]], None]) -> bool:
    """Make `loop.call_soon` queue its callbacks and have `schedule(run)` run each batch
    (`run` takes every callback queued when it starts, first in, first out; cancelled
    ones are skipped; one that raises is reported by its `asyncio.Handle`, as the loop
    would, and the rest still run). False when `loop` was batched already."""
    if getattr(loop, _BATCHED, False):
        return False
    ready: deque[asyncio.Handle] = deque()
    pending = False

    def run() -> None:
        nonlocal pending
        pending = False
        try:
            for _ in range(len(ready)):
                handle = ready.popleft()
                if not handle.cancelled():
                    handle._run()  # reports the callback's exception to the loop's handler
        finally:
            if ready and not pending:  # added meanwhile (or left by a BaseException): next turn
                pending = True
                schedule(run)

    def call_soon(
        callback: Callable[..., Any], *args: Any, context: contextvars.Context | None = None
    ) -> asyncio.Handle:
        nonlocal pending
        handle = asyncio.Handle(callback, args, loop, context=context)
        ready.append(handle)
        if not pending:
            pending = True
            schedule(run)
        return handle

    loop.call_soon = call_soon  # type: ignore[method-assign,assignment]
    setattr(loop, _BATCHED, True)
    return True


_tried = False


def install() -> bool:
    """Batch the callbacks of the isolate's Pyodide loop; False when it was tried before
    (the first call decides), and on plain CPython or a loop that is not Pyodide's.

    Called when an object is built, never at import: a Python Worker's top-level imports
    may run while the runtime takes its memory snapshot, which can hold no JavaScript
    object (the scheduler this keeps)."""
    global _tried
    if _tried:
        return False
    _tried = True
    try:  # Pyodide's own modules, as its loop uses them (no stubs: only the runtime has them)
        ffi: Any = importlib.import_module("pyodide.ffi")
        webloop: Any = importlib.import_module("pyodide.webloop")
        api: Any = importlib.import_module("pyodide_js._api")
    except ImportError:
        return False
    loop = asyncio.get_event_loop()
    if not isinstance(loop, webloop.WebLoop):
        return False
    try:  # as WebLoop makes its own: a callable that may switch stacks (`run_sync`)
        ffi.create_once_callable(lambda: None, _may_syncify=True).destroy()
        options: dict[str, Any] = {"_may_syncify": True}
    except TypeError:  # a Pyodide without the option
        options = {}

    def schedule(run: Callable[[], None]) -> None:
        api.scheduleCallback(ffi.create_once_callable(run, **options), 0)

    installed = batch_callbacks(loop, schedule)
    if installed:
        logger.debug("event loop callbacks batched: one macrotask per batch")
    return installed
