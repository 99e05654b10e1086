"""DOFull's approval routes: `GET /approvals`, `GET /approvals/:id` and `POST
/approvals/:id`. Each renders the RPC method of the same operation (`approvals_page`,
`approval`, `decide_approval`), so both answer the same value."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dotdo.core.http import HttpRequest, HttpResponse, json_response
from dotdo.core.router import Router
from dotdo.errors import BadRequest
from dotdo.remote.fields import invoke_body

if TYPE_CHECKING:
    from dotdo.full.durable import DOFull

__all__ = ["ApprovalRoutes"]


class ApprovalRoutes:
    """The routes of human in the loop, answering through `host`'s RPC methods."""

    def __init__(self, host: DOFull) -> None:
        self._host = host

    def routes(self, router: Router) -> None:
        """`GET /approvals?status=&limit=&cursor=`, `GET /approvals/:id` (scope read) and
        `POST /approvals/:id` (scope approve)."""
        router.get("/approvals", scope="read", query=("status", "limit", "cursor"))(self._approvals)
        router.get("/approvals/:id", scope="read", query=())(self._approval)
        router.post("/approvals/:id", scope="approve", query=())(self._decide)

    async def _approvals(self, request: HttpRequest) -> HttpResponse:
        limit = request.query_int("limit", 100)
        cursor = request.query("cursor") or None
        return json_response(self._host.approvals_page(request.query("status"), limit, cursor))

    async def _approval(self, request: HttpRequest) -> HttpResponse:
        return json_response(self._host.approval(request.params["id"]))

    async def _decide(self, request: HttpRequest) -> HttpResponse:
        body = request.json()
        if not isinstance(body, dict) or "decision" not in body:
            raise BadRequest(
                'Body is {"decision": "approve" | "reject", "comment": text, "value": JSON}',
                code="invalid_decision",
            )
        fields = {"decision": "decision", "comment": "comment", "value": "value"}
        path = {"approval_id": request.params["id"]}
        return json_response(await invoke_body(self._host.decide_approval, body, fields, path=path))
