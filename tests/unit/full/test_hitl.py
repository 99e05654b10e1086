"""Human in the loop in-process: a run waiting for an approval or an event holds no timer
and no task, resumes at its step when decided (the steps before it are not run again, even
across a restart or a crash between the decision and the replay), times out into
ApprovalExpired or an escalation, and refuses bad decisions with stable codes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dotdo.core import faults
from dotdo.core.migrations import migrate
from dotdo.errors import (
    ApprovalExpired,
    BadRequest,
    Conflict,
    EventWaitExpired,
    Forbidden,
    NotFound,
    PayloadTooLarge,
)
from dotdo.full.hitl import HumanLoop
from dotdo.full.hitl_store import HITL_TABLES
from dotdo.full.hitl_values import fields_match
from dotdo.wire.tokens import Capability
from dotdo.workflows.steps import workflow
from tests.inprocess import T0, App, InProcess, run
from tests.unit.semantic.test_event_depth import arrays


class Crash(BaseException):
    """The runtime dying under the engine (nothing after it runs)."""


def person(sub: str | None) -> Capability:
    return Capability(target="*", scope="approve", methods=None, exp=None, sub=sub)


class Desk(InProcess):
    """The engine with the `hitl` component composed on it, as DOFull composes it."""

    def __init__(self, app: type[App], *args: Any, **kwargs: Any) -> None:
        super().__init__(app, *args, **kwargs)
        migrate(self.sql, [HITL_TABLES], self.clock())
        self.hitl = HumanLoop(self)
        self.timers.changed()
        self.timers.rearm()

    def restart(self, app: type[App] | None = None) -> Desk:
        return Desk(app or self.app_class, self.storage, self.clock, self.policy, journal=self.journal)


class Refunds(App):
    async def effect(self, name: str) -> str:
        self.log.append(("ran", name))
        return f"{name}-done"

    @property
    def hitl(self) -> HumanLoop:
        assert isinstance(self.obj, Desk)
        return self.obj.hitl

    @workflow
    async def refund(self, request: dict[str, Any]) -> dict[str, Any]:
        prepared = await self.obj.runs.do(self.effect, "prepare")
        decision = await self.hitl.wait_for_approval(
            "refund",
            request,
            approvers=request.get("approvers"),
            timeout=request.get("timeout"),
            escalate_to=request.get("escalate_to"),
        )
        paid = await self.obj.runs.do(self.effect, "pay")
        return {"prepared": prepared, "decision": decision, "paid": paid}

    @workflow
    async def tolerant(self, request: dict[str, Any]) -> str:
        try:
            await self.hitl.wait_for_approval("refund", request, timeout=request["timeout"])
        except ApprovalExpired as expired:
            return f"expired {expired.code}"
        return "decided"

    @workflow
    async def shipping(self, order_id: str) -> Any:
        await self.obj.runs.do(self.effect, "ordered")
        try:
            event = await self.hitl.wait_for_event("Order.shipped", match={"order.id": order_id}, timeout=60)
        except EventWaitExpired as expired:
            return expired.code
        return event["data"]


@pytest.fixture(autouse=True)
def clean() -> Iterator[None]:
    yield
    faults.disarm_all()


def ran(obj: InProcess, name: str) -> int:
    return sum(1 for entry in obj.journal if entry == ("ran", name))


def events(obj: InProcess, prefix: str) -> list[dict[str, Any]]:
    rows = obj.rows("SELECT type, data FROM events WHERE type LIKE ? ORDER BY id", f"{prefix}%")
    return [{"type": row["type"], "data": row["data"]} for row in rows]


def test_a_run_waits_for_an_approval_with_no_timer_and_resumes_at_its_step_when_approved() -> None:
    obj = Desk(Refunds)
    started = run(obj.runs.start("refund", {"amount": 30}, "r-1"))
    assert started["status"] == "waiting" and started["next_at"] is None
    assert obj.storage.alarm is None  # nothing wakes the object while it waits
    [pending] = obj.hitl.approvals("pending")
    assert pending["name"] == "refund" and pending["payload"] == {"amount": 30}
    assert pending["run_id"] == "r-1" and pending["expires_at"] is None
    assert [e["type"] for e in events(obj, "Approval.")] == ["Approval.requested"]

    again = obj.restart()  # evicted while waiting
    assert run(again.tick(3_600_000))["workflows"] == 0
    decided = run(again.hitl.decide(pending["id"], "approve", "fine", person("alice")))
    assert (
        decided["status"] == "approved" and decided["decided_by"] == "alice" and decided["comment"] == "fine"
    )
    done = again.runs.status("r-1")
    assert done["status"] == "completed"
    assert done["result"]["decision"] == {
        "id": pending["id"],
        "decision": "approve",
        "by": "alice",
        "at": T0 + 3_600_000,
        "comment": "fine",
        "value": None,  # the decision gave none
    }
    assert (ran(again, "prepare"), ran(again, "pay")) == (1, 1)  # the step before ran exactly once
    assert [e["type"] for e in events(again, "Approval.")] == ["Approval.requested", "Approval.approved"]
    with pytest.raises(Conflict) as twice:
        run(again.hitl.decide(pending["id"], "reject", None, person("alice")))
    assert twice.value.code == "approval_decided"
    assert again.hitl.approvals("approved") == [again.hitl.approval(pending["id"])]


def test_a_decisions_value_is_stored_shown_emitted_and_returned_across_a_restart() -> None:
    obj = Desk(Refunds)
    run(obj.runs.start("refund", {"amount": 30}, "r-v"))
    [pending] = obj.hitl.approvals("pending")
    value = {"queue": "tech", "ids": [1, 2], "ok": True, "none": None}
    with pytest.raises(BadRequest) as not_json:
        run(obj.hitl.decide(pending["id"], "approve", None, person("ann"), value=float("nan")))
    assert not_json.value.code == "invalid_data"
    deep: Any = "x"
    for _ in range(40):
        deep = [deep]
    with pytest.raises(BadRequest) as nested:
        run(obj.hitl.decide(pending["id"], "approve", None, person("ann"), value=deep))
    assert nested.value.code == "invalid_data"
    with pytest.raises(PayloadTooLarge) as large:
        run(obj.hitl.decide(pending["id"], "approve", None, person("ann"), value="v" * (1 << 20)))
    assert large.value.code == "value_too_large"
    assert obj.hitl.approval(pending["id"])["status"] == "pending"  # nothing refused was kept

    again = obj.restart()
    decided = run(again.hitl.decide(pending["id"], "approve", "ok", person("ann"), value=value))
    assert decided["value"] == value and decided["comment"] == "ok"
    assert again.runs.status("r-v")["result"]["decision"]["value"] == value
    [approved] = [e for e in events(again, "Approval.approved")]
    assert json.loads(str(approved["data"]))["value"] == value
    assert obj.restart().hitl.approval(pending["id"])["value"] == value  # read back from its row


def test_a_value_and_the_payload_together_stay_within_event_datas_limit() -> None:
    obj = Desk(Refunds)
    run(obj.runs.start("refund", {"blob": "p" * 600_000}, "r-big"))
    [pending] = obj.hitl.approvals("pending")
    payload_bytes = len(json.dumps(pending["payload"], separators=(",", ":")).encode())
    room = (1 << 20) - payload_bytes
    with pytest.raises(PayloadTooLarge) as large:  # its JSON is the string and two quotes
        run(obj.hitl.decide(pending["id"], "approve", None, person("ann"), value="v" * (room - 1)))
    assert large.value.code == "value_too_large" and f"at most {room} bytes" in str(large.value)
    decided = run(obj.hitl.decide(pending["id"], "approve", None, person("ann"), value="v" * (room - 2)))
    assert len(decided["value"]) == room - 2


def test_a_rejection_is_the_steps_answer_and_the_workflow_decides_what_it_means() -> None:
    obj = Desk(Refunds)
    run(obj.runs.start("refund", {"amount": 5}, "r-2"))
    [pending] = obj.hitl.approvals("pending")
    run(obj.hitl.decide(pending["id"], "reject", None, person(None)))
    result = obj.runs.status("r-2")["result"]
    assert result["decision"]["decision"] == "reject" and result["decision"]["by"] is None


def test_a_crash_between_the_decision_and_the_replay_resumes_from_the_alarm() -> None:
    obj = Desk(Refunds)
    run(obj.runs.start("refund", {"amount": 1}, "r-3"))
    [pending] = obj.hitl.approvals("pending")

    async def crash() -> None:
        raise Crash

    faults.arm(faults.APPROVAL_DECIDED, pending["id"], crash)
    with pytest.raises(Crash):
        run(obj.hitl.decide(pending["id"], "approve", None, person("bob")))
    back = obj.restart()
    assert back.runs.status("r-3")["status"] == "waiting"
    assert back.storage.alarm == T0  # the decision made the run due in its own transaction
    assert run(back.tick(0))["workflows"] == 1
    assert back.runs.status("r-3")["status"] == "completed"
    assert (ran(back, "prepare"), ran(back, "pay")) == (1, 1)


def test_approvers_restrict_who_decides_and_bad_decisions_are_refused_with_codes() -> None:
    obj = Desk(Refunds)
    run(obj.runs.start("refund", {"amount": 9, "approvers": ["carol"]}, "r-4"))
    [pending] = obj.hitl.approvals("pending")
    assert pending["approvers"] == ["carol"]
    for who in ("mallory", None):
        with pytest.raises(Forbidden) as refused:
            run(obj.hitl.decide(pending["id"], "approve", None, person(who)))
        assert refused.value.code == "approver_not_allowed"
    with pytest.raises(Forbidden) as refused:
        run(obj.hitl.decide(pending["id"], "approve", None, None))
    assert "no token was read (open access" in refused.value.message  # not "subject is None"
    # Open access lets a request in with a capability that names no one: the same words,
    # not "the token's subject is None" (no token was read).
    open_access = Capability(target="*", scope="admin", methods=None, exp=None, sub=None, root="")
    with pytest.raises(Forbidden) as refused:
        run(obj.hitl.decide(pending["id"], "approve", None, open_access))
    assert "no token was read (open access" in refused.value.message
    assert "DOTDO_SECRET" in refused.value.message
    unnamed = Capability(target="*", scope="approve", methods=None, exp=None, sub=None, root="t1")
    with pytest.raises(Forbidden) as refused:
        run(obj.hitl.decide(pending["id"], "approve", None, unnamed))
    assert "the token names no subject" in refused.value.message
    for decision, comment, code in (
        ("yes", None, "invalid_decision"),
        ("approve", "x" * 4001, "invalid_comment"),
    ):
        with pytest.raises(BadRequest) as bad:
            run(obj.hitl.decide(pending["id"], decision, comment, person("carol")))
        assert bad.value.code == code
    with pytest.raises(NotFound) as missing:
        run(obj.hitl.decide("nope", "approve", None, person("carol")))
    assert missing.value.code == "approval_not_found"
    for status, limit, code in (("done", 10, "invalid_status"), (None, 0, "invalid_limit")):
        with pytest.raises(BadRequest) as listing:
            obj.hitl.approvals(status, limit)
        assert listing.value.code == code
    assert obj.hitl.approval(pending["id"])["status"] == "pending"  # nothing refused changed it
    run(obj.hitl.decide(pending["id"], "approve", None, person("carol")))
    assert obj.runs.status("r-4")["status"] == "completed"


def test_who_may_decide_is_checked_before_the_approvals_state() -> None:
    """A caller who may not decide an approval is refused 403 `approver_not_allowed` whether
    it is pending, decided or expired: the 409 `approval_decided` / `approval_expired` it
    got told it the approval's state. An unknown id is still 404 first."""
    obj = Desk(Refunds)
    run(obj.runs.start("refund", {"amount": 1, "approvers": ["carol"]}, "r-8"))
    run(obj.runs.start("refund", {"amount": 2, "approvers": ["carol"], "timeout": 10}, "r-9"))
    ids = {a["run_id"]: a["id"] for a in obj.hitl.approvals("pending")}
    run(obj.hitl.decide(ids["r-8"], "approve", None, person("carol")))
    assert run(obj.tick(10_000))["hitl"] == 1
    assert obj.hitl.approval(ids["r-9"])["status"] == "expired"
    for run_id, state in (("r-8", "approval_decided"), ("r-9", "approval_expired")):
        for who in ("mallory", None):
            with pytest.raises(Forbidden) as refused:
                run(obj.hitl.decide(ids[run_id], "reject", None, person(who)))
            assert refused.value.code == "approver_not_allowed", run_id
        with pytest.raises(Conflict) as conflict:
            run(obj.hitl.decide(ids[run_id], "reject", None, person("carol")))
        assert conflict.value.code == state
    with pytest.raises(NotFound) as missing:
        run(obj.hitl.decide("nope", "approve", None, person("mallory")))
    assert missing.value.code == "approval_not_found"
    assert obj.hitl.approval(ids["r-8"])["status"] == "approved"  # nothing refused changed it


