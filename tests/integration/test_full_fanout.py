"""DOFull's fan-out and rooms through the real runtime: targets are HarnessFanout objects
(`tests/harness/harness_fanout.py`) that count their calls in their own state."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from dotdo.client import Client, RpcError
from tests.eviction import wait_until_evicted
from tests.integration.test_rpc_surfaces import socket_to
from tests.runtime import LocalRuntime, new_tenant


def call(runtime: LocalRuntime, name: str, method: str, *params: Any) -> Any:
    answer = runtime.rpc(name, method, *params, binding="FANOUT").json()
    assert "error" not in answer, answer
    return answer["result"]


def test_a_fan_out_reports_each_target_and_merges(runtime: LocalRuntime) -> None:
    tenant = new_tenant()
    names = [f"{tenant}-{n}" for n in range(5)]
    call(runtime, f"{tenant}/Counter/{names[1]}", "behave", "fail")
    call(runtime, f"{tenant}/Counter/{names[2]}", "behave", "hang")
    call(runtime, f"{tenant}/Counter/{names[3]}", "behave", "fail_once")
    targets = [f"Counter/{name}" for name in names]
    with runtime.client(tenant) as c:
        answer = c.post(
            "/_fanout/rpc", json={"method": "fan", "params": [targets, {"timeout": 2, "retries": 1}]}
        ).json()["result"]
    outcomes = {item["target"]: item for item in answer["outcomes"]}
    assert [item["target"] for item in answer["outcomes"]] == targets  # in the order given
    assert (answer["succeeded"], answer["failed"], answer["ok"]) == (3, 2, False)
    assert outcomes[targets[0]]["value"] == {"name": f"{tenant}/{targets[0]}", "tag": "direct", "calls": 1}
    assert not outcomes[targets[1]]["ok"] and "refuses" in outcomes[targets[1]]["error"]
    assert outcomes[targets[1]]["attempts"] == 2
    assert outcomes[targets[2]]["error"] == "TimeoutError: timed out after 2.0 s"
    assert outcomes[targets[3]]["ok"] and outcomes[targets[3]]["attempts"] == 2  # the retry answered
    assert answer["first"] == outcomes[targets[0]]["value"]
    assert answer["quorum"].startswith("FanOutFailed: no quorum")  # every answer differs
    assert set(answer["gathered"]) == {targets[0], targets[3], targets[4]}
    assert call(runtime, f"{tenant}/Counter/{names[1]}", "calls") == 2  # one call and its one retry


def test_quorum_agrees_on_the_majoritys_answer(runtime: LocalRuntime) -> None:
    tenant = new_tenant()
    targets = [f"Voter/{tenant}-{n}" for n in range(3)]
    for target, vote in zip(targets, ["yes", "no", "yes"], strict=True):
        call(runtime, f"{tenant}/{target}", "behave", "vote", vote)  # the tenant's Voter (ADR 0054)
    with runtime.client(tenant) as c:
        answer = c.post("/_fanout/rpc", json={"method": "fan", "params": [targets, {}]}).json()["result"]
    assert answer["quorum"] == {"vote": "yes"}


def test_the_fan_out_route_is_admin_and_checks_its_input(runtime: LocalRuntime) -> None:
    tenant = new_tenant()
    with runtime.client(tenant) as c:
        good = c.post(
            "/_fanout/fanout", json={"targets": [f"Counter/{tenant}"], "method": "tally", "args": ["http"]}
        )
        assert good.status_code == 200
        assert good.json()["outcomes"][0]["value"]["tag"] == "http"
        for body in (
            {"targets": [], "method": "tally"},
            {"targets": ["no-slash"], "method": "tally"},
            {"targets": [f"Counter/{tenant}"], "method": "_private"},
            {"targets": [f"Counter/{tenant}"], "method": "tally", "concurrency": 7},
            {"targets": [f"Counter/{tenant}"], "method": "tally", "timeout": 0},
            {"targets": [f"C/{n}" for n in range(600)], "method": "tally", "retries": 1},
            {"targets": ["C/a", "C/a"], "method": "tally"},
        ):
            refused = c.post("/_fanout/fanout", json=body)
            assert refused.status_code == 400, body
            assert refused.json()["error"]["code"] == "invalid_fanout", body
        assert (
            c.post("/_fanout/fanout", json=["not", "an", "object"]).json()["error"]["code"]
            == "invalid_fanout"
        )
        # A name no thing can have wakes no object: refused before any call, naming the target.
        for target in ("T/a/b", "T/a\u0000", "T/" + "a" * 200, "t/a"):
            body = {"targets": [f"Counter/{tenant}", target], "method": "tally", "args": ["bad"]}
            refused = c.post("/_fanout/fanout", json=body)
            assert refused.status_code == 400 and refused.json()["error"]["code"] == "invalid_fanout", target
            assert repr(target) in refused.json()["error"]["message"]
            by_rpc = c.post("/_fanout/rpc", json={"method": "fan_out_call", "params": [[target], "tally"]})
            assert by_rpc.status_code == 400 and by_rpc.json()["error"]["code"] == "invalid_fanout", target
        tallied = c.post(
            "/_fanout/fanout", json={"targets": [f"Counter/{tenant}"], "method": "tally", "args": ["after"]}
        )
        assert tallied.json()["outcomes"][0]["value"]["calls"] == 2  # "http" and "after" only


def test_a_fan_out_over_tenants_calls_each_tenants_object(runtime: LocalRuntime) -> None:
    """The docs' example: tenants' objects are targets as stubs, labelled by tenant."""
    caller = new_tenant()
    tenants = [new_tenant() for _ in range(3)]
    call(runtime, tenants[1], "behave", "fail")
    answer = call(runtime, caller, "fan_tenants", tenants)
    outcomes = {item["target"]: item for item in answer["outcomes"]}
    assert list(outcomes) == tenants and (answer["succeeded"], answer["failed"]) == (2, 1)
    assert outcomes[tenants[0]]["value"] == {"name": tenants[0], "tag": "tenants", "calls": 1}
    assert "refuses" in outcomes[tenants[1]]["error"]
    assert [call(runtime, name, "calls") for name in tenants] == [1, 1, 1]
    # Over HTTP a tenant is no target: a caller's admin may not reach other tenants.
    with runtime.client(caller) as c:
        refused = c.post("/_fanout/fanout", json={"targets": [tenants[0]], "method": "tally"})
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "invalid_fanout"
    assert "tenant" in refused.json()["error"]["message"]
    assert call(runtime, tenants[0], "calls") == 1


def test_a_workflow_fan_out_is_a_durable_step(runtime: LocalRuntime) -> None:
    tenant = new_tenant()
    targets = [f"Counter/{tenant}-{n}" for n in range(8)]
    with runtime.client(tenant) as c:
        run = c.post("/_fanout/workflows/fan_flow", json={"input": {"targets": targets, "concurrency": 3}})
        assert run.status_code == 201 and run.json()["status"] == "completed", run.json()
        assert [item["value"]["tag"] for item in run.json()["result"]["outcomes"]] == ["flow"] * 8
    assert call(runtime, tenant, "fanout_rows") == 0  # the per-target records go once the step is recorded
    assert [call(runtime, f"{tenant}/{target}", "calls") for target in targets] == [1] * 8


def test_a_workflow_fan_out_carries_answers_around_values_at_the_bound(runtime: LocalRuntime) -> None:
    """A target answering `{"vote": value}` with its value at the 32-level bound: the step's
    record around the answers (`{"outcomes": [{"value": ...}]}`) failed the step's own check."""
    tenant = new_tenant()
    deep: Any = []  # one level
    for _ in range(31):
        deep = [deep]
    targets = [f"Counter/{tenant}-deep-{n}" for n in range(2)]
    for target in targets:
        call(runtime, f"{tenant}/{target}", "behave", "vote", deep)  # the tenant's (ADR 0054)
    with runtime.client(tenant) as c:
        run = c.post("/_fanout/workflows/fan_flow", json={"input": {"targets": targets}, "id": "deep"})
        assert run.status_code == 201 and run.json()["status"] == "completed", run.json()
        assert [item["value"] for item in run.json()["result"]["outcomes"]] == [{"vote": deep}] * 2
        again = c.get("/_fanout/workflows/deep")
        assert again.json()["result"] == run.json()["result"]
    assert [call(runtime, f"{tenant}/{target}", "calls") for target in targets] == [1, 1]


