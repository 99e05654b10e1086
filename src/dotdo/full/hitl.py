"""Human in the loop: workflow steps that wait for a person's decision (`wait_for_approval`)
or for an event (`wait_for_event`) with no process waiting.

A wait is a durable step of the run engine (ADR 0007) whose action looks at a row: the
first replay writes the approval (or the wait) and suspends the run with no timer; the
run sleeps as `waiting` until the decision, the matching event or the timeout wakes it
(`RunEngine.wake`, in the transaction that records why), and the replay then records the
outcome as the step's result, so the steps before it return their records and the steps
after it run once. Timeouts are this component's timer source (`hitl`); an approval that
times out with `escalate_to` is replaced by one for those approvers. See ADR 0025.
"""

from __future__ import annotations

import builtins
import functools
import json
import logging
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any, Protocol

from dotdo.core import faults
from dotdo.core.access import described
from dotdo.core.logs import Log
from dotdo.core.sql import Sql
from dotdo.core.state import MAX_VALUE_BYTES
from dotdo.core.timers import TimerService
from dotdo.errors import (
    ApprovalExpired,
    BadRequest,
    Conflict,
    EventWaitExpired,
    Forbidden,
    NotFound,
    PayloadTooLarge,
)
from dotdo.full.hitl_store import HitlStore
from dotdo.full.hitl_values import (
    DECIDED,
    DECISIONS,
    MAX_COMMENT_LENGTH,
    MAX_LIST,
    STATUSES,
    ApprovalRequest,
    EventWait,
    decision_value,
    fields_match,
    overdue,
    public,
    read_view,
)
from dotdo.semantic.eventtypes import Event, pattern_matches
from dotdo.semantic.hops import checked_limit
from dotdo.semantic.ids import made_id, new_id, timed_cursor, timed_page
from dotdo.types import Row
from dotdo.values import APPROVAL_DEPTH, APPROVAL_EVENT_DEPTH, WAIT_STEP_DEPTH, Record, around, depth_of
from dotdo.wire.tokens import Capability
from dotdo.workflows.bus import EventBus
from dotdo.workflows.host import DUE_BATCH, encode_value
from dotdo.workflows.runs import RunEngine
from dotdo.workflows.steps import CURRENT_RUN, RunContext, Suspend

__all__ = ["HumanLoop", "LoopHost", "wait_for_approval", "wait_for_event"]

logger = logging.getLogger("dotdo.full")


class LoopHost(Protocol):
    """What the component needs from the object: its SQL, timer service, run engine and bus."""

    @property
    def sql(self) -> Sql:
        """The object's SQL facade."""
        ...

    @property
    def timers(self) -> TimerService:
        """The object's timer service (clock and alarm)."""
        ...

    runs: RunEngine
    """The run engine: durable steps, and waking a waiting run."""
    bus: EventBus
    """The event bus: emitting `Approval.*` events, observing every event."""


def wait_for_approval(loop: HumanLoop, request: ApprovalRequest, step: str) -> dict[str, Any]:
    """The durable step's action (its recorded name): the approval's outcome, or Suspend."""
    return loop._approval_outcome(request, step)


def wait_for_event(loop: HumanLoop, wait: EventWait, step: str) -> dict[str, Any]:
    """The durable step's action (its recorded name): the matched event, or Suspend."""
    return loop._event_outcome(wait, step)