def test_an_expired_approval_raises_approval_expired_which_the_workflow_may_catch() -> None:
    obj = Desk(Refunds)
    run(obj.runs.start("tolerant", {"timeout": 10}, "t-1"))
    run(obj.runs.start("refund", {"amount": 2, "timeout": 10}, "r-5"))
    assert obj.storage.alarm == T0 + 10_000  # the timeout's timer, on the component
    assert run(obj.tick(9_999))["hitl"] == 0
    assert run(obj.tick(1))["hitl"] == 2
    assert obj.runs.status("t-1")["result"] == "expired approval_expired"
    failed = obj.runs.status("r-5")
    assert failed["status"] == "failed" and "approval_expired" in failed["error"]
    assert ran(obj, "pay") == 0
    expired = obj.hitl.approvals("expired")
    assert len(expired) == 2 and all(a["decided_by"] is None for a in expired)
    with pytest.raises(Conflict) as late:
        run(obj.hitl.decide(expired[0]["id"], "approve", None, person("x")))
    assert late.value.code == "approval_expired"
    assert obj.storage.alarm is None and obj.hitl.next_wake() is None  # nothing left to wake for


def test_an_approval_that_times_out_escalates_once_then_expires() -> None:
    obj = Desk(Refunds)
    request = {"amount": 700, "approvers": ["clerk"], "timeout": 60, "escalate_to": ["boss"]}
    run(obj.runs.start("refund", request, "r-6"))
    run(obj.runs.start("refund", {**request, "amount": 800}, "r-7"))
    assert run(obj.tick(60_000))["hitl"] == 2
    first, second = obj.hitl.approvals("expired")
    assert second["escalated_to"] is not None and second["status"] == "expired"
    assert first["escalated_to"] is not None
    escalated = obj.hitl.approval(first["escalated_to"])
    assert escalated["status"] == "pending" and escalated["approvers"] == ["boss"]
    assert escalated["escalated_from"] == first["id"] and escalated["expires_at"] == T0 + 120_000
    assert "Approval.escalated" in [e["type"] for e in events(obj, "Approval.")]
    with pytest.raises(Forbidden):
        run(obj.hitl.decide(escalated["id"], "approve", None, person("clerk")))
    run(obj.hitl.decide(escalated["id"], "approve", "ok", person("boss")))
    assert obj.runs.status("r-6")["result"]["decision"]["by"] == "boss"
    assert obj.runs.status("r-7")["status"] == "waiting"
    run(obj.tick(60_000))  # the escalation ran out too: no further escalation
    assert "approval_expired" in obj.runs.status("r-7")["error"]
    assert obj.hitl.approvals("pending") == []


