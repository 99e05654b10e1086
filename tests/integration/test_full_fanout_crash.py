"""A workflow's fan-out interrupted half-way by a SIGKILL of the whole runtime calls only
the targets it had not finished once the run is resumed after the restart (the targets
count their calls in their own storage). On a runtime of its own, as test_crash.py."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.runtime import LocalRuntime, new_tenant, own_harness_runtime

RUN_LEASE_MS = 60_000


@pytest.fixture(scope="module")
def own_runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRuntime]:
    with own_harness_runtime(tmp_path_factory, "fanout-crash") as server:
        yield server


def call(runtime: LocalRuntime, name: str, method: str, *params: Any) -> Any:
    answer = runtime.rpc(name, method, *params, binding="FANOUT").json()
    assert "error" not in answer, answer
    return answer["result"]


def test_a_fan_out_killed_half_way_calls_only_the_missing_targets(own_runtime: LocalRuntime) -> None:
    tenant = new_tenant()
    targets = [f"Counter/{tenant}-{n}" for n in range(10)]
    call(
        own_runtime, f"{tenant}/{targets[5]}", "behave", "hang"
    )  # the sixth call never answers: the crash comes there
    spec = {"input": {"targets": targets, "concurrency": 1}, "id": "run-crash"}

    def start() -> None:
        try:
            with own_runtime.client(tenant) as c:
                c.post("/_fanout/workflows/fan_flow", json=spec, timeout=120)
        except httpx.HTTPError:
            pass  # the runtime died under the request, as meant

    starter = threading.Thread(target=start)
    starter.start()
    deadline = time.monotonic() + 60
    while call(own_runtime, f"{tenant}/{targets[5]}", "calls") < 1:
        assert time.monotonic() < deadline, "the fan-out never reached the sixth target"
        time.sleep(0.05)
    own_runtime.crash()
    starter.join(timeout=60)
    own_runtime.start()

    assert [call(own_runtime, f"{tenant}/{target}", "calls") for target in targets] == [1] * 6 + [0] * 4
    call(own_runtime, f"{tenant}/{targets[5]}", "behave", None)
    with own_runtime.client(tenant) as c:
        assert c.get("/_fanout/workflows/run-crash").json()["status"] == "running"
        later = int(time.time() * 1000) + RUN_LEASE_MS + 5_000  # the dead run's lease has run out
        assert c.post("/_fanout/_test/alarm", json={"now": later}).status_code == 200
        status = c.get("/_fanout/workflows/run-crash").json()
    assert status["status"] == "completed", status
    assert [item["target"] for item in status["result"]["outcomes"]] == targets
    assert all(item["ok"] for item in status["result"]["outcomes"])
    # the five recorded before the crash were not called again; the one cut off was
    assert [call(own_runtime, f"{tenant}/{target}", "calls") for target in targets] == [1] * 5 + [2] + [1] * 4
