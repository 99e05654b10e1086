"""The run engine: `@workflow` runs and their durable steps, replayed from the top.

A run is a row; `do` records each step's result (and the action it ran) in `action_log`.
A retryable failure suspends the run until its back-off has passed; a run whose object
died is taken for lost when its lease runs out. Either way the alarm resumes it by
replaying the workflow, completed steps returning their records. The engine is a timer
source (`workflows`). See ADR 0004 and ADR 0007.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from dotdo.core import faults
from dotdo.core.logs import instant
from dotdo.core.state import MAX_VALUE_BYTES
from dotdo.errors import BadRequest, Conflict, HttpError, NotFound
from dotdo.remote.names import THING_ID, THING_ID_RULE
from dotdo.semantic.hops import checked_limit
from dotdo.semantic.ids import canonical_id, id_page, new_id
from dotdo.semantic.names import checked_name
from dotdo.values import RESULT_DEPTH
from dotdo.workflows.failures import call_app, error_text, storable_text
from dotdo.workflows.host import DUE_BATCH, RUN_LEASE_MS, Host, encode_value
from dotdo.workflows.run_store import RunStore
from dotdo.workflows.steps import (
    CURRENT_RUN,
    Attempt,
    RetryPolicy,
    RunContext,
    StepFailed,
    StepMismatch,
    Suspend,
    check_step,
    step_name,
)

__all__ = ["MAX_RUN_PAGE", "RUN_STATUSES", "RunEngine"]


RUN_STATUSES = ("running", "waiting", "completed", "failed")
"""A run's states: running (leased by a pass now), waiting (until `next_at`), and ended."""
MAX_RUN_PAGE = 1000
"""Most runs one page of `RunEngine.page` holds."""


