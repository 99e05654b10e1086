"""DOWorkflow's HTTP routes, each over the RPC method of the same operation (one operation,
one answer): events sent, delayed and dead; schedules; workflow runs started, listed and
read."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dotdo.core.http import HttpRequest, HttpResponse, json_response, rest_of_path
from dotdo.core.router import Router
from dotdo.errors import BadRequest, NotFound
from dotdo.remote.fields import invoke_body

if TYPE_CHECKING:
    from dotdo.workflows.durable import DOWorkflow

__all__ = ["WorkflowRoutes"]


class WorkflowRoutes:
    """The routes `DOWorkflow.routes` adds, answering through `host`'s RPC methods."""

    def __init__(self, host: DOWorkflow) -> None:
        self._host = host

    def routes(self, router: Router) -> None:
        """`POST /events`, `GET /events/scheduled`, `DELETE /events/scheduled/:id`, `GET
        /events/dead`, `POST /events/dead/:id/replay` (its body `{"handler"}` optional), `GET
        /schedules`, `DELETE /schedules/:id/*`, `GET /workflows`, `POST /workflows/:name` and
        `GET /workflows/:id`."""
        router.post("/events", scope="write", query=())(self._send)
        router.get("/events/scheduled", scope="read", query=("limit", "cursor"))(self._scheduled)
        router.delete("/events/scheduled/:id", scope="write", query=(), body=False)(self._cancel_send)
        router.get("/events/dead", scope="read", query=("limit", "cursor"))(self._dead_letters)
        router.post("/events/dead/:id/replay", scope="admin", query=())(self._replay)
        router.get("/schedules", scope="read", query=("limit", "cursor"))(self._schedules)
        # A declared schedule's id holds its cron, `/` included (`class:sweep:*/5 * * * *:UTC`):
        # the id is the rest of the path, so a `/` may go in raw as well as `%2F`.
        router.delete("/schedules/:id/*", scope="admin", query=(), body=False)(self._remove_schedule)
        router.get("/workflows", scope="read", query=("status", "name", "limit", "cursor"))(self._runs)
        router.post("/workflows/:name", scope="write", query=())(self._start_workflow)
        router.get("/workflows/:id", scope="read", query=())(self._workflow_status)

    async def _send(self, request: HttpRequest) -> HttpResponse:
        body = request.json()
        if not isinstance(body, dict) or "type" not in body:
            raise BadRequest(
                'Body is {"type": "Noun.verb", "data": ..., "delay": seconds}', code="invalid_event"
            )
        fields = {"type": "event_type", "data": "data", "subject": "subject", "object": "object"}
        fields = {**fields, "delay": "delay", "at": "at"}
        event_id = await invoke_body(self._host.send_event, body, fields)
        # A null delay or at is None, no delay (`body_arguments`): scheduled when either is given.
        scheduled = body.get("delay") is not None or body.get("at") is not None
        return json_response({"id": event_id, "scheduled": scheduled}, status=201)

    async def _scheduled(self, request: HttpRequest) -> HttpResponse:
        limit = request.query_int("limit", 100)
        return json_response(self._host.scheduled_sends(limit, request.query("cursor") or None))

    async def _cancel_send(self, request: HttpRequest) -> HttpResponse:
        send_id = request.params["id"]
        if not self._host.cancel_send(send_id):
            raise NotFound(f"No delayed send {send_id!r} waits", code="scheduled_send_not_found")
        return json_response({"id": send_id, "cancelled": True})

    async def _dead_letters(self, request: HttpRequest) -> HttpResponse:
        limit = request.query_int("limit", 100)
        return json_response(self._host.dead_letters_page(limit, request.query("cursor") or None))

    async def _replay(self, request: HttpRequest) -> HttpResponse:
        # No body replays to the letter's own handler; {"handler": name} to another of its event's.
        body = request.json() if request.has_body else {}
        if not isinstance(body, dict):
            raise BadRequest('Body is {"handler": "<a handler of its event>"} or none', code="invalid_params")
        path = {"delivery_id": request.params["id"]}
        return json_response(
            await invoke_body(self._host.replay_dead_letter, body, {"handler": "handler"}, path=path)
        )

    async def _schedules(self, request: HttpRequest) -> HttpResponse:
        limit = request.query_int("limit", 100)
        return json_response(self._host.scheduler.page(limit, request.query("cursor") or None))

    async def _remove_schedule(self, request: HttpRequest) -> HttpResponse:
        schedule_id = rest_of_path(request.params["id"], request.params["*"])
        if not self._host.remove_schedule(schedule_id):
            raise NotFound(f"No schedule {schedule_id!r}", code="schedule_not_found")
        return json_response({"id": schedule_id, "removed": True})

    async def _runs(self, request: HttpRequest) -> HttpResponse:
        status, name = request.query("status") or None, request.query("name") or None
        limit = request.query_int("limit", 100)
        return json_response(self._host.list_workflows(status, name, limit, request.query("cursor") or None))

    async def _start_workflow(self, request: HttpRequest) -> HttpResponse:
        body = request.json() if request.has_body else {}
        if not isinstance(body, dict):
            raise BadRequest('Body is {"input": ..., "id": optional run id}', code="invalid_workflow")
        fields = {"input": "input", "id": "run_id"}
        path = {"name": request.params["name"]}
        return json_response(
            await invoke_body(self._host.start_workflow, body, fields, path=path), status=201
        )

    async def _workflow_status(self, request: HttpRequest) -> HttpResponse:
        return json_response(self._host.workflow_status(request.params["id"]))