def test_waits_are_refused_outside_a_workflow_run() -> None:
    obj = Desk(Refunds)
    with pytest.raises(RuntimeError, match="inside a @workflow"):
        run(obj.hitl.wait_for_approval("refund", {}))
    with pytest.raises(RuntimeError, match="inside a @workflow"):
        run(obj.hitl.wait_for_event("Order.shipped"))


def test_a_run_waits_for_a_matching_event_and_times_out_without_one() -> None:
    obj = Desk(Refunds)
    run(obj.bus.send("Order.shipped", {"order": {"id": "o-1"}}))  # before the wait: not seen
    assert run(obj.runs.start("shipping", "o-1", "s-1"))["status"] == "waiting"
    run(obj.runs.start("shipping", "o-2", "s-2"))
    run(obj.bus.send("Order.shipped", {"order": {"id": "o-3"}}))
    run(obj.bus.send("Order.packed", {"order": {"id": "o-1"}}))
    assert run(obj.tick(0))["workflows"] == 0  # neither matched
    run(obj.restart().bus.send("Order.shipped", {"order": {"id": "o-1"}, "carrier": "ups"}))
    back = obj.restart()
    assert run(back.tick(0))["workflows"] == 1  # the match woke the run, durably
    assert back.runs.status("s-1")["result"] == {"order": {"id": "o-1"}, "carrier": "ups"}
    assert run(back.tick(60_000))["hitl"] == 1
    assert back.runs.status("s-2")["result"] == "event_wait_expired"
    assert ran(back, "ordered") == 2  # once per run


