"""The in-memory delivery queue of one object: events are delivered in the order they were
raised (first in, first out) by one drain task, one event at a time, each handler under a
time bound.

Who waits for delivery, and why nothing can wait on a drain it blocks:

- A *caller* (an HTTP request, a send from a Workers RPC call, the alarm) waits for its
  *batch*: the events it raised and, transitively, the events their handlers raised. So a
  chain of sends is delivered before the request that started it answers.
- Code running inside a delivery (a handler, and whatever it starts: a workflow, a step, a
  task) never waits: its events queue behind the one being delivered and the drain running
  it delivers them next.
- A call that arrives while a delivery is in progress may be that delivery calling back
  (a handler awaits another object, which calls this one). Durable Objects let such calls in
  while an await waits on anything but storage (Cloudflare's Durable Objects glossary, "input
  gate"), and nothing tells a call back from an unrelated one, so it never waits either; its
  events count as raised by the delivery in progress, whose caller then waits for them too.
- Every handler runs in its own task and is abandoned after `timeout` seconds, so the drain
  always moves on.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import math
from collections import deque
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from dotdo.errors import HandlerTimeout
from dotdo.workflows.failures import call_app
from dotdo.workflows.steps import CURRENT_RUN, MAX_DELAY_MS, MAX_RETRIES

__all__ = [
    "DEFAULT_HANDLER_TIMEOUT",
    "MAX_HANDLER_TIMEOUT",
    "Batch",
    "HandlerTimeout",
    "Outbox",
    "Scope",
    "validate_delivery_retries",
    "validate_handler_timeout",
]

logger = logging.getLogger("dotdo.workflows")

T = TypeVar("T")

DEFAULT_HANDLER_TIMEOUT = 30.0
"""Seconds a handler may run before its delivery counts as failed."""
MAX_HANDLER_TIMEOUT = 60.0
"""The delivery lease (`RUN_LEASE_MS`): after it the alarm takes a delivery to be lost and
runs it again, so no handler may be allowed to run longer."""


def validate_handler_timeout(value: object, owner: str) -> float:
    """`value` as seconds, if it is a number above 0 and at most MAX_HANDLER_TIMEOUT.

    Raises TypeError (not a number) or ValueError (out of range), naming `owner`."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{owner}.handler_timeout is a number of seconds, not {value!r}")
    if not (math.isfinite(value) and 0 < value <= MAX_HANDLER_TIMEOUT):
        raise ValueError(
            f"{owner}.handler_timeout is more than 0 and at most {MAX_HANDLER_TIMEOUT:g} seconds "
            f"(the delivery lease), not {value!r}"
        )
    return float(value)


MAX_DELIVERY_ATTEMPTS = MAX_RETRIES + 1
"""`delivery_retry_limit`'s bound: attempts in all, as a step's 20 retries make 21."""


def validate_delivery_retries(limit: object, delay_ms: object, owner: str) -> None:
    """Check a class's `delivery_retry_limit` (attempts in all, the first included: an
    integer from 1, no retry, to MAX_DELIVERY_ATTEMPTS) and `delivery_retry_delay_ms`
    (milliseconds before the first retry, doubled after each: an integer from 0 to 24 hours).

    Raises TypeError (not an integer; a bool is not one) or ValueError (out of range),
    naming `owner`, when the class is created rather than when a delivery fails."""
    for name, value, low, high in (
        ("delivery_retry_limit", limit, 1, MAX_DELIVERY_ATTEMPTS),
        ("delivery_retry_delay_ms", delay_ms, 0, MAX_DELAY_MS),
    ):
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{owner}.{name} is an integer, not {value!r}")
        if not low <= value <= high:
            raise ValueError(f"{owner}.{name} is {low} to {high}, not {value!r}")


class Batch:
    """Events one caller waits for: a count of those not yet delivered."""

    __slots__ = ("_pending", "_settled")

    def __init__(self) -> None:
        self._pending = 0
        self._settled: asyncio.Future[None] | None = None

    @property
    def pending(self) -> int:
        """How many of its events are not delivered yet."""
        return self._pending

    def add(self) -> None:
        """One more event to wait for."""
        self._pending += 1

    def done(self) -> None:
        """One of its events was delivered (or given up on); the last one wakes `wait`."""
        self._pending -= 1
        if self._pending == 0 and self._settled is not None and not self._settled.done():
            self._settled.set_result(None)

    async def wait(self) -> None:
        """Return once nothing is pending (more may be added while this waits)."""
        while self._pending:
            if self._settled is None or self._settled.done():
                self._settled = asyncio.get_running_loop().create_future()
            await asyncio.shield(self._settled)  # a cancelled waiter leaves the others waiting


@dataclass(frozen=True, eq=False)
class Scope:
    """What code running now belongs to: whose batch its events join, and whether it may
    wait for delivery. `owner` keeps objects sharing an isolate apart."""

    owner: Outbox[Any]
    batch: Batch | None
    may_wait: bool


_SCOPE: ContextVar[Scope | None] = ContextVar("dotdo_delivery_scope", default=None)


@dataclass(eq=False)
class _Entry(Generic[T]):
    item: T
    batch: Batch | None


def _abandoned(log: logging.Logger | logging.LoggerAdapter[logging.Logger], task: asyncio.Task[Any]) -> None:
    """A timed-out handler's task ended after all: say how (and retrieve its error, which
    asyncio would otherwise report as never retrieved)."""
    if task.cancelled():
        return
    error = task.exception()
    if error is not None:
        log.warning("an abandoned handler ended later with %r", error)