def test_rooms_take_broadcasts_from_other_objects_across_hibernation(runtime: LocalRuntime) -> None:
    tenant = new_tenant()
    with (
        socket_to(runtime, tenant, "/_fanout/ws?room=lobby") as first,
        socket_to(runtime, tenant, "/_fanout/ws?room=lobby,ops&tags=red") as second,
        socket_to(runtime, tenant, "/_fanout/ws?room=ops") as outsider,
    ):
        members = call(runtime, tenant, "room_members", "lobby")
        assert len(members) == 2
        # from another object: relayed by the owner (the tenant's object)
        assert call(runtime, f"{tenant}/Sender/s", "broadcast_to_room", "lobby", {"n": 1}, tenant) == 2
        expected = {"type": "room", "room": "lobby", "data": {"n": 1}}
        assert json.loads(first.recv(timeout=10)) == expected
        assert json.loads(second.recv(timeout=10)) == expected
        assert call(runtime, f"{tenant}/Sender/s", "broadcast_to_room", "ops", "only ops", tenant) == 2
        assert json.loads(outsider.recv(timeout=10))["data"] == "only ops"  # not the lobby message
        assert json.loads(second.recv(timeout=10))["data"] == "only ops"

        # the owner hibernates; its sockets and their rooms stay
        wait_until_evicted(
            lambda name: call(runtime, name, "built_at"), {tenant: call(runtime, tenant, "built_at")}
        )
        assert sorted(call(runtime, tenant, "room_members", "lobby")) == sorted(members)
        assert call(runtime, f"{tenant}/Sender/s", "broadcast_to_room", "lobby", "after", tenant) == 2
        assert json.loads(first.recv(timeout=10))["data"] == "after"