class RunEngine:
    """One object's workflow runs. `workflows` are the names of its `@workflow` methods;
    `host` is the object (its SQL, timers and methods by name), `store` the runs' tables."""

    def __init__(self, host: Host, store: RunStore, workflows: frozenset[str]) -> None:
        self._host = host
        self._store = store
        self._workflows = workflows
        self._active: set[str] = set()  # runs replaying in this instance now: not the alarm's

    # -- runs ----------------------------------------------------------------

    async def start(self, name: str, input: Any = None, run_id: str | None = None) -> dict[str, Any]:
        """Start the `@workflow` method `name` with `input`; runs now until it finishes or waits.

        A `run_id` makes starting idempotent: an existing run is returned as it is; one of
        another workflow is a 409 `workflow_conflict`. An unknown workflow is a 404
        `workflow_not_found`; a `run_id` that is not 1-128 letters, digits and `_.:-`
        (starting with a letter or digit, as a thing's id) is a 400 `invalid_run_id`: it is
        copied into the run's steps, approvals and events."""
        if name not in self._workflows:
            raise NotFound(f"No workflow {name!r}", code="workflow_not_found")
        if run_id is None:
            run_id = new_id()
        else:
            run_id = checked_name(run_id, THING_ID, "run id", THING_ID_RULE, "invalid_run_id")
        now = self._host.timers.now()
        if self._store.create(
            run_id, name, encode_value(input, "input", MAX_VALUE_BYTES), now + RUN_LEASE_MS, now
        ):
            self._host.timers.changed()
            await self._run(run_id, now, leased=True)
        else:
            existing = self._store.run(run_id)
            if existing is not None and existing["name"] != name:
                raise Conflict(
                    f"Run {run_id!r} is a run of {existing['name']!r}, not {name!r}",
                    code="workflow_conflict",
                )
        return self.status(run_id)

    def status(self, run_id: str) -> dict[str, Any]:
        """`id, name, status, result, error, next_at, created_at, updated_at` of a run; 404
        `workflow_run_not_found` when there is none. A run id `new_id` made is found in any
        case (`canonical_id`); one the caller chose is matched exactly first, so that a
        chosen id that only looks like a ULID still names its own run."""
        row = self._store.status(run_id)
        canonical = canonical_id(run_id)
        if row is None and canonical is not None and canonical != run_id:
            row = self._store.status(canonical)
        if row is None:
            raise NotFound(f"No workflow run {run_id!r}", code="workflow_run_not_found")
        status = dict(row)
        status["result"] = None if row["result"] is None else json.loads(str(row["result"]))
        return status

    def page(
        self, status: str | None = None, name: str | None = None, limit: int = 100, cursor: str | None = None
    ) -> dict[str, Any]:
        """A page of runs by id: `{"items", "has_more", "cursor"}`, each item `status`'s but
        `result` (read it with `status`), at most `limit` (1 to MAX_RUN_PAGE) after `cursor`
        (the previous page's). Only runs in `status` (running, waiting, completed, failed)
        and of the workflow `name` when given. 400 `invalid_status`, `invalid_limit`,
        `invalid_cursor` (not a run's id); 404 `workflow_not_found` for a `name` the class does
        not define."""
        if status is not None and status not in RUN_STATUSES:
            raise BadRequest(f"status is one of {', '.join(RUN_STATUSES)}", code="invalid_status")
        if name is not None and name not in self._workflows:
            raise NotFound(f"No workflow {name!r}", code="workflow_not_found")
        limit = checked_limit(limit, MAX_RUN_PAGE)
        if cursor is not None and not (
            isinstance(cursor, str) and THING_ID.fullmatch(cursor) and self._store.run(cursor) is not None
        ):  # a page's cursor is its last run's id, and no run is ever deleted
            raise BadRequest("cursor is the `cursor` of a previous page", code="invalid_cursor")
        rows, cut = self._store.page(status, name, cursor, limit + 1)
        return id_page(rows, limit, more=cut)

    def wake(self, run_id: str) -> bool:
        """Make a waiting run due now, durably: the alarm replays it if nothing does first
        (call it in the transaction that records why it may go on, so a crash right after
        loses nothing). True when the run was waiting; a running, finished or unknown run
        is left as it is (a replay in progress meets the change when it reaches the step)."""
        woken = self._store.wake(run_id, self._host.timers.now())
        if woken:
            self._host.timers.changed()
            self._host.timers.rearm()
        return woken

    async def resume(self, run_id: str) -> bool:
        """Wake a waiting run (`wake`) and replay it now, unless it is replaying here
        already; True when it was replayed. Returns when the run finishes or waits again."""
        if not self.wake(run_id) or run_id in self._active:
            return False
        await self._run(run_id, self._host.timers.now())
        return True

    async def _run(self, run_id: str, now: int, leased: bool = False) -> None:
        """Replay the run from the top. `leased`: it was created just now, running with its
        lease, which is not written again."""
        row = self._store.run(run_id)
        if row is None or row["status"] not in ("running", "waiting"):
            return
        method = self._host.handler(str(row["name"]))
        if not leased:
            self._store.lease(run_id, now + RUN_LEASE_MS, now)
            self._host.timers.changed()
        self._active.add(run_id)
        run = RunContext(run_id)
        token = CURRENT_RUN.set(run)
        try:
            if method is None:
                raise NotFound(f"No workflow method {row['name']!r}", code="workflow_not_found")
            result = await call_app(method, json.loads(str(row["input"])))
            if run.mismatch is not None:
                raise run.mismatch  # caught by the workflow's own code: the run fails all the same
        except Suspend as suspend:
            if run.mismatch is not None:
                self._finish(run_id, "failed", error=str(run.mismatch))
            else:
                self._finish(run_id, "waiting", next_at=suspend.resume_at)
        except Exception as error:
            # a failed step was logged with its traceback when it failed; a mismatch's message says it all
            step_error = isinstance(error, (StepFailed, StepMismatch))
            message = error_text(error) if run.mismatch is None else storable_text(str(run.mismatch))
            self._host.log.error(
                "workflow %s %s failed: %s", row["name"], run_id, message, exc_info=not step_error
            )
            self._finish(run_id, "failed", error=message)
        else:
            try:
                # a result may be a record the framework handed the run (a fan-out's, a decision)
                encoded = encode_value(result, "a workflow's result", MAX_VALUE_BYTES, RESULT_DEPTH)
            except HttpError as error:  # not JSON, or past the bound a run's row holds
                self._finish(run_id, "failed", error=storable_text(str(error)))
            else:
                self._finish(run_id, "completed", result=encoded)
        finally:
            CURRENT_RUN.reset(token)
            self._active.discard(run_id)
            self._host.timers.rearm()

    def _finish(
        self,
        run_id: str,
        status: str,
        next_at: int | None = None,
        result: str | None = None,
        error: str | None = None,
    ) -> None:
        self._store.finish(run_id, status, self._host.timers.now(), next_at, result, error)
        self._host.timers.changed()

    # -- steps ---------------------------------------------------------------

    async def do(
        self,
        action: Callable[..., Any],
        *args: Any,
        step_id: str | None = None,
        retries: RetryPolicy | Mapping[str, Any] | None = None,
        timeout: float | None = None,
        depth: int = RESULT_DEPTH,
    ) -> Any:
        """Run `action(*args)` once, durably: its result is recorded under `step_id` and a
        completed step is never run again (its recorded result is returned).

        The step also records which action it ran (`step_name`); met again under the same
        id with another action, it raises StepMismatch instead of returning the other
        step's result, and a run that meets one fails.

        Inside a `@workflow` run, a failure with retries left suspends the run and the
        alarm replays it after the back-off; the step id defaults to the step's position.
        `retries` is a `RetryPolicy` or a `{"limit", "delay", "backoff"}` mapping: `limit`
        retries after the first attempt (0-20), `delay` seconds before the first, each
        later wait times `backoff` (ValueError or TypeError from `RetryPolicy.of`).
        Outside a run, `step_id` is required and there are no retries (nothing could
        resume the caller): a failure is raised and not recorded (ValueError for a
        missing `step_id` or retries outside a run).

        A step is not a transaction: what the action wrote (things, SQL, events) before
        it raised stays written, and a retry runs it again on top (docs/api.md, "What a
        failed step keeps").

        `depth`: the result's nesting bound (`values`): a framework component whose step
        records one record of its own gives that record's bound; by default any record
        the framework hands a workflow's code may be a result (`RESULT_DEPTH`).
        """
        policy = RetryPolicy.of(retries)
        name = step_name(action)
        run = CURRENT_RUN.get()
        if run is None:
            if step_id is None:
                raise ValueError("outside a workflow run, do() needs a step_id")
            if policy.limit:
                raise ValueError(
                    "do() takes retries inside a workflow run only: nothing else can be resumed by "
                    "the alarm between attempts. From a handler or a schedule, start a run "
                    "(`await self.start_workflow(name, input)`) whose @workflow calls do() with "
                    "retries; an event handler's own delivery is retried as a whole "
                    "(delivery_retry_limit)"
                )
            key = local = step_id
        else:
            if run.mismatch is not None:
                raise run.mismatch  # the run replays other code than it recorded: no further step
            local = step_id or run.next_step_id()
            if local in run.steps_seen:
                raise ValueError(f"step id {local!r} is used twice in one run")
            run.steps_seen.add(local)
            key = f"{run.run_id}/{local}"
        row = self._store.step(key)
        if row is not None:
            try:
                check_step(local, row["name"], name)
            except StepMismatch as mismatch:
                if run is not None:
                    run.mismatch = mismatch
                raise
        if row is not None and row["status"] == "completed":
            return None if row["result"] is None else json.loads(str(row["result"]))
        if row is not None and row["status"] == "failed":
            raise StepFailed(key, str(row["error"]))
        attempts = int(row["attempts"]) if row is not None else 0
        now = self._host.timers.now()
        if run is not None and row is not None and row["next_at"] is not None and int(row["next_at"]) > now:
            raise Suspend(int(row["next_at"]))  # woken early (another timer): keep waiting
        try:
            value = call_app(action, *args)
            result = await (asyncio.wait_for(value, timeout) if timeout else value)
            what = f"step {key!r}'s result"
            encoded = None if result is None else encode_value(result, what, MAX_VALUE_BYTES, depth)
        except (Suspend, StepFailed, StepMismatch):
            raise
        except Exception as error:
            message = error_text(error)
            if isinstance(error, TimeoutError):
                message = f"timed out after {timeout} s"
            if run is None:
                raise
            return self._step_failed(key, name, run, attempts + 1, policy, message, error)
        await faults.reach(faults.AFTER_STEP, key)
        run_id = None if run is None else run.run_id
        self._store.complete_step(key, encoded, attempts + 1, run_id, name, self._host.timers.now())
        return result

    def reserve_step(self, step_id: str | None = None) -> tuple[str, str] | None:
        """The `(step id, record key)` a step that keeps records of its own (a fan-out's
        targets) is known by, before it calls `do(..., step_id=<step id>)`.

        Inside a run, the id is `step_id` or the next position (`step-3`), as `do` would
        take it, and the key is `"<run id>/<step id>"`; outside a run both are `step_id`,
        and None without one (nothing to record under). The id is not marked used: the
        `do` that follows does that."""
        run = CURRENT_RUN.get()
        if run is None:
            return None if step_id is None else (step_id, step_id)
        local = step_id or run.next_step_id()
        return local, f"{run.run_id}/{local}"

    @contextlib.contextmanager
    def detached(self) -> Iterator[None]:
        """Run the block as if outside any run: for a step's action whose calls would
        otherwise record steps of their own (an AI call is one in a run). Such nested steps
        would take positions on the first run that a replay, returning the outer step's
        record without running it, never takes again, so every later position would point
        at another step's record. Inside the block they are plain calls, covered by the
        enclosing step's record."""
        token = CURRENT_RUN.set(None)
        try:
            yield
        finally:
            CURRENT_RUN.reset(token)

    def _step_failed(
        self,
        key: str,
        name: str,
        run: RunContext,
        attempts: int,
        policy: RetryPolicy,
        message: str,
        error: Exception,
    ) -> Any:
        retry = attempts <= policy.limit
        now = self._host.timers.now()
        next_at = now + policy.wait_ms(attempts) if retry else None
        status = "pending" if retry else "failed"
        self._store.fail_step(key, status, message, attempts, next_at, run.run_id, name, now)
        if next_at is not None:
            self._host.log.warning(
                "step %s failed (attempt %d), retried in %.1f s (at %s)",
                key,
                attempts,
                (next_at - now) / 1000,
                instant(next_at),
                exc_info=error,
            )
            raise Suspend(next_at)
        self._host.log.error("step %s failed for good (attempt %d)", key, attempts, exc_info=error)
        raise StepFailed(key, message) from error

    async def try_(self, action: Callable[..., Any], *args: Any) -> Attempt:
        """One attempt of `action(*args)`, nothing recorded: its failure is returned, never raised."""
        try:
            return Attempt(True, await call_app(action, *args))
        except Exception as error:
            return Attempt(False, error=error)

    # -- the timer source ----------------------------------------------------

    def next_wake(self) -> int | None:
        """When a waiting run is due or a running one's lease runs out (epoch ms), or None."""
        return self._store.next_at()

    async def run_due(self, now: int) -> int:
        """Resume the runs due at `now` (epoch ms), at most DUE_BATCH, except those already
        replaying here; how many were resumed."""
        resumed = 0
        for run_id in self._store.due(now, DUE_BATCH):
            if run_id not in self._active:
                await self._run(run_id, now)
                resumed += 1
        return resumed
