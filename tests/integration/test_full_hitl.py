"""Human in the loop through the real runtime (DOFull, the harness's HarnessFull under
/_full/): a run waits for an approval with no timer, resumes at its step when decided over
HTTP and every RPC surface, with the decider named by the token; approvals are pushed to
socket subscribers, time out or escalate on the timer, and a waiting run survives eviction
and a kill -9 of the runtime (also between a decision and its replay) with the step before
the wait run exactly once."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from websockets.sync.client import ClientConnection, connect

from dotdo.client import Client
from dotdo.wire.tokens import mint
from tests.conftest import PRODUCTION_SECRET
from tests.eviction import wait_until_evicted
from tests.runtime import LocalRuntime, new_tenant, own_harness_runtime

FULL = "/_full"


def bearer(token: str | None) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"} if token else {}


def start(c: Any, run_id: str, token: str | None = None, **request: Any) -> dict[str, Any]:
    r = c.post(f"{FULL}/workflows/refund", json={"input": request, "id": run_id}, headers=bearer(token))
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


def pending_for(c: Any, run_id: str, token: str | None = None) -> dict[str, Any]:
    items = c.get(f"{FULL}/approvals", params={"status": "pending"}, headers=bearer(token)).json()["items"]
    (approval,) = [item for item in items if item["run_id"] == run_id]
    return dict(approval)


def rpc(c: Any, method: str, *params: Any, token: str | None = None) -> Any:
    r = c.post(f"{FULL}/rpc", json={"method": method, "params": list(params)}, headers=bearer(token))
    assert r.status_code == 200, r.text
    return r.json()["result"]


def open_socket(runtime: LocalRuntime, tenant: str, token: str | None = None) -> ClientConnection:
    """An RPC socket (`/ws/rpc`) to the tenant's HarnessFull object, over loopback."""
    loopback = socket.create_connection(("127.0.0.1", runtime.port), timeout=30)
    url = f"ws://{tenant}.localhost:{runtime.port}{FULL}/ws/rpc"
    return connect(url, sock=loopback, open_timeout=30, additional_headers=bearer(token))


def error_code(response: httpx.Response) -> tuple[int, str]:
    return response.status_code, response.json()["error"]["code"]


def test_an_approved_run_resumes_at_its_step_and_the_decision_is_recorded(runtime: LocalRuntime) -> None:
    tenant = new_tenant()
    with runtime.client(tenant) as c:
        waiting = start(c, "r-1", id="o-1", amount=30)
        assert waiting["status"] == "waiting" and waiting["next_at"] is None  # no timer, no task
        approval = pending_for(c, "r-1")
        assert approval["name"] == "refund" and approval["payload"] == {"id": "o-1", "amount": 30}
        assert c.get(f"{FULL}/approvals/{approval['id']}").json() == approval
        url = f"{FULL}/approvals/{approval['id']}"
        for body, code in (
            ({"decision": "maybe"}, "invalid_decision"),
            ([], "invalid_decision"),
            ({"comment": "no decision"}, "invalid_decision"),
            ({"decision": "approve", "comment": "x" * 4001}, "invalid_comment"),
            ({"decision": "approve", "comment": 5}, "invalid_params"),
            ({"decision": "approve", "value": deeper_than(32)}, "invalid_data"),  # as event data
        ):
            assert error_code(c.post(url, json=body)) == (400, code), body
        assert error_code(c.post(url, content=b"{not json")) == (400, "invalid_json")
        assert error_code(c.get(f"{FULL}/approvals", params={"status": "done"})) == (400, "invalid_status")
        assert error_code(c.get(f"{FULL}/approvals", params={"limit": "x"})) == (400, "invalid_limit")
        assert error_code(c.get(f"{FULL}/approvals/nope")) == (404, "approval_not_found")
        assert error_code(c.post(f"{FULL}/approvals/nope", json={"decision": "approve"})) == (
            404,
            "approval_not_found",
        )
        assert c.get(f"{FULL}/workflows/r-1").json()["status"] == "waiting"  # nothing refused moved it

        value = {"queue": "tech", "n": [1, 2.5, None]}
        decided = c.post(url, json={"decision": "approve", "comment": "fine", "value": value})
        assert decided.status_code == 200, decided.text
        assert decided.json()["status"] == "approved" and decided.json()["comment"] == "fine"
        assert decided.json()["value"] == value == c.get(url).json()["value"]  # shown in the approval
        done = c.get(f"{FULL}/workflows/r-1").json()
        assert done["status"] == "completed"
        assert done["result"]["decision"]["decision"] == "approve"
        assert done["result"]["decision"]["comment"] == "fine"
        assert done["result"]["decision"]["value"] == value  # what wait_for_approval returned
        approved = c.get(f"{FULL}/events", params={"type": "Approval.approved"}).json()["items"]
        assert [event["data"]["value"] for event in approved] == [value]  # carried by the event
        assert rpc(c, "counts", "o-1") == {"prepare": 1, "pay": 1}
        assert error_code(c.post(url, json={"decision": "reject"})) == (409, "approval_decided")
        types = [e["type"] for e in c.get(f"{FULL}/events", params={"limit": 100}).json()["items"]]
        assert "Approval.requested" in types and "Approval.approved" in types
        assert [
            a["id"] for a in c.get(f"{FULL}/approvals", params={"status": "approved"}).json()["items"]
        ] == [approval["id"]]