def test_joining_a_room_checks_its_name(runtime: LocalRuntime) -> None:
    tenant = new_tenant()
    with runtime.client(tenant) as c:
        headers = {"upgrade": "websocket", "connection": "upgrade", "sec-websocket-version": "13",
                   "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ=="}  # fmt: skip
        for query in ("room=bad%20name", "room=" + "x" * 60, "room=" + ",".join(f"r{n}" for n in range(10))):
            refused = c.get(f"/_fanout/ws?{query}", headers=headers)
            assert refused.status_code == 400, query
            assert refused.json()["error"]["code"] in ("invalid_room", "invalid_tag"), query
    answer = runtime.rpc(tenant, "broadcast_to_room", "bad room", "x", binding="FANOUT").json()
    assert "invalid_room" in json.dumps(answer)
    answer = runtime.rpc(tenant, "broadcast_to_room", "lobby", "x", "", binding="FANOUT").json()
    assert "invalid_owner" in json.dumps(answer)  # the owner's fault, not the room's
    for owner in ("Sender/a/b", "acme\u0000", "Sender/" + "x" * 129, "no such name"):  # each woke an object
        answer = runtime.rpc(tenant, "broadcast_to_room", "lobby", "x", owner, binding="FANOUT").json()
        assert "invalid_owner" in json.dumps(answer), (owner, answer)


def test_the_python_client_fans_out_and_broadcasts(runtime: LocalRuntime) -> None:
    tenant = new_tenant()

    async def scenario() -> None:
        async with Client(f"http://{tenant}.localhost:{runtime.port}/_fanout") as client:
            result = await client.fan_out([f"Counter/{tenant}-a", f"Counter/{tenant}-b"], "tally", "client")
            assert [item["value"]["tag"] for item in result["outcomes"]] == ["client", "client"]
            with pytest.raises(RpcError) as refused:
                await client.fan_out([], "tally")
            assert refused.value.code == "invalid_fanout"
            with socket_to(runtime, tenant, "/_fanout/ws?room=lobby") as member:
                assert await client.broadcast_to_room("lobby", {"hi": 1}) == 1
                assert json.loads(member.recv(timeout=10)) == {
                    "type": "room",
                    "room": "lobby",
                    "data": {"hi": 1},
                }

    asyncio.run(scenario())


def test_the_cascade_goes_from_code_to_a_person_in_a_workflow(runtime: LocalRuntime) -> None:
    tenant = new_tenant()
    with runtime.client(tenant) as c:
        by_rule = c.post("/_fanout/workflows/triage", json={"input": {"text": "my invoice"}}).json()
        assert by_rule["status"] == "completed" and by_rule["result"]["tier"] == "code"
        assert by_rule["result"]["answer"] == "billing"

        run = c.post("/_fanout/workflows/triage", json={"input": {"text": "help"}, "id": "t2"}).json()
        assert run["status"] == "waiting"  # the human tier waits durably for a decision
        pending = c.get("/_fanout/approvals", params={"status": "pending"}).json()["items"]
        assert [item["name"] for item in pending] == ["cascade:triage"]
        assert pending[0]["payload"]["attempts"] == [
            {"tier": "code", "accepted": False, "answer": None, "reason": "rejected: None is not a queue"}
        ]
        decided = c.post(
            f"/_fanout/approvals/{pending[0]['id']}", json={"decision": "approve", "comment": "tech"}
        )
        assert decided.status_code == 200, decided.text
        done = c.get("/_fanout/workflows/t2").json()
    assert done["status"] == "completed", done
    assert (done["result"]["tier"], done["result"]["answer"]) == ("human", "tech")
    assert [attempt["tier"] for attempt in done["result"]["attempts"]] == ["code", "human"]
    assert done["result"]["rule_calls"] == 2  # once per run: the replay took the code tier's record

    with runtime.client(tenant) as c:  # a decision's value is the answer, before its comment
        assert (
            c.post("/_fanout/workflows/triage", json={"input": {"text": "?"}, "id": "t3"}).json()["status"]
            == "waiting"
        )
        pending = c.get("/_fanout/approvals", params={"status": "pending"}).json()["items"]
        body = {"decision": "approve", "value": "billing", "comment": "see the notes"}
        assert c.post(f"/_fanout/approvals/{pending[0]['id']}", json=body).status_code == 200
        valued = c.get("/_fanout/workflows/t3").json()
    assert (valued["result"]["tier"], valued["result"]["answer"]) == ("human", "billing")


