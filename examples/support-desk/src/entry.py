"""support-desk: a help desk per tenant. Each tenant (acme.example.com; locally
http://127.0.0.1:8787/@acme/) is its own SupportDesk Durable Object holding its tickets.

- `Ticket` is a declared noun: `POST /Ticket`, `GET /Ticket?where=...`, `client.Ticket...`
- a durable handler answers every new ticket (`@on.Ticket.created`)
- a daily schedule escalates urgent tickets left open (`@every.day.at("9am")`)
- a two-step workflow resolves a ticket: close it, then notify the customer (`@workflow`)
- a custom route, `GET /stats`, and RPC methods built on where-queries
"""

from typing import Any

from dotdo import (
    DOWorkflow,
    Event,
    HttpRequest,
    HttpResponse,
    Noun,
    Router,
    WorkerEntrypoint,
    every,
    json_response,
    on,
    rpc,
    workflow,
)
from dotdo.worker import forward_to_tenant

__all__ = ["Default", "SupportDesk"]

PRIORITIES = ("low", "normal", "urgent")


class SupportDesk(DOWorkflow):
    declared_nouns = (
        Noun(
            "Ticket",
            fields=("title", "customer", "priority", "status", "reply", "escalated", "notified"),
            indexes=("status",),
        ),
    )
    strict_nouns = True  # POST /Tiket is a 404 naming Ticket, not a new type

    def routes(self, router: Router) -> None:
        super().routes(router)
        # The desk's counts, in place of the storage tiers' stats (DOFull's `GET /stats`).
        router.get("/stats", override=True)(self.stats_route)

    # -- RPC: the desk's own API, beside the generic noun routes -----------------

    @rpc
    def open_ticket(self, title: str, customer: str, priority: str = "normal") -> dict[str, Any]:
        """A new open ticket; `priority` is low, normal or urgent."""
        if priority not in PRIORITIES:
            priority = "normal"
        return self.Ticket().create(title=title, customer=customer, priority=priority, status="open")

    @rpc
    def open_tickets(self, priority: str | None = None) -> list[dict[str, Any]]:
        """Open tickets, oldest first, of one priority or all."""
        where: dict[str, Any] = {"status": "open"}
        if priority is not None:
            where["priority"] = priority
        return self.Ticket().list(where=where, order_by="$created_at")

    async def stats_route(self, request: HttpRequest) -> HttpResponse:
        counts = {status: self.Ticket().count(where={"status": status}) for status in ("open", "resolved")}
        counts["urgent_open"] = self.Ticket().count(where={"status": "open", "priority": "urgent"})
        return json_response(counts)

    # -- a durable handler: runs for every new ticket, retried until it succeeds --

    @on.Ticket.created
    def acknowledge(self, event: Event) -> None:
        ticket = self.Ticket(event.data["$id"])
        ticket.update({"reply": f"Thanks {event.data['customer']}, we are on it."})

    # -- a daily schedule ---------------------------------------------------------

    @every.day.at("9am")
    def escalate_urgent(self) -> None:
        for ticket in self.Ticket().list(where={"status": "open", "priority": "urgent"}):
            if not ticket.get("escalated"):
                self.Ticket(ticket["$id"]).update({"escalated": True})

    # -- a two-step workflow: each step recorded, never run twice -----------------

    @workflow
    async def resolve(self, ticket_id: str) -> dict[str, Any]:
        closed = await self.do(self.close_ticket, ticket_id, step_id="close")
        await self.do(self.notify_customer, ticket_id, step_id="notify")
        return closed

    def close_ticket(self, ticket_id: str) -> dict[str, Any]:
        return self.Ticket(ticket_id).update({"status": "resolved"})

    def notify_customer(self, ticket_id: str) -> bool:
        # A real desk would send an email here (`await fetch(...)` to a mail API).
        self.Ticket(ticket_id).update({"notified": True})
        return True


class Default(WorkerEntrypoint):
    async def fetch(self, request):  # type: ignore[no-untyped-def]
        return await forward_to_tenant(request, self.env.SUPPORT_DESK, env=self.env)