def deeper_than(levels: int) -> Any:
    value: Any = "bottom"
    for _ in range(levels + 1):
        value = [value]
    return value


def test_a_decisions_value_with_the_payload_stays_within_event_datas_limit(runtime: LocalRuntime) -> None:
    """Approval.approved carries the payload and the value: together at most 1 MiB of JSON."""
    tenant = new_tenant()
    with runtime.client(tenant) as c:
        start(c, "big", id="o-big", blob="p" * 600_000)
        approval = pending_for(c, "big")
        url = f"{FULL}/approvals/{approval['id']}"
        assert error_code(c.post(url, json={"decision": "approve", "value": "v" * 500_000})) == (
            413,
            "value_too_large",
        )
        assert c.get(url).json()["status"] == "pending"  # refused whole
        decided = c.post(url, json={"decision": "approve", "value": "v" * 400_000})
        assert decided.status_code == 200 and len(decided.json()["value"]) == 400_000, decided.text


def test_approvals_page_by_cursor_cut_by_their_bytes(runtime: LocalRuntime) -> None:
    """`GET /approvals` and `approvals_page` page by cursor like every other list: a walk
    answers each approval once, oldest request first, and a page of 600 kB payloads stops
    at 4 MiB. Before, the answer was `{"items"}` alone: past its `limit` nothing was read."""
    with runtime.client(new_tenant()) as c:
        runs = [f"p-{n}" for n in range(8)]
        for run_id in runs:
            start(c, run_id, id=run_id, pad="v" * 600_000)
        first = c.get(f"{FULL}/approvals", params={"limit": "1000"}).json()
        assert [a["run_id"] for a in first["items"]] == runs[:6] and first["has_more"]  # 6 fit 4 MiB
        assert rpc(c, "approvals_page", None, 1000) == first
        assert [a["id"] for a in rpc(c, "approvals", None, 1000)] == [a["id"] for a in first["items"]]
        walked, cursor = [], None
        while True:
            params = {"status": "pending", "limit": "3", **({"cursor": cursor} if cursor else {})}
            page = c.get(f"{FULL}/approvals", params=params).json()
            walked += [a["run_id"] for a in page["items"]]
            assert rpc(c, "approvals_page", "pending", 3, cursor) == page
            if not page["has_more"]:
                assert page["cursor"] is None
                break
            cursor = page["cursor"]
        assert walked == runs
        for bad in ("nope", first["items"][0]["id"], f"1.{first['items'][0]['id']}x"):
            refused = c.get(f"{FULL}/approvals", params={"cursor": bad})
            assert error_code(refused) == (400, "invalid_cursor"), bad