def test_two_tenants_fan_outs_to_one_name_reach_two_objects(runtime: LocalRuntime) -> None:
    """A fan-out to "Counter/c1" by either tenant's admin reached one object shared by both."""
    for tenant in (new_tenant(), new_tenant()):
        with runtime.client(tenant) as c:
            body = {"targets": ["Counter/c1"], "method": "tally", "args": [tenant]}
            answer = c.post("/_fanout/fanout", json=body).json()
        assert answer["outcomes"][0]["value"] == {"name": f"{tenant}/Counter/c1", "tag": tenant, "calls": 1}


def test_another_tenants_room_is_out_of_reach(runtime: LocalRuntime) -> None:
    """`broadcast_to_room(room, data, owner)` from one tenant's admin pushed to another
    tenant's sockets, by its name or by one of its thing objects' names."""
    victim, intruder = new_tenant(), new_tenant()
    with socket_to(runtime, victim, "/_fanout/ws?room=lobby") as member, runtime.client(intruder) as c:
        for owner in (victim, f"{victim}/Sender/s"):
            params = ["lobby", "spoofed", owner]
            refused = c.post("/_fanout/rpc", json={"method": "broadcast_to_room", "params": params})
            assert refused.status_code == 403 and refused.json()["error"]["code"] == "foreign_object", (
                refused.text
            )
        assert call(runtime, victim, "broadcast_to_room", "lobby", "real") == 1
        assert json.loads(member.recv(timeout=10))["data"] == "real"  # the first message it was sent


def test_a_relayed_room_message_that_rpc_cannot_carry_is_a_400(runtime: LocalRuntime) -> None:
    """A relay sent its data over Workers RPC unchecked: a date (`{"$date": 5}` on the wire)
    failed to clone there and was a 500 `internal_error`; sent here it is sent as it is."""
    tenant = new_tenant()
    with runtime.client(tenant) as c:
        params = ["lobby", {"when": {"$date": 5}}, "Sender/s"]
        relayed = c.post("/_fanout/rpc", json={"method": "broadcast_to_room", "params": params})
        assert relayed.status_code == 400 and relayed.json()["error"]["code"] == "unserializable_result"
        params = ["lobby", {"when": {"$date": 5}}, None]
        assert c.post("/_fanout/rpc", json={"method": "broadcast_to_room", "params": params}).json() == {
            "result": 0
        }


def test_a_value_holding_a_constructor_key_is_refused_before_it_crosses_workers_rpc(
    runtime: LocalRuntime,
) -> None:
    """The Workers SDK's conversion fails on an object whose own `constructor` is a value:
    a relayed room message or a fan-out argument holding one was a 500 from the receiving
    object (plain JSON the docs say is carried)."""
    tenant = new_tenant()
    with runtime.client(tenant) as c:
        data = {"car": {"constructor": "Ferrari"}}
        params = ["lobby", data, "Sender/s"]
        relayed = c.post("/_fanout/rpc", json={"method": "broadcast_to_room", "params": params})
        assert relayed.status_code == 400, relayed.text
        assert relayed.json()["error"]["code"] == "unserializable_result"
        assert "no key 'constructor' (at $.car)" in relayed.json()["error"]["message"]
        body = {"targets": [f"Counter/{tenant}"], "method": "tally", "args": [data]}
        fanned = c.post("/_fanout/fanout", json=body)
        assert fanned.status_code == 400, fanned.text
        assert fanned.json()["error"]["code"] == "invalid_params"
        here = c.post("/_fanout/rpc", json={"method": "broadcast_to_room", "params": ["lobby", data]})
        assert here.json() == {"result": 0}  # sent here: no Workers RPC
