"""Timers across a kill -9 or a restart of the runtime, on a runtime of its own (as
test_crash.py): a schedule's firing the runtime died in runs again after the restart,
once; an approval whose time ran out while the runtime was down is refused to a decision
that arrives before the alarm ran, as after it."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.runtime import LocalRuntime, new_tenant, own_harness_runtime


@pytest.fixture(scope="module")
def own_runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRuntime]:
    with own_harness_runtime(tmp_path_factory, "timers-crash") as server:
        yield server


def rpc(runtime: LocalRuntime, tenant: str, method: str, *params: Any, binding: str = "WORKFLOW") -> Any:
    response = runtime.rpc(tenant, method, *params, binding=binding).json()
    assert "result" in response, response
    return response["result"]


def run_due(runtime: LocalRuntime, tenant: str, now: int, prefix: str = "/_workflow") -> dict[str, int]:
    with runtime.client(tenant) as c:
        response = c.post(f"{prefix}/_test/alarm", json={"now": now}, timeout=60)
    assert response.status_code == 200, response.text
    result: dict[str, int] = response.json()
    return result


def test_a_schedule_firing_killed_mid_handler_runs_again_once_after_the_restart(
    own_runtime: LocalRuntime,
) -> None:
    tenant = new_tenant()
    due = rpc(own_runtime, tenant, "schedule_dying")["next_at"]

    def fire() -> None:
        with contextlib.suppress(httpx.HTTPError, AssertionError):  # killed under this request
            run_due(own_runtime, tenant, due)

    firing = threading.Thread(target=fire, daemon=True)
    firing.start()
    deadline = time.monotonic() + 30
    while not rpc(own_runtime, tenant, "counters", "fired:dying")["fired:dying"]:
        assert time.monotonic() < deadline, "the schedule's handler never started"
        time.sleep(0.1)
    own_runtime.crash()  # kill -9 inside the handler (or, on a slow machine, after its bound)
    firing.join(timeout=30)
    own_runtime.start()

    # Past the firing's lease, before the schedule's next fire time. The runtime's own alarm
    # may have run the firing again already, when `due` was only seconds away.
    later = due + 60_000
    run_due(own_runtime, tenant, later)
    assert run_due(own_runtime, tenant, later + 60_000)["schedules"] == 0  # once, not again
    log = rpc(own_runtime, tenant, "counters", "fired:dying")["fired:dying"]
    assert [scheduled for scheduled, _ in log] == [due, due] and due < log[1][1] <= later, log
    (stored,) = [s for s in rpc(own_runtime, tenant, "list_schedules") if s["handler"] == "dying"]
    assert stored["firing_at"] is None and stored["last_error"] is None


def test_a_decision_on_an_approval_that_expired_while_the_runtime_was_down_is_refused(
    own_runtime: LocalRuntime,
) -> None:
    tenant = new_tenant()
    with own_runtime.client(tenant) as c:
        started = c.post(
            "/_full/workflows/refund", json={"input": {"id": "late", "timeout": 3}, "id": "late"}
        )
        assert started.status_code == 201 and started.json()["status"] == "waiting", started.text
        (approval,) = c.get("/_full/approvals", params={"status": "pending"}).json()["items"]
    own_runtime.stop()  # before it expires (3 s); starting again takes longer than that
    own_runtime.start()
    assert approval["expires_at"] < time.time() * 1000
    with own_runtime.client(tenant) as c:  # the approver's decision is the first request
        late = c.post(f"/_full/approvals/{approval['id']}", json={"decision": "approve"})
        assert late.status_code == 409 and late.json()["error"]["code"] == "approval_expired", late.text
        assert c.get(f"/_full/approvals/{approval['id']}").json()["status"] == "expired"
        deadline = time.monotonic() + 60
        while (status := c.get("/_full/workflows/late").json())["status"] != "completed":
            assert time.monotonic() < deadline, status
            time.sleep(0.2)
        assert status["result"] == {"expired": "approval_expired"}
        assert rpc(own_runtime, tenant, "counts", "late", binding="FULL") == {"prepare": 1, "pay": 0}