class HumanLoop:
    """One object's approvals and waits for events; a timer source (`hitl`) for their
    timeouts and an observer of every event the bus emits. `host` is the object (its SQL,
    timers, runs and bus); `log` takes its lines; constructing registers the source and observer."""

    def __init__(self, host: LoopHost, log: Log = logger) -> None:
        self._host, self._log = host, log
        self._emit = host.bus.emit
        self._store = HitlStore(host.sql)
        self._waits: builtins.list[Row] | None = None  # the waiting waits, read once per change
        host.bus.observe(self._observe)
        host.timers.register("hitl", self)

    # -- in a workflow ---------------------------------------------------------

    async def wait_for_approval(
        self,
        name: str,
        payload: Any = None,
        *,
        approvers: Sequence[str] | None = None,
        timeout: float | timedelta | None = None,
        escalate_to: Sequence[str] | None = None,
        step_id: str | None = None,
    ) -> dict[str, Any]:
        """Wait, durably, for a person to approve or reject; the decision
        `{"id", "decision": "approve"|"reject", "by", "at", "comment", "value"}` (`by` the
        decider's token subject, `at` epoch ms, `value` the JSON value the decision gave or
        None). ApprovalExpired when it timed out for good."""
        run = self._current_run("wait_for_approval")
        request = ApprovalRequest.of(name, payload, approvers, timeout, escalate_to)
        local = step_id or run.next_step_id()
        action = functools.partial(wait_for_approval, self, request, f"{run.run_id}/{local}")
        outcome: dict[str, Any] = await self._host.runs.do(action, step_id=local, depth=APPROVAL_DEPTH)
        if outcome["decision"] == "expired":
            raise ApprovalExpired(str(outcome["id"]), name)
        return outcome

    async def wait_for_event(
        self,
        event_type: str,
        *,
        match: Mapping[str, Any] | None = None,
        timeout: float | timedelta | None = None,
        step_id: str | None = None,
    ) -> dict[str, Any]:
        """Wait, durably, for an event emitted after the wait began whose type matches
        `event_type` (a pattern: `Order.*`) and whose data holds `match` (`fields_match`);
        the event `{"id", "type", "data", "timestamp", "subject", "object"}`.
        EventWaitExpired when none came within `timeout` seconds."""
        run = self._current_run("wait_for_event")
        wait = EventWait.of(event_type, match, timeout)
        local = step_id or run.next_step_id()
        action = functools.partial(wait_for_event, self, wait, f"{run.run_id}/{local}")
        outcome: dict[str, Any] = await self._host.runs.do(action, step_id=local, depth=WAIT_STEP_DEPTH)
        if outcome.get("expired"):
            raise EventWaitExpired(wait.pattern)
        event: dict[str, Any] = outcome["event"]
        return event

    @staticmethod
    def _current_run(what: str) -> RunContext:
        run = CURRENT_RUN.get()
        if run is None:
            raise RuntimeError(
                f"{what}() suspends a workflow run: call it inside a @workflow method "
                "(started with start_workflow or POST /workflows/:name)"
            )
        return run

    def _approval_outcome(self, request: ApprovalRequest, step: str) -> dict[str, Any]:
        row = self._store.current_approval(step)
        if row is None:
            run_id = step.rpartition("/")[0]
            self._host.sql.transaction(
                lambda: self._request(
                    new_id(),
                    request.name,
                    request.payload,
                    request.approvers,
                    request.escalate_to,
                    request.timeout_ms,
                    run_id,
                    step,
                    None,
                )
            )
            raise Suspend(None)
        if row["status"] == "pending":
            raise Suspend(None)  # replayed for another reason (a lost lease): still waiting
        return {
            "id": str(row["id"]),
            "decision": DECIDED[str(row["status"])],
            "by": row["decided_by"],
            "at": None if row["decided_at"] is None else int(row["decided_at"]),
            "comment": row["comment"],
            "value": decision_value(row),
        }

    def _request(
        self,
        approval_id: str,
        name: str,
        payload: str,
        approvers: Sequence[str] | None,
        escalate_to: Sequence[str] | None,
        timeout_ms: int | None,
        run_id: str,
        step: str,
        escalated_from: str | None,
    ) -> dict[str, Any]:
        now = self._host.timers.now()
        self._store.add_approval(
            approval_id,
            name,
            payload,
            None if approvers is None else json.dumps(builtins.list(approvers)),
            None if escalate_to is None else json.dumps(builtins.list(escalate_to)),
            timeout_ms,
            run_id,
            step,
            now,
            escalated_from,
        )
        approval = self._public(approval_id)
        self._emit("Approval.requested", Record(APPROVAL_DEPTH, approval), None, None)
        if timeout_ms is not None:
            self._host.timers.changed()
        return approval

    def _event_outcome(self, wait: EventWait, step: str) -> dict[str, Any]:
        row = self._store.wait(step)
        if row is None:
            expires_at = None
            if wait.timeout_ms is not None:
                expires_at = self._host.timers.now() + wait.timeout_ms
                self._host.timers.changed()
            run_id = step.rpartition("/")[0]
            self._store.add_wait(step, run_id, wait.pattern, wait.match, self._host.timers.now(), expires_at)
            self._waits = None
            raise Suspend(None)
        if row["status"] == "waiting":
            raise Suspend(None)
        if row["status"] == "expired":
            return {"expired": True}
        return {"event": json.loads(str(row["event"]))}

    def _observe(self, event: Event) -> None:
        """Every emitted event, in its transaction: the waits it matches end, their runs wake."""
        if self._waits is None:
            self._waits = self._store.waiting()
        for wait in self._waits:
            if wait["expires_at"] is not None and int(wait["expires_at"]) <= event.timestamp:
                # Its time ran out before this event and the alarm has not ended it yet:
                # it ends as expired, as the alarm would have, and matches nothing.
                self._expire_wait(wait)
                self._host.timers.changed()
                continue
            match = None if wait["match"] is None else json.loads(str(wait["match"]))
            if not pattern_matches(str(wait["pattern"]), event.type) or not fields_match(match, event.data):
                continue
            matched = encode_value(event.to_dict(), "event", depth=around(1, depth_of(event.data)))
            if self._store.end_wait(str(wait["step"]), "matched", matched):
                self._host.runs.wake(str(wait["run_id"]))
            self._waits = None
        if self._waits is None:
            self._host.sql.on_rollback(self._forget_waits)

    def _forget_waits(self) -> None:
        self._waits = None

    # -- approvals -------------------------------------------------------------

    def approval(self, approval_id: str) -> dict[str, Any]:
        """One approval as a read answers it (`read_view`), writing nothing; 404
        `approval_not_found` when none; the id in any case."""
        return read_view(self._row(made_id(approval_id)), self._host.timers.now())

    def _row(self, approval_id: str) -> Row:
        row = self._store.approval(approval_id) if isinstance(approval_id, str) else None
        if row is None:
            raise NotFound(f"No approval {approval_id!r}", code="approval_not_found")
        return row

    def _public(self, approval_id: str) -> dict[str, Any]:
        """One approval as stored (`public`); 404 `approval_not_found` when there is none."""
        return public(self._row(approval_id))

    def approvals(self, status: str | None = None, limit: int = 100) -> builtins.list[dict[str, Any]]:
        """The first page of `approvals_page`: its items, a list."""
        items: builtins.list[dict[str, Any]] = self.approvals_page(status, limit)["items"]
        return items

    def approvals_page(
        self, status: str | None = None, limit: int = 100, cursor: str | None = None
    ) -> dict[str, Any]:
        """Approvals with `status` (one of STATUSES; None: all), oldest request first (by
        `requested_at`, then id): `{"items", "has_more", "cursor"}`, at most `limit` (1 to
        1000) after `cursor` (the previous page's), fewer where they pass MAX_PAGE_BYTES. Each
        is as `approval` answers it at the page's read: an overdue one is expired, never
        pending; a walk answers each approval once, by its place. Writes nothing. 400
        `invalid_status`, `invalid_limit`, `invalid_cursor`."""
        if status is not None and status not in STATUSES:
            raise BadRequest(f"status is one of {', '.join(STATUSES)}", code="invalid_status")
        limit = checked_limit(limit, MAX_LIST)
        after, now = None if cursor is None else timed_cursor(cursor), self._host.timers.now()
        rows, cut = self._store.approvals(status, after, limit + 1, now)
        return timed_page([read_view(row, now) for row in rows], limit, "requested_at", more=cut)

    async def decide(
        self,
        approval_id: str,
        decision: str,
        comment: str | None,
        by: Capability | None,
        *,
        value: Any = None,
    ) -> dict[str, Any]:
        """Record a decision on a pending approval by the holder of `by` (its subject is
        who decided), with an optional `value` (any JSON value: the answer the decision
        gives, e.g. the cascade's human tier's; None: none), emit `Approval.approved` /
        `Approval.rejected`, and resume the run waiting on it (returns once the run
        finished or waits again); the approval after.

        400 `invalid_decision` (not "approve" or "reject"), `invalid_comment` (not text of
        at most 4000 characters), `invalid_data` (a value that is not JSON or is nested
        deeper than 32 levels, as event data); 413 `value_too_large` (a value past 1 MiB
        of JSON); 404 `approval_not_found`; 403 `approver_not_allowed` when the approval
        names its approvers and the token's subject is not one of them; 409
        `approval_decided` (decided already) or `approval_expired` (also when its time ran
        out and the alarm has not ended it yet: it times out first, escalating if it names
        `escalate_to`, exactly as the alarm would have); then 413
        `value_too_large` when the value and the approval's payload together pass 1 MiB
        (`Approval.approved` carries both as its data: ADR 0014 keeps an event's row far
        from SQLite's 2 MB). Checked in that order: who may decide before the approval's
        state, so that a caller who may not decide it learns nothing of whether or how it
        was decided. The id in any case, as `approval` takes it."""
        approval_id = made_id(approval_id)
        if decision not in DECISIONS:
            raise BadRequest('decision is "approve" or "reject"', code="invalid_decision")
        if comment is not None and (not isinstance(comment, str) or len(comment) > MAX_COMMENT_LENGTH):
            raise BadRequest(
                f"comment is text of at most {MAX_COMMENT_LENGTH} characters", code="invalid_comment"
            )
        stored = None if value is None else encode_value(value, "a decision's value", MAX_VALUE_BYTES)
        current = self._public(approval_id)
        who = None if by is None else by.sub
        if current["approvers"] is not None and who not in current["approvers"]:
            only = f"Approval {approval_id!r} may be decided by {', '.join(current['approvers'])} only"
            raise Forbidden(f"{only}; {described(by)}", code="approver_not_allowed")
        now = self._host.timers.now()
        row = self._store.approval(approval_id)
        if row is not None and overdue(row, now):
            # Its time ran out and the alarm that ends it has not run yet (the object was
            # away, or the alarm is late): it times out now, as the alarm would have.
            await self._time_out(row, now)
            current = self._public(approval_id)
        if current["status"] == "expired":
            later = f"; it escalated to {current['escalated_to']}" if current["escalated_to"] else ""
            raise Conflict(f"Approval {approval_id!r} expired{later}", code="approval_expired")
        if current["status"] != "pending":
            raise Conflict(
                f"Approval {approval_id!r} was {current['status']} by {current['decided_by']!r} already",
                code="approval_decided",
            )
        if stored is not None:
            room = MAX_VALUE_BYTES - len(encode_value(current["payload"], "payload").encode())
            if len(stored.encode()) > room:
                raise PayloadTooLarge(
                    f"a decision's value is at most {room} bytes as JSON on approval {approval_id!r}: "
                    f"with its payload, at most {MAX_VALUE_BYTES} (Approval.{DECISIONS[decision]} "
                    "carries both)",
                    code="value_too_large",
                )
        status = DECISIONS[decision]
        run_id = str(current["run_id"])

        def record() -> None:
            if not self._store.decide(approval_id, status, who, comment, stored, self._host.timers.now()):
                raise Conflict(f"Approval {approval_id!r} was decided already", code="approval_decided")
            self._host.runs.wake(run_id)
            self._emit(f"Approval.{status}", Record(APPROVAL_DEPTH, self._public(approval_id)), None, None)

        self._host.sql.transaction(record)
        await faults.reach(faults.APPROVAL_DECIDED, approval_id)
        await self._host.runs.resume(run_id)
        return self.approval(approval_id)

    # -- the timer source --------------------------------------------------------

    def next_wake(self) -> int | None:
        """The earliest timeout of a pending approval or a waiting wait (epoch ms), or None."""
        return self._store.next_at()

    async def run_due(self, now: int) -> int:
        """Expire what timed out by `now`: an approval escalates (once) when it names
        `escalate_to`, else it and every wait expire and their runs resume."""
        done = 0
        for row in self._store.due_approvals(now, DUE_BATCH):
            await self._time_out(row, now)
            done += 1
        for row in self._store.due_waits(now, DUE_BATCH):
            self._host.sql.transaction(functools.partial(self._expire_wait, row))
            await self._host.runs.resume(str(row["run_id"]))
            done += 1
        if done:
            self._host.timers.changed()
        return done

    async def _time_out(self, row: Row, now: int) -> None:
        """An overdue approval times out in one transaction: it escalates (once) when it names
        `escalate_to`, else it expires and its run resumes; one no longer pending (`row` read
        before an await) stays. Only the timer and a decision (write scopes) time one out."""
        final = row["escalate_to"] is None or row["escalated_from"] is not None
        settle = self._expire_approval if final else self._escalate
        done = self._host.sql.transaction(functools.partial(settle, row, now))
        self._host.timers.changed()
        if final and done:
            await self._host.runs.resume(str(row["run_id"]))

    def _escalate(self, row: Row, now: int) -> bool:
        successor, target = new_id(), json.loads(str(row["escalate_to"]))
        if not self._store.expire(str(row["id"]), now, successor):
            return False  # timed out (or decided) since `row` was read: it escalated once
        timeout = None if row["timeout_ms"] is None else int(row["timeout_ms"])
        escalated = self._request(
            successor,
            str(row["name"]),
            str(row["payload"]),
            target,
            None,
            timeout,
            str(row["run_id"]),
            str(row["step"]),
            str(row["id"]),
        )
        moved = {"from": self._public(str(row["id"])), "to": escalated}
        self._emit("Approval.escalated", Record(APPROVAL_EVENT_DEPTH, moved), None, None)
        self._log.info("approval %s (%s) escalated to %s as %s", row["id"], row["name"], target, successor)
        return True

    def _expire_approval(self, row: Row, now: int) -> bool:
        if not self._store.expire(str(row["id"]), now, None):  # not pending since `row` was read
            return False
        self._host.runs.wake(str(row["run_id"]))
        self._emit("Approval.expired", Record(APPROVAL_DEPTH, self._public(str(row["id"]))), None, None)
        return True

    def _expire_wait(self, row: Row) -> None:
        if self._store.end_wait(str(row["step"]), "expired", None):
            self._host.runs.wake(str(row["run_id"]))
        self._waits = None