def test_a_rolled_back_emit_matches_no_wait() -> None:
    obj = Desk(Refunds)
    run(obj.runs.start("shipping", "o-5", "s-5"))

    def emit_then_fail() -> None:
        obj.bus.emit("Order.shipped", {"order": {"id": "o-5"}})
        raise RuntimeError("the write failed")

    with pytest.raises(RuntimeError):
        obj.sql.transaction(emit_then_fail)
    assert run(obj.tick(0))["workflows"] == 0 and obj.runs.status("s-5")["status"] == "waiting"
    run(obj.bus.send("Order.shipped", {"order": {"id": "o-5"}}))
    run(obj.tick(0))
    assert obj.runs.status("s-5")["status"] == "completed"


JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.text(max_size=3),
    lambda inner: st.dictionaries(st.text("abc", min_size=1, max_size=2), inner, max_size=3),
    max_leaves=8,
)


def paths(value: Any, prefix: str = "") -> list[tuple[str, Any]]:
    if not isinstance(value, dict):
        return [(prefix, value)] if prefix else []
    found: list[tuple[str, Any]] = []
    for key, inner in value.items():
        if "." not in key:
            path = f"{prefix}.{key}" if prefix else key
            found += [(path, inner), *paths(inner, path)]
    return found


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.text("abc", min_size=1, max_size=2), JSON, max_size=4), st.data())
def test_fields_match_finds_every_value_at_its_path_and_nothing_else(data: dict[str, Any], draw: Any) -> None:
    assert fields_match(None, data) and fields_match({}, data)
    found = paths(data)
    if not found:
        return
    path, value = draw.draw(st.sampled_from(found))
    assert fields_match({path: value}, data)
    assert not fields_match({path: ["not", "there"]}, data)
    assert not fields_match({f"{path}.zz.zz": value}, data)
    if isinstance(value, bool):
        assert not fields_match({path: int(value)}, data)  # True is no 1, as in JSON


