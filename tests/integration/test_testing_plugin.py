"""dotdo.testing's clients against the harness's workflow object (served under /_workflow/):
RPC, time moved on demand, event subscriptions, sockets, the asyncio twin."""

from __future__ import annotations

import asyncio
import time

import pytest

from dotdo.errors import RpcError
from dotdo.testing import LocalRuntime as PluginRuntime
from dotdo.testing import TenantClient


def nines_within(start: float, span: float) -> int:
    """How many times 09:00 UTC falls in `(start, start + span]` (seconds since the epoch):
    the harness class's daily 9am schedule fires then too, so a test moving time across it
    counts one schedule more (two tests failed every morning while they ignored it)."""
    nine = 9 * 3600
    return int((start + span - nine) // 86400 - (start - nine) // 86400)


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


def test_advance_time_fires_what_falls_due_on_the_way(workflow: TenantClient) -> None:
    """Two hours on, the hourly schedule fires at each hour as the alarm would for an object
    that stays up (it fired once: the whole move was one pass at its end)."""
    assert workflow.run_due()["schedules"] == 0  # nothing is due yet
    start = time.time()
    done = workflow.advance_time(2 * 3600)
    assert done["schedules"] == 2 + nines_within(start, 2 * 3600)
    assert workflow.rpc("counters", "fired:hourly") == {"fired:hourly": 2}


def test_advance_time_runs_a_steps_retries_as_they_fall_due(workflow: TenantClient) -> None:
    """A step failing its first three attempts (retries 1, 2, 4 s apart) completes within one
    `advance_time(100)`: each retry was set from the pass that failed the attempt before,
    and a single pass at the end ran one attempt a call."""
    started = workflow.post("/workflows/flaky_flow", json={"input": {"fail_times": 3, "limit": 4}}).json()
    assert started["status"] == "waiting", started
    done = workflow.advance_time(100)
    assert done["workflows"] == 3, done
    run = workflow.get(f"/workflows/{started['id']}").json()
    assert run["status"] == "completed" and run["result"] == "flaky_step-ok-after-4", run


def test_what_the_object_schedules_after_advance_time_counts_from_the_moved_time(
    workflow: TenantClient,
) -> None:
    """The object's time moves with the client's: a delay sent after `advance_time(3600)`
    was due at the real clock's time plus the delay, an hour before the moved one, so the
    next `advance_time(1)` sent it."""
    workflow.advance_time(3600)
    sent = workflow.post("/events", json={"type": "Pickup.reminder", "data": {}, "delay": 600})
    assert sent.status_code == 201
    [waiting] = workflow.get("/events/scheduled").json()["items"]
    assert waiting["due_at"] >= time.time() * 1000 + (3600 + 600) * 1000 - 60_000
    assert workflow.advance_time(1)["sends"] == 0
    assert workflow.advance_time(600)["sends"] == 1
    with pytest.raises(ValueError, match="finite number >= 0"):
        workflow.advance_time(-1)
    with pytest.raises(ValueError, match="2100 at most"):
        workflow.advance_time(10**12)
    past_2100 = str(4_102_444_800_000 - int(time.time() * 1000) + 1000)
    for offset in ("-5", "1" * 4301, past_2100):  # 4,301 digits were past Python's int() (a 500)
        refused = workflow.post("/health", headers={"x-dotdo-clock-offset": offset})
        assert (refused.status_code, refused.json()["error"]["code"]) == (400, "invalid_clock_offset")


def test_a_request_right_after_a_long_advance_time_is_answered(workflow: TenantClient) -> None:
    """After a pass of seconds (a handler sending itself every 5 s, moved a day on: the
    1,000-pass cap), wrangler's dev proxy lost its forward of the next request: a POST was
    its 503 "Your worker restarted mid-request", a GET waited until another request came."""
    workflow.post("/events", json={"type": "Chain.step", "data": {"n": 5000}})
    assert workflow.advance_time(86400)["sends"] > 100
    answer = workflow.post("/rpc", json={"method": "get", "params": ["chain"]}, timeout=30)
    assert answer.status_code == 200, answer.text
    assert workflow.get("/state/chain", timeout=30).json()["value"] == answer.json()["result"]


def test_run_due_is_one_pass_whose_missed_runs_collapse(workflow: TenantClient) -> None:
    """`run_due(now)` is one firing of the alarm at `now`: the hours missed before it fire once."""
    start = time.time()
    done = workflow.run_due(start * 1000 + 3 * 3600 * 1000)
    assert done["schedules"] == 1 + min(1, nines_within(start, 3 * 3600))
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