def test_who_decides_is_the_tokens_subject_on_every_surface(production_runtime: LocalRuntime) -> None:
    tenant = new_tenant()
    app = mint(PRODUCTION_SECRET, target=tenant, scope="write", sub="app")
    alice = mint(PRODUCTION_SECRET, target=tenant, scope="approve", sub="alice")
    bob = mint(PRODUCTION_SECRET, target=tenant, scope="approve", sub="bob")
    with production_runtime.client(tenant) as c:
        for number in range(4):
            start(c, f"r-{number}", app, id=f"o-{number}", approvers=["alice"])
        approvals = {n: pending_for(c, f"r-{n}", app)["id"] for n in range(4)}
        url = f"{FULL}/approvals/{approvals[0]}"
        assert error_code(c.post(url, json={"decision": "approve"}, headers=bearer(app))) == (
            403,
            "token_scope",
        )
        assert error_code(c.post(url, json={"decision": "approve"}, headers=bearer(bob))) == (
            403,
            "approver_not_allowed",
        )
        decided = c.post(url, json={"decision": "approve", "value": "http"}, headers=bearer(alice)).json()
        assert decided["decided_by"] == "alice"
        # who may decide is checked before the state: bob learns nothing of alice's decision
        assert error_code(c.post(url, json={"decision": "reject"}, headers=bearer(bob))) == (
            403,
            "approver_not_allowed",
        )
        assert error_code(c.post(url, json={"decision": "reject"}, headers=bearer(alice))) == (
            409,
            "approval_decided",
        )

        steps = [
            {"type": "method", "name": "decide_approval", "args": [approvals[1], "reject", "no", ["pipe"]]}
        ]
        piped = c.post(
            f"{FULL}/rpc/pipeline",
            json={"pipeline": {"target": [], "pipeline": steps}},
            headers=bearer(alice),
        )
        assert piped.status_code == 200 and piped.json()["result"]["decided_by"] == "alice", piped.text

    async def by_client() -> dict[str, Any]:
        base = f"http://{tenant}.localhost:{production_runtime.port}{FULL}"
        async with Client(base, alice) as client:
            assert approvals[2] in [a["id"] for a in await client.approvals("pending")]
            return await client.decide_approval(approvals[2], "approve", "via the client", value={"n": 3})

    assert asyncio.run(by_client())["decided_by"] == "alice"

    with open_socket(production_runtime, tenant, alice) as rpc_socket:
        rpc_socket.send(
            json.dumps({"id": 1, "method": "decide_approval", "params": [approvals[3], "approve", None, 4]})
        )
        answer = json.loads(rpc_socket.recv(timeout=30))
    assert answer["result"]["decided_by"] == "alice", answer

    with production_runtime.client(tenant) as c:
        runs = [c.get(f"{FULL}/workflows/r-{n}", headers=bearer(app)).json() for n in range(4)]
        assert [r["status"] for r in runs] == ["completed"] * 4
        assert [r["result"]["decision"]["decision"] for r in runs] == [
            "approve",
            "reject",
            "approve",
            "approve",
        ]
        assert {r["result"]["decision"]["by"] for r in runs} == {"alice"}
        # a decision's value on every surface: HTTP, a pipeline, the Python client, /ws/rpc
        assert [r["result"]["decision"]["value"] for r in runs] == ["http", ["pipe"], {"n": 3}, 4]
        assert [rpc(c, "counts", f"o-{n}", token=app)["pay"] for n in range(4)] == [1, 0, 1, 1]


def test_a_pending_approval_is_pushed_to_socket_subscribers(runtime: LocalRuntime) -> None:
    tenant = new_tenant()
    with open_socket(runtime, tenant) as rpc_socket:
        rpc_socket.send(json.dumps({"id": 1, "method": "subscribe", "params": ["Approval.*"]}))
        assert json.loads(rpc_socket.recv(timeout=30))["result"] == {"subscriptions": ["Approval.*"]}
        with runtime.client(tenant) as c:
            start(c, "pushed", id="o-p")
        push = json.loads(rpc_socket.recv(timeout=30))
    assert push["method"] == "event" and push["params"]["type"] == "Approval.requested"
    assert push["params"]["data"]["run_id"] == "pushed" and push["params"]["data"]["status"] == "pending"


