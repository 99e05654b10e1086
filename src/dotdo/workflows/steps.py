"""Durable steps: the retry policy, the outcome of `try_`, a step's recorded name, and the
errors of `do`."""

from __future__ import annotations

import functools
import math
from collections.abc import Awaitable, Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from dotdo.core.timers import backoff
from dotdo.errors import StepFailed, StepMismatch

__all__ = [
    "CURRENT_RUN",
    "WORKFLOW_MARK",
    "Attempt",
    "RetryPolicy",
    "RunContext",
    "ScheduleInfo",
    "StepFailed",
    "StepMismatch",
    "Suspend",
    "check_step",
    "step_name",
    "workflow",
]

WORKFLOW_MARK = "__dotdo_workflow__"
MAX_RETRIES = 20
MAX_DELAY_MS = 24 * 3600 * 1000


class Suspend(BaseException):
    """Stops a workflow run until `resume_at` (epoch ms); the alarm resumes it by replaying.

    `resume_at` None: the run waits with no timer, until a component wakes it
    (`RunEngine.wake`, e.g. an approval decided or an awaited event emitted)."""

    def __init__(self, resume_at: int | None) -> None:
        super().__init__(resume_at)
        self.resume_at = resume_at


@dataclass(frozen=True)
class RetryPolicy:
    """How a failed durable step (`do`) or fan-out call is tried again.

    `limit`: retries after the first attempt, 0 to MAX_RETRIES (20), so `limit=4` makes at
    most 5 attempts; default 0 (no retry). `delay`: seconds (int or float, >= 0) before the
    first retry; default 1.0. `backoff`: the factor each later wait is multiplied by (>= 1;
    1 keeps the wait constant); default 2.0. The n-th retry waits `delay * backoff ** (n-1)`
    seconds, at most 24 hours. Given as a `RetryPolicy` or a mapping with those keys (any
    may be left out); `RetryPolicy.of` checks it. See docs/api.md, "Retry policies".
    """

    limit: int = 0
    delay: float = 1.0
    backoff: float = 2.0

    @classmethod
    def of(cls, value: RetryPolicy | Mapping[str, Any] | None) -> RetryPolicy:
        """A checked policy from a policy, a `{"limit", "delay", "backoff"}` mapping or None
        (no retries). ValueError for a limit that is not an integer from 0 to MAX_RETRIES
        (a bool is not one), a delay or backoff that is not a finite number, a negative
        delay or a backoff below 1; TypeError for another key or a value that is neither
        a policy, a mapping nor None."""
        if value is None:
            return cls()
        if isinstance(value, RetryPolicy):
            policy = value
        elif isinstance(value, Mapping):
            unknown = sorted(str(key) for key in value if key not in ("limit", "delay", "backoff"))
            if unknown:
                raise TypeError(f"retries takes limit, delay and backoff, not {', '.join(unknown)}")
            policy = cls(**dict(value))
        else:
            raise TypeError(f"retries is a RetryPolicy or a mapping, not {type(value).__name__}")
        limit = policy.limit
        if isinstance(limit, bool) or not isinstance(limit, int) or not 0 <= limit <= MAX_RETRIES:
            raise ValueError(f"retries limit is an integer from 0 to {MAX_RETRIES} (retries, not attempts)")
        for name, number in (("delay", policy.delay), ("backoff", policy.backoff)):
            if isinstance(number, bool) or not isinstance(number, int | float) or not math.isfinite(number):
                raise ValueError(f"retries {name} is a finite number, not {number!r}")
        if not policy.delay >= 0 or not policy.backoff >= 1:
            raise ValueError("retries delay is >= 0 seconds and backoff >= 1")
        return policy

    def wait_ms(self, failures: int) -> int:
        """Milliseconds to wait after the `failures`-th failed attempt, at most 24 hours."""
        return int(backoff(self.delay * 1000, failures, factor=self.backoff, most=MAX_DELAY_MS))


@dataclass(frozen=True)
class Attempt:
    """What `try_` returns: the value, or the error it raised (never raised)."""

    ok: bool
    value: Any = None
    error: BaseException | None = None


@dataclass
class RunContext:
    """The workflow run the current task replays (`CURRENT_RUN`): its id, the step ids it
    has used (each once per replay) and the counter that numbers unnamed steps."""

    run_id: str
    steps_seen: set[str] = field(default_factory=set)
    counter: int = 0
    mismatch: StepMismatch | None = None
    """Set once a step of this run mismatched: every later step raises it, and the run fails."""

    def next_step_id(self) -> str:
        """The id of the next step without one: `step-1`, `step-2`, ... in call order."""
        self.counter += 1
        return f"step-{self.counter}"


def step_name(action: Callable[..., Any]) -> str:
    """The name a durable step records for `action`: its qualified name (PEP 3155).

    `self.charge` -> "Shop.charge" (the class that defines the method); a module
    function -> "charge"; a `functools.partial` -> the name of the function it wraps (its
    bound arguments are arguments, not identity); a callable object -> its class's name;
    a lambda -> "Shop.checkout.<locals>.<lambda>", so lambdas of one function are not told
    apart (give such steps a method or an explicit `step_id`). Line numbers and modules
    are left out, so moving code keeps the name; renaming the method changes it (as
    DBOS Transact's recorded function names do). See ADR 0007.
    """
    target: Any = action
    while isinstance(target, functools.partial):
        target = target.func
    target = getattr(target, "__func__", target)  # bound methods
    name = getattr(target, "__qualname__", None)
    return name if isinstance(name, str) else type(target).__qualname__


def check_step(step_id: str, recorded: str | None, current: str) -> None:
    """Raise StepMismatch when a step's record names another action than `current`.

    A record without a name (written before steps recorded one) is accepted as it is."""
    if recorded is not None and recorded != current:
        raise StepMismatch(step_id, recorded, current)


CURRENT_RUN: ContextVar[RunContext | None] = ContextVar("dotdo_current_run", default=None)


def workflow(method: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    """Mark a method as a durable workflow, started with `start_workflow(name, input)`."""
    setattr(method, WORKFLOW_MARK, True)
    return method


@dataclass(frozen=True)
class ScheduleInfo:
    """What a schedule's handler receives (if it takes an argument): `tz` is the zone it
    was declared with, "UTC" when none; `scheduled_at` and `fired_at` are epoch ms."""

    id: str
    cron: str
    tz: str
    scheduled_at: int
    fired_at: int
