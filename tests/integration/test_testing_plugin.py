"""dotdo.testing's clients against the harness's workflow object (served under /_workflow/):
RPC, time moved on demand, event subscriptions, sockets, the asyncio twin."""

from __future__ import annotations

import asyncio

import pytest

from dotdo.errors import RpcError
from dotdo.testing import LocalRuntime as PluginRuntime
from dotdo.testing import TenantClient


@pytest.fixture
def workflow(dotdo_runtime: PluginRuntime) -> TenantClient:
    with dotdo_runtime.client(prefix="/_workflow") as client:
        assert client.get("/health").status_code == 200  # the object exists, its schedules are stored
        yield client


def test_rpc_answers_and_raises_with_the_servers_code(workflow: TenantClient) -> None:
    assert workflow.rpc("counters", "fired:hourly") == {"fired:hourly": None}
    with pytest.raises(RpcError) as raised:
        workflow.rpc("no_such_method")
    assert raised.value.code == "method_not_found"


def test_advance_time_fires_the_schedules_that_fall_due(workflow: TenantClient) -> None:
    assert workflow.run_due()["schedules"] == 0  # nothing is due yet
    done = workflow.advance_time(2 * 3600)  # two hours on: the hourly schedule (once: missed runs collapse)
    assert done["schedules"] >= 1
    assert workflow.rpc("counters", "fired:hourly") == {"fired:hourly": 1}


def test_subscribe_follows_events(workflow: TenantClient) -> None:
    with workflow.subscribe("Customer.*") as events:
        workflow.post("/Customer", json={"$id": "ada", "name": "Ada"})
        event = events.next(timeout=30)
    assert event["type"] == "Customer.created"
    assert event["data"]["name"] == "Ada"


def test_ws_opens_a_socket_of_the_tenants_object(workflow: TenantClient) -> None:
    with workflow.ws("/ws") as socket:
        socket.send('{"type": "ping", "id": 7}')
        assert '"pong"' in socket.recv(timeout=30)


def test_the_async_client(dotdo_runtime: PluginRuntime) -> None:
    async def scenario() -> tuple[object, dict[str, int]]:
        client = dotdo_runtime.async_client(prefix="/_workflow")
        await client.get("/health")
        return await client.rpc("counters", "fired:hourly"), await client.advance_time(2 * 3600)

    counters, done = asyncio.run(scenario())
    assert counters == {"fired:hourly": None}
    assert done["schedules"] >= 1


def test_each_client_is_a_fresh_tenant(dotdo_runtime: PluginRuntime) -> None:
    with dotdo_runtime.client() as one, dotdo_runtime.client() as other:
        assert one.tenant != other.tenant
        one.put("/state/k", json=1)
        assert other.get("/state/k").status_code == 404
