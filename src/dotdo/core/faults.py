"""Named fault points: places where a test can stop the engine between two effects, such
as after a durable step ran and before its result is recorded (DBOS Transact's
`_debug_trigger.py` works the same way).

Production code calls `await reach(POINT, detail)`, which does nothing unless a test
armed that point for that detail with `arm(POINT, detail, action)`: then `action` runs
there, once (it may raise, or hang until the runtime is stopped). Nothing is stored: the
armed points live in this module, per isolate.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

__all__ = ["AFTER_STEP", "POINTS", "arm", "armed", "disarm_all", "reach"]

AFTER_STEP = "after_step"
"""A durable step ran and its result is not recorded yet. Detail: the step's key,
"<run id>/<step id>" inside a workflow run, the step id outside one."""

POINTS = frozenset({AFTER_STEP})

Action = Callable[[], Awaitable[None]]

_armed: dict[tuple[str, str], Action] = {}


def arm(point: str, detail: str, action: Action) -> None:
    """Run `action` the next time `point` is reached with `detail` (once).

    Raises ValueError for a point that is not one of `POINTS`."""
    if point not in POINTS:
        raise ValueError(f"no fault point {point!r}; the points are {sorted(POINTS)}")
    _armed[(point, detail)] = action


def armed() -> list[tuple[str, str]]:
    """The (point, detail) pairs armed and not reached yet."""
    return list(_armed)


def disarm_all() -> None:
    _armed.clear()


async def reach(point: str, detail: str) -> None:
    """The engine is at `point` for `detail`: run the armed action, if any, and disarm it."""
    if not _armed:
        return
    action = _armed.pop((point, detail), None)
    if action is not None:
        await action()
