"""Test control for a project's own Durable Objects: time travel and fault points over HTTP,
mounted on the project's classes only while `dotdo.testing` serves them (ADR 0021).

The production classes serve no test routes (ADR 0012). When the plugin's local runtime
serves a project, it serves each exported `DOCore` subclass as `with_control_routes(cls)`:
the same class with `ControlRoutes` mixed in before it, which adds two routes, both of
the `admin` scope (ADR 0018; open in the plugin's runtime: development, no secret):

- `POST /_test/alarm {"now": <epoch ms>}` (body optional): one pass of the timer service
  as if the clock said `now` (default: the object's clock), everything due by then run
  at once: `await self.timers.run_due(now)`. Answers its counts per source, e.g.
  `{"alarm": 0, "sends": 0, "deliveries": 1, "schedules": 0, "workflows": 0}`. With
  `"step": true`, time moves to `now` as the alarm would move it for an object that stays
  up: a pass at each wake due by then, in order (so a retry due 2 s after a failure in
  one pass runs in the next), at most `MAX_STEPS` of them, then one pass at `now`; the
  counts are summed.
- `POST /_test/fault {"point": "after_step:<step key>"}`: arms that named fault point
  (`dotdo.core.faults`) in this isolate: the call that reaches it next hangs there, once,
  so that a test can stop the runtime at exactly that place. A point reached inside
  synchronous code (`faults.REACHED_NOW`, e.g. `storage_logged:<seq>`) cannot await: it
  holds the isolate in a busy loop instead (bounded by `SPIN_ITERATIONS`, then a
  RuntimeError), since only a kill of the runtime may end the transaction it is in.
  Either way the server log gets "fault point <point>:<detail> reached" first, which a
  crash script polls for. 400 `invalid_fault` for a point that is not one of
  `faults.POINTS` or has no detail.

`dotdo dev` and `dotdo deploy` never apply it, and the package's vendored copy for a
Worker leaves `dotdo.testing` out. This module imports only the framework, so that it runs
inside the local runtime's Pyodide; under CPython, where `DOCore` cannot load, the routes
work on any class with the `routes` hook and a `timers` service.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, cast

from dotdo.core import faults
from dotdo.core.http import HttpRequest, HttpResponse, json_response
from dotdo.core.router import Router
from dotdo.errors import BadRequest
from dotdo.types import Handler

if TYPE_CHECKING:
    from dotdo.core.durable import DOCore

__all__ = [
    "ALARM_PATH",
    "CLOCK_HEADER",
    "FAULT_PATH",
    "LATEST_MS",
    "MAX_STEPS",
    "SPIN_ITERATIONS",
    "ControlRoutes",
    "with_control_routes",
]

logger = logging.getLogger("dotdo.testing")

ALARM_PATH = "/_test/alarm"
CLOCK_HEADER = "x-dotdo-clock-offset"
"""The header a test client sends with every request once its clock moved on (`advance_time`):
how many milliseconds the object's time is ahead of the runtime's clock."""
LATEST_MS = 4_102_444_800_000
"""The latest time a test may move an object to: 2100-01-01 (a schedule's next firing and the
runtime's alarm must still be dates past it)."""
MAX_STEPS = 1000
"""Most passes a stepped `/_test/alarm` runs before its last one at `now` (an every-second
schedule moved a day on would otherwise take 86,400)."""
FAULT_PATH = "/_test/fault"


SPIN_ITERATIONS = 1_000_000_000
"""How long a synchronous fault point holds the isolate (loop turns, about a minute in
Pyodide): workerd's clocks stand still while Python computes, so the bound is a count."""


def _hang_at(point: str, detail: str) -> Callable[[], Awaitable[None]]:
    """A fault point's action: the call stops here until the runtime is stopped."""

    async def hang() -> None:
        logger.warning("fault point %s:%s reached; hanging until the runtime is stopped", point, detail)
        await asyncio.sleep(3600)

    return hang


def _spin_at(point: str, detail: str) -> Callable[[], None]:
    """The action of a point reached synchronously (inside a SQLite transaction): nothing
    may await there, so it holds the isolate until the runtime is killed. RuntimeError if
    nobody kills it within `SPIN_ITERATIONS` loop turns (the transaction then rolls back)."""

    def spin() -> None:
        logger.warning(
            "fault point %s:%s reached; holding the isolate until the runtime is killed", point, detail
        )
        for _ in range(SPIN_ITERATIONS):
            pass
        raise RuntimeError(f"fault point {point}:{detail} was held and the runtime was not killed")

    return spin


def _pass_time(request: HttpRequest) -> tuple[int | None, bool]:
    """`now` of a `/_test/alarm` body (epoch ms; None for no body or no `now`) and its `step`."""
    body = request.json() if request.has_body else {}
    now = body.get("now") if isinstance(body, dict) else "not an object"
    step = body.get("step", False) if isinstance(body, dict) else False
    rule = f'Body is {{"now": <epoch milliseconds, 0 to {LATEST_MS}>, "step": <bool>}} or empty'
    if isinstance(body, dict) and (extra := sorted(set(body) - {"now", "step"})):
        raise BadRequest(f"{rule}, not with {', '.join(map(repr, extra))}", code="invalid_params")
    if not isinstance(step, bool):
        raise BadRequest(f"step is true or false, not {step!r:.40}", code="invalid_step")
    if now is None:
        return None, step
    if (
        isinstance(now, bool)
        or not isinstance(now, int | float)
        or not math.isfinite(now)
        or not 0 <= now <= LATEST_MS
    ):
        raise BadRequest(rule, code="invalid_now")
    return int(now), step


def _add(counts: dict[str, int], ran: dict[str, int]) -> None:
    for source, items in ran.items():
        counts[source] = counts.get(source, 0) + items


def _fault_point(request: HttpRequest) -> tuple[str, str]:
    """(point, detail) of a `/_test/fault` body `{"point": "<point>:<detail>"}`."""
    body = request.json()
    point = body.get("point") if isinstance(body, dict) else None
    name, _, detail = point.partition(":") if isinstance(point, str) else ("", "", "")
    if name not in faults.POINTS or not detail:
        raise BadRequest(
            f'Body is {{"point": "<point>:<detail>"}}, the point one of {sorted(faults.POINTS)}',
            code="invalid_fault",
        )
    return name, detail


class ControlRoutes:
    """Mixed in before a `DOCore` subclass: its `routes` hook adds the test routes and its
    `middleware` hook the test clock (see the module docstring). Defines no other name, so
    the app's namespace is untouched."""

    def middleware(self, router: Router) -> None:
        """The class's middleware, then the test clock: a request carrying `CLOCK_HEADER`
        (milliseconds, the client's `advance_time` total) moves the object's time to the
        clock's plus that (`timers.move_clock`), so what it schedules counts from there."""
        super().middleware(router)  # type: ignore[misc]  # a mixin: the DOCore subclass's middleware
        obj: Any = self

        async def clock(request: HttpRequest, call_next: Handler) -> HttpResponse:
            offset = request.header(CLOCK_HEADER)
            if offset is not None:
                latest = LATEST_MS - int(time.time() * 1000)  # the object's time stays before 2100
                digits = offset.isascii() and offset.isdigit() and len(offset) <= 16
                if not (digits and int(offset) <= latest):
                    raise BadRequest(
                        f"{CLOCK_HEADER} is milliseconds, 0 to {latest} (2100)", code="invalid_clock_offset"
                    )
                obj.timers.move_clock(int(offset))
            return await call_next(request)

        router.use(clock)

    def routes(self, router: Router) -> None:
        """The class's own routes, then `POST /_test/alarm` and `POST /_test/fault`."""
        super().routes(router)  # type: ignore[misc]  # a mixin: the DOCore subclass's routes
        obj: Any = self

        async def run_due(request: HttpRequest) -> HttpResponse:
            now, step = _pass_time(request)
            timers = obj.timers
            target = timers.now() if now is None else now
            counts: dict[str, int] = {}
            for _ in range(MAX_STEPS if step else 0):
                wake = timers.next_wake()
                if wake is None or wake >= target:
                    break
                _add(counts, await timers.run_due(wake))
                if timers.next_wake() == wake:  # what is due then did not run (a lease held)
                    break
            _add(counts, await timers.run_due(target))
            return json_response(counts)

        async def arm_fault(request: HttpRequest) -> HttpResponse:
            name, detail = _fault_point(request)
            action = _spin_at(name, detail) if name in faults.REACHED_NOW else _hang_at(name, detail)
            faults.arm(name, detail, action)
            return json_response({"point": f"{name}:{detail}"})

        # admin: moving an object's clock and hanging it are an operator's acts (ADR 0018);
        # the plugin's runtime is development without a secret, where access is open.
        router.post(ALARM_PATH, scope="admin", query=())(run_due)
        router.post(FAULT_PATH, scope="admin", query=())(arm_fault)


def with_control_routes(cls: type[DOCore]) -> type[DOCore]:
    """`cls` with the test routes: a subclass of the same name, `ControlRoutes` first.

    Raises TypeError for a class that is not a DOCore subclass (only dotdo's objects have
    a timer service to drive)."""
    from dotdo.core.durable import DOCore  # the runtime's: loaded only where a Worker runs

    if not (isinstance(cls, type) and issubclass(cls, DOCore)):
        raise TypeError(f"{cls!r} is not a DOCore subclass: it has no timer service to drive")
    names = {
        "__module__": cls.__module__,
        "__qualname__": cls.__qualname__,
        "__doc__": cls.__doc__,
        # In the class's own namespace, so that sealing its RPC surface (done for every
        # DOCore subclass at creation, for its own attributes) keeps the hook local: a
        # Workers RPC call of `routes` must fail as it does on the class itself.
        "routes": ControlRoutes.routes,
    }
    return cast("type[DOCore]", type(cls.__name__, (ControlRoutes, cls), names))
