"""support-desk's own tests: real workerd through dotdo's local runtime (the dotdo.testing
plugin), a fresh tenant per test."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from dotdo.testing import LocalRuntime, TenantClient

HERE = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(HERE / "clients"))

from python_client import main as python_client  # noqa: E402 - the example client beside the app


def test_a_new_ticket_is_answered_by_the_durable_handler(dotdo_client: TenantClient) -> None:
    ticket = dotdo_client.post("/Ticket", json={"title": "Help", "customer": "Ada", "status": "open"}).json()
    assert dotdo_client.get(f"/Ticket/{ticket['$id']}").json()["reply"] == "Thanks Ada, we are on it."


def test_a_misspelt_noun_is_refused(dotdo_client: TenantClient) -> None:
    answer = dotdo_client.post("/Tiket", json={"title": "typo"})
    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "unknown_noun"


def test_where_queries_over_rpc_and_http(dotdo_client: TenantClient) -> None:
    first = dotdo_client.rpc("open_ticket", "Printer on fire", "ada@example.com", "urgent")
    dotdo_client.rpc("open_ticket", "Typo on the site", "bob@example.com", "low")
    assert [t["$id"] for t in dotdo_client.rpc("open_tickets", "urgent")] == [first["$id"]]
    assert len(dotdo_client.rpc("open_tickets")) == 2
    page = dotdo_client.get("/Ticket", params={"where": json.dumps({"priority": "low"})}).json()
    assert [t["title"] for t in page["items"]] == ["Typo on the site"]


def test_the_stats_route(dotdo_client: TenantClient) -> None:
    dotdo_client.rpc("open_ticket", "A", "a@example.com", "urgent")
    dotdo_client.rpc("open_ticket", "B", "b@example.com")
    assert dotdo_client.get("/stats").json() == {"open": 2, "resolved": 0, "urgent_open": 1}


def test_the_daily_schedule_escalates_urgent_tickets(dotdo_client: TenantClient) -> None:
    urgent = dotdo_client.rpc("open_ticket", "Down", "ops@example.com", "urgent")
    calm = dotdo_client.rpc("open_ticket", "Question", "q@example.com", "low")
    assert dotdo_client.advance_time(24 * 3600)["schedules"] >= 1  # a day later, 9am has passed
    assert dotdo_client.get(f"/Ticket/{urgent['$id']}").json()["escalated"] is True
    assert "escalated" not in dotdo_client.get(f"/Ticket/{calm['$id']}").json()


def test_the_resolve_workflow_closes_then_notifies(dotdo_client: TenantClient) -> None:
    ticket = dotdo_client.rpc("open_ticket", "Refund", "cy@example.com")
    run = dotdo_client.post("/workflows/resolve", json={"input": ticket["$id"]}).json()
    assert run["status"] == "completed"
    stored = dotdo_client.get(f"/Ticket/{ticket['$id']}").json()
    assert (stored["status"], stored["notified"]) == ("resolved", True)


def test_the_python_client(dotdo_runtime: LocalRuntime) -> None:
    with dotdo_runtime.client() as client:
        tenant = client.tenant
    result = asyncio.run(python_client(f"http://{tenant}.localhost:{dotdo_runtime.port}"))
    assert [t["title"] for t in result["low"]] == ["Cannot log in"]
    assert [t["title"] for t in result["urgent"]] == ["Refund please"]


def test_the_capnweb_client_from_node(dotdo_runtime: LocalRuntime) -> None:
    node = shutil.which("node")
    found = node and subprocess.run(
        [node, "-e", "import('capnweb')"], cwd=HERE / "clients", capture_output=True, check=False
    )
    if not found or found.returncode != 0:
        pytest.skip("the npm capnweb package is not installed (npm install, in this folder)")
    with dotdo_runtime.client() as client:
        tenant = client.tenant
    url = f"http://127.0.0.1:{dotdo_runtime.port}/@{tenant}/capnweb"  # the dev tenant prefix
    result = subprocess.run(
        [node, str(HERE / "clients" / "capnweb.mjs"), url],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    answer = json.loads(result.stdout)
    assert answer["opened"]["title"] == "Printer on fire"
    assert [t["title"] for t in answer["urgent"]] == ["Printer on fire"]
