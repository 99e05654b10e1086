"""DOFull: DOWorkflow plus AI, human-in-the-loop, fan-out and the cascade.

    class Desk(DOFull):
        @workflow
        async def refund(self, request: dict) -> str:
            decision = await self.wait_for_approval("refund", request)   # durable: no process waits
            ...

Each part is a component of its own module in this package, owning its tables, and
reaches the object only through the layer below's documented seams (its SQL, timer
service, run engine and event bus). This class keeps the hooks, routes and RPC methods.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any, ClassVar

from dotdo.core.access import caller
from dotdo.core.http import HttpRequest, HttpResponse, json_response
from dotdo.core.migrations import Component
from dotdo.core.namespace import Layer
from dotdo.core.router import Router
from dotdo.errors import BadRequest
from dotdo.full.hitl import HumanLoop
from dotdo.full.hitl_store import HITL_TABLES
from dotdo.remote.calls import body_arguments, invoke
from dotdo.remote.marks import rpc, seal_rpc_surface
from dotdo.workflows.durable import DOWorkflow

__all__ = ["DOFull"]


class DOFull(DOWorkflow):
    """DOWorkflow plus the agent layer: approvals and waits for events, fan-out across
    objects, an AI provider and semantic search, and the cascade of code, AI and human.

    Made by the runtime with `ctx` (the DurableObjectState) and `env` (the bindings), as
    DOWorkflow is.
    """

    _dotdo_layer: ClassVar[Layer] = Layer.of(attributes=("hitl",))

    def __init__(self, ctx: Any, env: Any) -> None:
        super().__init__(ctx, env)
        # -- human in the loop --
        self.hitl: HumanLoop = HumanLoop(self)

    # -- hooks -------------------------------------------------------------

    def migrations(self) -> builtins.list[Component]:
        """DOWorkflow's components, then each part's: `hitl` (approvals, waits for events)."""
        return [*super().migrations(), HITL_TABLES]

    def routes(self, router: Router) -> None:
        """DOWorkflow's routes, then each part's: `GET /approvals`, `GET /approvals/:id`
        and `POST /approvals/:id` (human in the loop)."""
        super().routes(router)
        # -- human in the loop --
        router.get("/approvals", scope="read")(self._http_approvals)
        router.get("/approvals/:id", scope="read")(self._http_approval)
        router.post("/approvals/:id", scope="approve")(self._http_decide)

    # -- human in the loop ---------------------------------------------------

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
        """Inside a `@workflow`: ask for an approval and wait for it durably, as a step.

        Records a pending approval named `name` carrying `payload` (JSON), emits
        `Approval.requested` and suspends the run: no process waits, the run is `waiting`
        with no timer. Deciding it (`POST /approvals/:id`, `decide_approval`) resumes the
        run at this step, which returns `{"id", "decision": "approve"|"reject", "by",
        "at", "comment"}` (`by` the decider's token subject, `at` epoch ms); the steps
        before it are not run again. `approvers` (token subjects) restricts who may
        decide. After `timeout` seconds undecided it raises ApprovalExpired (the workflow
        may catch it), or with `escalate_to` a new approval for those subjects replaces
        it (`Approval.escalated`), with the same timeout and no further escalation.
        `step_id` names the step (default: its position, as `do`'s).

        RuntimeError outside a workflow run; ValueError / TypeError for bad arguments.
        """
        return await self.hitl.wait_for_approval(
            name, payload, approvers=approvers, timeout=timeout, escalate_to=escalate_to, step_id=step_id
        )

    async def wait_for_event(
        self,
        event_type: str,
        *,
        match: Mapping[str, Any] | None = None,
        timeout: float | timedelta | None = None,
        step_id: str | None = None,
    ) -> dict[str, Any]:
        """Inside a `@workflow`: wait durably, as a step, for an event emitted after the
        wait began whose type matches `event_type` (a pattern, `Order.*`) and whose data
        holds every value of `match` (`{"order.id": "o-1"}`: paths of fields joined by
        dots); returns the event `{"id", "type", "data", "timestamp", "subject",
        "object"}`. EventWaitExpired after `timeout` seconds without one.

        RuntimeError outside a workflow run; 400 `invalid_event_pattern`, TypeError /
        ValueError for bad arguments."""
        return await self.hitl.wait_for_event(event_type, match=match, timeout=timeout, step_id=step_id)

    @rpc(scope="read")
    def approvals(self, status: str | None = None, limit: int = 100) -> builtins.list[dict[str, Any]]:
        """Approvals, oldest request first: those with `status` ("pending", "approved",
        "rejected", "expired"; None: all), at most `limit` (1 to 1000). Each is `{"id",
        "name", "payload", "status", "approvers", "escalate_to", "run_id", "step",
        "requested_at", "expires_at", "decided_by", "decided_at", "comment",
        "escalated_from", "escalated_to"}`. 400 `invalid_status`, `invalid_limit`."""
        return self.hitl.approvals(status, limit)

    @rpc(scope="read")
    def approval(self, approval_id: str) -> dict[str, Any]:
        """One approval (the shape `approvals` lists); 404 `approval_not_found`."""
        return self.hitl.approval(approval_id)

    @rpc(scope="approve")
    async def decide_approval(
        self, approval_id: str, decision: str, comment: str | None = None
    ) -> dict[str, Any]:
        """Decide a pending approval: `decision` "approve" or "reject", with an optional
        `comment`. Who decided is the subject of the capability token the call came
        with (None for a token without one, or a call no surface authorized). The
        decision is recorded and emitted (`Approval.approved` / `Approval.rejected`) and
        the waiting run resumes; returns the approval after.

        Needs the `approve` scope. 400 `invalid_decision`, `invalid_comment`; 403
        `approver_not_allowed` (the approval names its approvers, the subject is not one);
        404 `approval_not_found`; 409 `approval_decided` or `approval_expired`."""
        return await self.hitl.decide(approval_id, decision, comment, caller())

    async def _http_approvals(self, request: HttpRequest) -> HttpResponse:
        limit = request.query_int("limit", 100)
        return json_response({"items": self.approvals(request.query("status"), limit)})

    async def _http_approval(self, request: HttpRequest) -> HttpResponse:
        return json_response(self.approval(request.params["id"]))

    async def _http_decide(self, request: HttpRequest) -> HttpResponse:
        body = request.json()
        if not isinstance(body, dict) or "decision" not in body:
            raise BadRequest(
                'Body is {"decision": "approve" | "reject", "comment": optional text}',
                code="invalid_decision",
            )
        arguments = {
            "approval_id": request.params["id"],
            **body_arguments(body, {"decision": "decision", "comment": "comment"}),
        }
        return json_response(await invoke(self.decide_approval, arguments))


seal_rpc_surface(DOFull)
