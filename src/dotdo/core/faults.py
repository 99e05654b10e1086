"""Named fault points: places where a test can stop the engine between two effects, such
as after a durable step ran and before its result is recorded (DBOS Transact's
`_debug_trigger.py` works the same way).

Production code calls `await reach(POINT, detail)`, which does nothing unless a test
armed that point for that detail with `arm(POINT, detail, action)`: then `action` runs
there, once (it may raise, or hang until the runtime is stopped). Points inside
synchronous code (a SQLite transaction) call `reach_now`, and take a plain function. Nothing is stored: the
armed points live in this module, per isolate.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

__all__ = [
    "AFTER_STEP",
    "APPROVAL_DECIDED",
    "POINTS",
    "REACHED_NOW",
    "STORAGE_CHECKPOINTED",
    "STORAGE_GROUP_LOGGED",
    "STORAGE_IN_CHECKPOINT",
    "STORAGE_LOGGED",
    "arm",
    "armed",
    "disarm_all",
    "reach",
    "reach_now",
]

AFTER_STEP = "after_step"
"""A durable step ran and its result is not recorded yet. Detail: the step's key,
"<run id>/<step id>" inside a workflow run, the step id outside one."""

STORAGE_LOGGED = "storage_logged"
"""A write's log row is committed and the write not acknowledged yet. Detail: the row's seq."""

STORAGE_IN_CHECKPOINT = "storage_in_checkpoint"
"""A checkpoint wrote one thing into `things` and not the rest. Detail: the thing's id."""

STORAGE_CHECKPOINTED = "storage_checkpointed"
"""A checkpoint wrote every thing and has not moved the log's mark yet. Detail: how many
things it wrote."""

STORAGE_GROUP_LOGGED = "storage_group_logged"
"""A group commit's log row (the writes of several requests) is committed and none of them
is acknowledged yet. Detail: the row's seq."""
APPROVAL_DECIDED = "approval_decided"
"""A decision on an approval is committed (its run woken) and the run not resumed yet.
Detail: the approval's id."""

POINTS = frozenset(
    {
        AFTER_STEP,
        STORAGE_LOGGED,
        STORAGE_IN_CHECKPOINT,
        STORAGE_CHECKPOINTED,
        STORAGE_GROUP_LOGGED,
        APPROVAL_DECIDED,
    }
)

REACHED_NOW = frozenset({STORAGE_LOGGED, STORAGE_IN_CHECKPOINT, STORAGE_CHECKPOINTED, STORAGE_GROUP_LOGGED})
"""The points reached with `reach_now` (synchronous code): their action is a plain function."""

Action = Callable[[], Awaitable[None] | None]

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
    """Disarm every point (a test's teardown)."""
    _armed.clear()


async def reach(point: str, detail: str) -> None:
    """The engine is at `point` for `detail`: run the armed action, if any, and disarm it."""
    if not _armed:
        return
    action = _armed.pop((point, detail), None)
    if action is not None:
        outcome = action()
        if outcome is not None:
            await outcome


def reach_now(point: str, detail: str) -> None:
    """`reach` for a point inside synchronous code (a SQLite transaction): the armed action
    must be a plain function (it may raise); an async one is a TypeError."""
    if not _armed:
        return
    action = _armed.pop((point, detail), None)
    if action is None:
        return
    outcome = action()
    if outcome is not None:
        close = getattr(outcome, "close", None)
        if close is not None:
            close()
        raise TypeError(f"the action armed at {point!r} is async; {point!r} is reached synchronously")