def test_an_approval_escalates_when_its_time_runs_out_then_expires(runtime: LocalRuntime) -> None:
    tenant = new_tenant()
    with runtime.client(tenant) as c:
        # no approvers: this caller (no token, so no subject) may decide it, and so learns
        # that it expired; the escalation is for "boss" only
        start(c, "late", id="o-l", timeout=60, escalate_to=["boss"])
        first = pending_for(c, "late")
        assert first["expires_at"] is not None

        def tick(now: int) -> dict[str, int]:
            r = c.post(f"{FULL}/_test/alarm", json={"now": now})
            assert r.status_code == 200, r.text
            return dict(r.json())

        assert tick(first["expires_at"] - 1)["hitl"] == 0
        assert tick(first["expires_at"])["hitl"] == 1
        escalated = pending_for(c, "late")
        assert escalated["approvers"] == ["boss"] and escalated["escalated_from"] == first["id"]
        assert c.get(f"{FULL}/approvals/{first['id']}").json()["escalated_to"] == escalated["id"]
        assert error_code(c.post(f"{FULL}/approvals/{first['id']}", json={"decision": "approve"})) == (
            409,
            "approval_expired",
        )
        assert error_code(c.post(f"{FULL}/approvals/{escalated['id']}", json={"decision": "approve"})) == (
            403,
            "approver_not_allowed",
        )
        assert c.get(f"{FULL}/workflows/late").json()["status"] == "waiting"
        assert tick(escalated["expires_at"])["hitl"] == 1
        done = c.get(f"{FULL}/workflows/late").json()
        assert done["status"] == "completed" and done["result"] == {"expired": "approval_expired"}
        types = [e["type"] for e in c.get(f"{FULL}/events", params={"limit": 100}).json()["items"]]
        assert {"Approval.escalated", "Approval.expired"} <= set(types)
        assert rpc(c, "counts", "o-l") == {"prepare": 1, "pay": 0}


def test_the_alarm_times_out_an_approval_that_reads_leave_alone(runtime: LocalRuntime) -> None:
    """A read writes nothing (ADR 0058): what times an approval out is its timer, the
    object's real alarm at `expires_at`, which expires it and resumes its run once."""
    tenant = new_tenant()
    with runtime.client(tenant) as c:
        start(c, "soon", id="o-s", timeout=1)
        first = pending_for(c, "soon")
        assert first["overdue"] is False and first["expires_at"] is not None
        deadline = time.monotonic() + 30
        while (seen := c.get(f"{FULL}/approvals/{first['id']}").json())["overdue"] or seen[
            "status"
        ] == "pending":
            assert time.monotonic() < deadline, seen  # a read may see it overdue: the alarm ends it
            time.sleep(0.1)
        assert seen["status"] == "expired" and seen["decided_at"] >= first["expires_at"]
        while (run := c.get(f"{FULL}/workflows/soon").json())["status"] != "completed":
            assert time.monotonic() < deadline, run
            time.sleep(0.1)
        assert run["result"] == {"expired": "approval_expired"}
        types = [e["type"] for e in c.get(f"{FULL}/events", params={"limit": 100}).json()["items"]]
        assert types.count("Approval.expired") == 1


def test_a_run_waits_for_the_matching_event(runtime: LocalRuntime) -> None:
    tenant = new_tenant()
    with runtime.client(tenant) as c:
        r = c.post(f"{FULL}/workflows/shipping", json={"input": "o-1", "id": "ship-1"})
        assert r.json()["status"] == "waiting"
        c.post(f"{FULL}/events", json={"type": "Order.shipped", "data": {"order": {"id": "o-2"}}})
        c.post(f"{FULL}/events", json={"type": "Order.packed", "data": {"order": {"id": "o-1"}}})
        assert c.get(f"{FULL}/workflows/ship-1").json()["status"] == "waiting"
        data = {"order": {"id": "o-1"}, "carrier": "ups"}
        assert c.post(f"{FULL}/events", json={"type": "Order.shipped", "data": data}).status_code == 201
        deadline = time.monotonic() + 30
        while (status := c.get(f"{FULL}/workflows/ship-1").json())["status"] != "completed":
            assert time.monotonic() < deadline, status  # the alarm resumes the woken run
            time.sleep(0.1)
        assert status["result"] == data


# -- across eviction and kill -9, on a runtime of its own ------------------------------


@pytest.fixture(scope="module")
def own_runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRuntime]:
    with own_harness_runtime(tmp_path_factory, "hitl") as server:
        yield server