@pytest.mark.parametrize("run_id", ["", "a\x00b", "../x", ".", "..", "r" * 129, 7])
def test_a_run_id_is_checked_like_a_things_id(run_id: Any) -> None:
    """It is copied into the run's steps, its approvals and their events: a 1 MB id made
    every approvals page megabytes long."""
    obj = Desk(Refunds)
    with pytest.raises(BadRequest) as info:
        run(obj.runs.start("refund", {"amount": 30}, run_id))
    assert info.value.code == "invalid_run_id"
    assert obj.hitl.approvals("pending") == []


def test_a_decision_after_the_timeout_is_refused_before_the_alarm_ran() -> None:
    """The object was away when the approval's time ran out: the approver's decision is the
    first thing to arrive. It is a 409 `approval_expired`, and the approval times out then,
    as the alarm would have (its run resumes; one naming `escalate_to` escalates)."""
    obj = Desk(Refunds)
    run(obj.runs.start("refund", {"amount": 2, "timeout": 3}, "late-1"))
    request = {"amount": 7, "approvers": ["clerk"], "timeout": 3, "escalate_to": ["boss"]}
    run(obj.runs.start("refund", request, "late-2"))
    ids = {a["run_id"]: a["id"] for a in obj.hitl.approvals("pending")}
    back = obj.restart()
    back.clock.advance(18_000)  # past expires_at; the alarm has not run
    with pytest.raises(Conflict) as late:
        run(back.hitl.decide(ids["late-1"], "approve", None, person("x")))
    assert late.value.code == "approval_expired"
    assert back.hitl.approval(ids["late-1"])["status"] == "expired"
    failed = back.runs.status("late-1")
    assert failed["status"] == "failed" and "approval_expired" in failed["error"]
    with pytest.raises(Conflict) as escalated:
        run(back.hitl.decide(ids["late-2"], "approve", None, person("clerk")))
    assert escalated.value.code == "approval_expired" and "escalated to" in str(escalated.value)
    successor = back.hitl.approval(str(back.hitl.approval(ids["late-2"])["escalated_to"]))
    assert successor["status"] == "pending" and successor["approvers"] == ["boss"]
    assert back.runs.status("late-2")["status"] == "waiting"
    assert ran(back, "pay") == 0
    assert run(back.tick(0))["hitl"] == 0  # nothing left for the alarm to do twice
    types = [e["type"] for e in events(back, "Approval.")]
    assert types.count("Approval.expired") == 1 and types.count("Approval.escalated") == 1