class Outbox(Generic[T]):
    """One object's queue of undelivered items, each passed to `deliver` in order by one
    drain task; `idle` runs whenever the queue has run dry. `log`: where its failures are
    logged (the object's `ObjectLog`, which names it)."""

    def __init__(
        self,
        deliver: Callable[[T], Awaitable[None]],
        idle: Callable[[], None],
        log: logging.Logger | logging.LoggerAdapter[logging.Logger] = logger,
    ) -> None:
        self._deliver = deliver
        self._idle = idle
        self._log = log
        self._queue: deque[_Entry[T]] = deque()
        self._current: _Entry[T] | None = None
        self._task: asyncio.Task[None] | None = None

    def __len__(self) -> int:
        return len(self._queue)

    @property
    def delivering(self) -> bool:
        """True while an item is being delivered (its handlers may be awaiting I/O)."""
        return self._current is not None

    def scope(self) -> Scope | None:
        """The scope the running code is in, if it is one of this outbox."""
        scope = _SCOPE.get()
        return scope if scope is not None and scope.owner is self else None

    def arrive(self) -> Scope:
        """The scope of a call arriving now: its own batch, which it may wait for, when no
        delivery is in progress; otherwise the batch of the delivery in progress, not waited
        for (the call may be that delivery calling back)."""
        if self._current is not None:
            return Scope(self, self._current.batch, may_wait=False)
        return Scope(self, Batch(), may_wait=True)

    def enter(self) -> tuple[Scope, Token[Scope | None] | None]:
        """The scope the running code is in, if it is one of this outbox's (and None), or
        else the scope of a call arriving now, entered (and the token `leave` takes)."""
        scope = _SCOPE.get()
        if scope is not None and scope.owner is self:
            return scope, None
        scope = self.arrive()
        return scope, _SCOPE.set(scope)

    @staticmethod
    def leave(token: Token[Scope | None] | None) -> None:
        """Back to the scope before `enter` (nothing, if `enter` entered none)."""
        if token is not None:
            _SCOPE.reset(token)

    @contextmanager
    def caller(self) -> Iterator[Scope]:
        """Run the block in the scope it is already in, or else as a call arriving now
        (`enter` and `leave` around it; a request's path calls them itself: ADR 0052)."""
        scope, token = self.enter()
        try:
            yield scope
        finally:
            self.leave(token)

    def put(self, item: T) -> _Entry[T]:
        """Queue `item` behind everything queued before it, counted in the current batch."""
        scope = self.scope()
        if scope is not None:
            batch = scope.batch
        else:  # code outside any scope (a Workers RPC method's write), as a call arriving now
            batch = self._current.batch if self._current is not None else None
        entry = _Entry(item, batch)
        if batch is not None:
            batch.add()
        self._queue.append(entry)
        self._start()
        return entry

    def discard(self, entry: _Entry[T]) -> bool:
        """Take back an entry not delivered yet (the write that raised it rolled back)."""
        try:
            self._queue.remove(entry)
        except ValueError:
            return False
        if entry.batch is not None:
            entry.batch.done()
        return True

    async def settle(self, scope: Scope) -> None:
        """Wait until `scope`'s batch is delivered, if the scope may wait; otherwise return
        at once (the drain in progress delivers it)."""
        if scope.may_wait and scope.batch is not None and scope.batch._pending:
            self._start()
            await scope.batch.wait()

    async def run_handler(self, function: Callable[..., Any], *args: Any, timeout: float) -> Any:
        """Call `function(*args)` (sync or async) as a handler: in its own task, inside the
        current batch but never waiting for delivery, outside any workflow run, for at most
        `timeout` seconds. Returns its result or raises its error; raises HandlerTimeout
        after `timeout`, when the task is cancelled and left behind (a handler that ignores
        cancellation runs on unobserved). A synchronous handler cannot be cut off: it holds
        the event loop until it returns."""
        scope = self.scope()
        token = _SCOPE.set(Scope(self, scope.batch if scope is not None else None, may_wait=False))
        run_token = CURRENT_RUN.set(None)
        try:
            task = asyncio.get_running_loop().create_task(call_app(function, *args))  # copies the context
        finally:
            CURRENT_RUN.reset(run_token)
            _SCOPE.reset(token)
        done, _ = await asyncio.wait({task}, timeout=timeout)
        if not done:
            task.cancel()
            task.add_done_callback(functools.partial(_abandoned, self._log))
            raise HandlerTimeout(timeout)
        if task.cancelled():
            raise RuntimeError("the handler cancelled itself")
        return task.result()

    def _start(self) -> None:
        if not self._queue or (self._task is not None and not self._task.done()):
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # plain Python with no loop running: the next settle starts it
            return
        self._task = loop.create_task(self._drain())

    async def _drain(self) -> None:
        try:
            while self._queue:
                entry = self._queue.popleft()
                self._current = entry
                # This task's own context: what the handlers start belongs to this entry.
                _SCOPE.set(Scope(self, entry.batch, may_wait=False))
                CURRENT_RUN.set(None)
                try:
                    await self._deliver(entry.item)
                except Exception:
                    self._log.exception("delivering %r failed", entry.item)
                finally:
                    self._current = None
                    if entry.batch is not None:
                        entry.batch.done()
        finally:
            self._idle()