def wait_until_completed(runtime: LocalRuntime, tenant: str, run_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    with runtime.client(tenant) as c:
        while (status := c.get(f"{FULL}/workflows/{run_id}").json())["status"] != "completed":
            assert time.monotonic() < deadline, status
            time.sleep(0.2)
    return dict(status)


def test_a_waiting_run_survives_eviction_and_kill_9_and_resumes_at_its_step(
    own_runtime: LocalRuntime,
) -> None:
    tenant = new_tenant()
    with own_runtime.client(tenant) as c:
        for run_id in ("evicted", "killed", "killed-mid-decision"):
            assert start(c, run_id, id=run_id)["status"] == "waiting"
        built = rpc(c, "built_at")
        approvals = {
            run_id: pending_for(c, run_id)["id"] for run_id in ("evicted", "killed", "killed-mid-decision")
        }
        wait_until_evicted(lambda _: rpc(c, "built_at"), {tenant: built})  # asking wakes it
        assert (
            c.post(f"{FULL}/approvals/{approvals['evicted']}", json={"decision": "approve"}).status_code
            == 200
        )
    assert wait_until_completed(own_runtime, tenant, "evicted")["result"]["decision"]["decision"] == "approve"

    own_runtime.crash()  # kill -9 while two runs wait
    own_runtime.start()
    with own_runtime.client(tenant) as c:
        assert c.get(f"{FULL}/workflows/killed").json()["status"] == "waiting"
        assert (
            c.post(f"{FULL}/approvals/{approvals['killed']}", json={"decision": "approve"}).status_code == 200
        )
        point = f"approval_decided:{approvals['killed-mid-decision']}"
        assert c.post(f"{FULL}/_test/fault", json={"point": point}).status_code == 200
    assert wait_until_completed(own_runtime, tenant, "killed")["status"] == "completed"

    def decide() -> None:
        try:
            with own_runtime.client(tenant) as client:
                client.post(
                    f"{FULL}/approvals/{approvals['killed-mid-decision']}",
                    json={"decision": "approve", "value": {"queue": "tech"}},
                    timeout=60,
                )
        except httpx.HTTPError:
            pass  # the runtime is killed under this request

    caller = threading.Thread(target=decide, daemon=True)
    caller.start()
    deadline = time.monotonic() + 30
    with own_runtime.client(tenant) as c:
        url = f"{FULL}/approvals/{approvals['killed-mid-decision']}"
        while c.get(url).json()["status"] != "approved":
            assert time.monotonic() < deadline, "the decision never reached the fault point"
            time.sleep(0.1)
    # The decision is committed and made its run due in the same transaction; the alarm
    # may already be replaying it, or not yet: killed either way, nothing is lost.
    own_runtime.crash()
    caller.join(timeout=30)
    own_runtime.start()
    finished = wait_until_completed(own_runtime, tenant, "killed-mid-decision")
    assert finished["status"] == "completed"
    assert finished["result"]["decision"]["value"] == {"queue": "tech"}  # kept through kill -9
    with own_runtime.client(tenant) as c:
        for run_id in ("evicted", "killed", "killed-mid-decision"):
            assert rpc(c, "counts", run_id) == {"prepare": 1, "pay": 1}, run_id


def test_no_caller_can_send_an_approval_event(runtime: LocalRuntime) -> None:
    """`Approval.*` events record decisions that handlers and waits act on: a caller with the
    write scope could send `Approval.approved` (201) beside the real ones."""
    with runtime.client(new_tenant()) as c:
        for event_type in ("Approval.approved", "Approval.requested", "Approval.anything"):
            forged = c.post(f"{FULL}/events", json={"type": event_type, "data": {"id": "x"}})
            assert forged.status_code == 400 and forged.json()["error"]["code"] == "reserved_event_type"
        assert c.get(f"{FULL}/events", params={"type": "Approval.*"}).json()["items"] == []
        assert c.post(f"{FULL}/events", json={"type": "Refund.requested"}).status_code == 201


def test_no_caller_causes_an_approval_event_by_an_action_or_a_thing_write(runtime: LocalRuntime) -> None:
    """An action whose subject is an `Approval` emits `Approval.<past>` (`approve` gave
    `Approval.approved`), and a thing of the noun `Approval` emits `Approval.created`, ...:
    both were 201 beside the real decisions, over every surface."""
    refused = {"code": "reserved_event_type"}
    with runtime.client(new_tenant()) as c:
        for verb in ("approve", "reject", "expire", "escalate", "request"):
            body = {"subject": "Approval/forged", "verb": verb, "object": "Order/o1"}
            forged = c.post(f"{FULL}/actions", json=body)
            assert forged.status_code == 400 and forged.json()["error"]["code"] == "reserved_event_type", verb
        for method, path, body in (
            ("POST", "/Approval", {"$id": "a1"}),
            ("POST", "/Approval", [{"$id": "a1"}]),
            ("PUT", "/Approval/a1", {"x": 1}),
            ("PATCH", "/Approval/a1", {"x": 1}),
            ("DELETE", "/Approval/a1", None),
            ("POST", "/Approval/a1/restore", None),
        ):
            written = c.request(method, f"{FULL}{path}", json=body)
            assert written.status_code == 400, (method, path, written.text)
            assert written.json()["error"]["code"] == "reserved_event_type", (method, path)
        calls: list[tuple[str, list[Any]]] = [
            ("record_action", ["Approval/forged", "approve"]),
            ("create_thing", ["Approval", {"$id": "a1"}]),
            ("create_things", ["Approval", [{"$id": "a1"}]]),
            ("upsert_thing", ["Approval", {"$id": "a1"}]),
            ("update_thing", ["Approval", "a1", {"x": 1}]),
            ("send_event", ["Approval.approved", {"id": "x"}]),
        ]
        for method, params in calls:
            answer = c.post(f"{FULL}/rpc", json={"method": method, "params": params})
            assert answer.status_code == 400 and answer.json()["error"]["code"] == "reserved_event_type", (
                method
            )
            steps = [{"type": "method", "name": method, "args": params}]
            piped = c.post(f"{FULL}/rpc/pipeline", json={"pipeline": {"target": [], "pipeline": steps}})
            assert piped.status_code == 400 and piped.json()["error"]["code"] == "reserved_event_type", method
            escaped = [[p] if isinstance(p, list) else p for p in params]  # Cap'n Web's literal array
            lines = [json.dumps(["push", ["pipeline", 0, [method], escaped]]), json.dumps(["pull", 1])]
            batch = c.post(f"{FULL}/capnweb", content="\n".join(lines))
            line = json.loads(batch.text)
            assert line[0] == "reject" and line[2][4].items() >= refused.items(), (method, line)
        steps = [{"type": "method", "name": "create", "args": [{"$id": "a1"}]}]
        noun = c.post(f"{FULL}/rpc/pipeline", json={"pipeline": {"target": ["Approval"], "pipeline": steps}})
        assert noun.status_code == 400 and noun.json()["error"]["code"] == "reserved_event_type", noun.text
        assert c.get(f"{FULL}/events", params={"type": "Approval.*"}).json()["items"] == []
        assert c.get(f"{FULL}/Approval").json()["items"] == []
        # other nouns act as before
        assert c.post(f"{FULL}/actions", json={"subject": "Agent/a", "verb": "approve"}).status_code == 201
        assert c.post(f"{FULL}/Refund", json={"$id": "r1"}).status_code == 201


def test_no_caller_sends_a_thing_write_s_event(runtime: LocalRuntime) -> None:
    """`Note.created` means a Note was written: a sent one reached durable `@on.Note.created`
    handlers (and the as-of reads built from the write events) for a thing never created."""
    with runtime.client(new_tenant()) as c:
        for event_type in ("Note.created", "Note.updated", "Note.deleted", "Note.restored", "Note.create"):
            sent = c.post(f"{FULL}/events", json={"type": event_type, "subject": "n1", "data": {"$id": "n1"}})
            assert sent.status_code == 400 and sent.json()["error"]["code"] == "reserved_event_type", (
                sent.text
            )
            answer = c.post(f"{FULL}/rpc", json={"method": "send_event", "params": [event_type, {}, "n1"]})
            assert answer.status_code == 400 and answer.json()["error"]["code"] == "reserved_event_type"
            later = c.post(f"{FULL}/events", json={"type": event_type, "delay": 60})
            assert later.status_code == 400 and later.json()["error"]["code"] == "reserved_event_type"
        assert c.get(f"{FULL}/events", params={"type": "Note.*"}).json()["items"] == []
        assert c.post(f"{FULL}/events", json={"type": "Note.pinned", "subject": "n1"}).status_code == 201
        assert c.post(f"{FULL}/Note", json={"$id": "n1"}).status_code == 201
        assert [e["type"] for e in c.get(f"{FULL}/events", params={"type": "Note.*"}).json()["items"]] == [
            "Note.pinned",
            "Note.created",
        ]