def test_a_read_after_the_timeout_answers_what_a_decision_would_find_and_writes_nothing() -> None:
    """Listing or reading an overdue approval the alarm has not ended yet answers it as a
    decision would find it, expired (`overdue` until its timer records it), never pending;
    the read is read-scoped: no row written, no event, no run woken. The alarm then times
    it out (escalating it, or expiring it and resuming its run), once."""
    obj = Desk(Refunds)
    run(obj.runs.start("refund", {"amount": 2, "timeout": 3}, "late-1"))
    request = {"amount": 7, "approvers": ["clerk"], "timeout": 3, "escalate_to": ["boss"]}
    run(obj.runs.start("refund", request, "late-2"))
    run(obj.runs.start("refund", {"amount": 9}, "never"))  # no timeout: stays pending
    ids = {a["run_id"]: a["id"] for a in obj.hitl.approvals("pending")}
    back = obj.restart()
    back.clock.advance(18_000)  # past expires_at; the alarm has not run
    written, before = back.sql.rows_written, events(back, "Approval.")
    pending = back.hitl.approvals("pending")
    late = [back.hitl.approval(ids[run_id]) for run_id in ("late-1", "late-2")]
    expired = back.hitl.approvals("expired")
    listed = back.hitl.approvals()
    assert back.sql.rows_written == written  # was: each overdue one timed out by the read
    assert events(back, "Approval.") == before and back.runs.status("late-1")["status"] == "waiting"
    assert [(a["run_id"], a["overdue"]) for a in pending] == [("never", False)]
    assert [(a["status"], a["overdue"], a["escalated_to"]) for a in late] == [("expired", True, None)] * 2
    assert [a["id"] for a in expired] == [ids["late-1"], ids["late-2"]] and expired == late
    assert [a["status"] for a in listed] == ["expired", "expired", "pending"]
    with pytest.raises(Conflict) as refused:  # a decision (scope approve) times it out first
        run(back.hitl.decide(ids["late-2"], "approve", None, person("clerk")))
    assert refused.value.code == "approval_expired"
    successor = back.hitl.approval(ids["late-2"])["escalated_to"]
    assert successor is not None and back.hitl.approval(ids["late-2"])["overdue"] is False
    run(back.tick(0))  # the alarm: late-1 expires for good, its run resumes
    assert back.hitl.approval(ids["late-1"]) == {**late[0], "decided_at": 18_000 + T0, "overdue": False}
    failed = back.runs.status("late-1")
    assert failed["status"] == "failed" and "approval_expired" in failed["error"]
    assert [a["id"] for a in back.hitl.approvals("pending")] == [ids["never"], successor]
    types = [e["type"] for e in events(back, "Approval.")]
    assert types.count("Approval.expired") == 1 and types.count("Approval.escalated") == 1


def test_reading_one_overdue_approval_leaves_it_to_the_alarm() -> None:
    obj = Desk(Refunds)
    run(obj.runs.start("refund", {"amount": 2, "timeout": 3}, "late-1"))
    (approval,) = obj.hitl.approvals("pending")
    obj.clock.advance(4_000)
    written = obj.sql.rows_written
    read = obj.hitl.approval(approval["id"])
    assert (read["status"], read["overdue"], obj.sql.rows_written) == ("expired", True, written)
    assert obj.hitl.approvals("pending") == [] and obj.sql.rows_written == written
    run(obj.tick(0))
    assert obj.runs.status("late-1")["status"] == "failed"
    assert obj.hitl.approval(approval["id"])["overdue"] is False


