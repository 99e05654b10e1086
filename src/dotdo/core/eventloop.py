"""One macrotask for all the callbacks the event loop is handed in one turn of the runtime.

Pyodide's event loop (`pyodide.webloop.WebLoop`) runs every `call_soon` callback (a
task's next step, a future's done callback: two or more for each `await` that suspends)
as a macrotask of its own, through `scheduleCallback(callback, 0)`: inside workerd, where
there is neither `setImmediate` nor a browser's `postMessage`, that is a new
`MessageChannel` and a message through the runtime's event loop for each callback
(Pyodide's `src/js/scheduler.ts`). `batch_callbacks` gives the loop batches instead: the
callbacks handed to it in one turn of the runtime (one event, its microtasks included)
are run in order, in one macrotask, as asyncio's own loops run those ready together
(`BaseEventLoop._run_once`). A callback added while a batch runs waits for the next
macrotask, so the runtime's own events (I/O, promise resolutions) still come between
turns, never starved.

A batch never outlives the turn that scheduled it: workerd delivers a macrotask in the
context (the request, the Durable Object) that scheduled it, and drops it when that
context is aborted (`ctx.abort()`, a broken object, a cancelled request). One batch for
the whole isolate, scheduled by whichever context came first, held every later callback
of every object behind a macrotask that never came once that context was gone: every
request of the isolate then hung (ADR 0031, "Consequences"). Each turn's callbacks also
run in their own context, as Pyodide's own loop runs them.
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


def batch_callbacks(
    loop: asyncio.AbstractEventLoop,
    schedule: Callable[[Callable[[], None]], None],
    at_turn_end: Callable[[Callable[[], None]], None],
) -> bool:
    """Make `loop.call_soon` queue its callbacks in batches, one a turn of the runtime.

    The first callback of a turn starts a batch and hands `schedule(run)` the batch's `run`
    (a macrotask of the runtime, in the context of the code running now) and
    `at_turn_end(end)` a function to call once the turn's code is done (a microtask): the
    callbacks handed to the loop until then join the batch. `run` runs them first in, first
    out; cancelled ones are skipped; one that raises is reported by its `asyncio.Handle`, as
    the loop would, and the rest still run (a BaseException leaves them to a batch of
    their own). False when `loop` was batched already."""
    if getattr(loop, _BATCHED, False):
        return False
    current: deque[asyncio.Handle] | None = None  # the batch of the turn running now

    def end_turn() -> None:
        nonlocal current
        current = None

    def batch_of_this_turn() -> deque[asyncio.Handle]:
        nonlocal current
        if current is None:
            batch: deque[asyncio.Handle] = deque()
            current = batch
            schedule(lambda: run(batch))
            at_turn_end(end_turn)
        return current

    def run(batch: deque[asyncio.Handle]) -> None:
        nonlocal current
        current = None  # what the batch adds is a turn of its own: the next macrotask
        try:
            while batch:
                handle = batch.popleft()
                if not handle.cancelled():
                    handle._run()  # reports the callback's exception to the loop's handler
        finally:
            if batch:  # left by a BaseException: the next macrotask
                batch_of_this_turn().extend(batch)

    def call_soon(
        callback: Callable[..., Any], *args: Any, context: contextvars.Context | None = None
    ) -> asyncio.Handle:
        handle = asyncio.Handle(callback, args, loop, context=context)
        batch_of_this_turn().append(handle)
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
        js: Any = importlib.import_module("js")
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

    ends: dict[Callable[[], None], Any] = {}  # one proxy for the one `end` the loop passes

    def at_turn_end(end: Callable[[], None]) -> None:
        proxy = ends.get(end)
        if proxy is None:
            proxy = ends[end] = ffi.create_proxy(end)
        js.queueMicrotask(proxy)

    installed = batch_callbacks(loop, schedule, at_turn_end)
    if installed:
        logger.debug("event loop callbacks batched: one macrotask per turn's batch")
    return installed