def test_an_event_after_the_waits_timeout_does_not_match_before_the_alarm_ran() -> None:
    obj = Desk(Refunds)
    run(obj.runs.start("shipping", "o-9", "s-9"))  # waits 60 s
    obj.clock.advance(61_000)  # the alarm has not run
    run(obj.bus.send("Order.shipped", {"order": {"id": "o-9"}}))
    run(obj.tick(0))
    assert obj.runs.status("s-9")["result"] == "event_wait_expired"


class Watchful(Refunds):
    """A workflow that, told its approval ran out, reads the approvals (as an app's code
    may, e.g. to report what is still pending): the read runs while the alarm's pass is
    resuming this run, between two overdue approvals of that pass."""

    @workflow
    async def watchful(self, request: dict[str, Any]) -> Any:
        try:
            await self.hitl.wait_for_approval("refund", request, timeout=request["timeout"])
        except ApprovalExpired:
            return [a["id"] for a in self.hitl.approvals("pending")]
        return "decided"


def test_an_approval_read_out_while_the_alarm_resumes_another_times_out_once() -> None:
    """The alarm's pass read its overdue approvals at once and timed them out one by one,
    resuming a run after each that expired for good. A read of the approvals while that
    run resumed (from its own code here; over HTTP, any request arriving in the await)
    timed the next one out first; the pass then timed it out again from its stale row:
    a second escalation (two pending successors, `Approval.escalated` twice). A read
    writes nothing now (ADR 0058): it finds the next one expired, and the pass times it
    out once."""
    obj = Desk(Watchful)
    run(obj.runs.start("watchful", {"timeout": 3}, "first"))
    obj.clock.advance(1)
    request = {"amount": 7, "approvers": ["clerk"], "timeout": 3, "escalate_to": ["boss"]}
    run(obj.runs.start("refund", request, "second"))
    assert run(obj.tick(5_000))["hitl"] >= 1
    pending = obj.hitl.approvals("pending")
    assert [a["run_id"] for a in pending] == ["second"]  # one successor, not two
    assert obj.runs.status("first")["result"] == []  # the second was overdue then: expired
    types = [e["type"] for e in events(obj, "Approval.")]
    assert types.count("Approval.escalated") == 1 and types.count("Approval.expired") == 1
    run(obj.tick(0))
    assert [a["id"] for a in obj.hitl.approvals("pending")] == [pending[0]["id"]]


class Watcher(Refunds):
    @workflow
    async def watch(self, pattern: str) -> Any:
        return await self.hitl.wait_for_event(pattern, timeout=600)


def test_a_wait_matches_a_framework_event_whose_value_is_at_the_bound() -> None:
    """A wait's match is the event around its data (`{"data": ...}`), and the wait's step
    its own record around that (`{"event": ...}`): each counted on top of the data's own
    bound. With one flat allowance, `Approval.escalated` (an approval around a payload at
    the 32-level bound, `{"from": {"payload": ...}}`) failed to match, and so failed the
    escalation that emitted it."""
    obj = Desk(Watcher)
    run(obj.runs.start("watch", "Approval.escalated", "w-1"))
    deep = arrays(31)  # 32 levels with the payload object
    request = {"amount": 9, "approvers": ["clerk"], "timeout": 60, "escalate_to": ["boss"], "deep": deep}
    run(obj.runs.start("refund", request, "r-9"))
    run(obj.tick(60_000))
    run(obj.tick(0))
    (escalated,) = obj.hitl.approvals("pending")
    assert escalated["approvers"] == ["boss"] and escalated["payload"]["deep"] == deep
    status = obj.runs.status("w-1")
    assert status["status"] == "completed", status
    assert status["result"]["type"] == "Approval.escalated"
    assert status["result"]["data"]["from"]["payload"]["deep"] == deep
    again = obj.restart()  # the match and the wait's step are records: they read back whole
    assert again.runs.status("w-1")["result"] == status["result"]
