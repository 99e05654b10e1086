"""An object reset by the runtime (`ctx.abort()`, a `blockConcurrencyWhile` callback that
raises) comes back as a new instance on its next event, its storage intact, as on
Cloudflare; the request that reset it gets an error at once, and every other object of the
isolate goes on. On a runtime of its own: the fault this guards against (ADR 0031's batched
event loop held every later callback behind the reset object's lost macrotask) failed every
request of the isolate after it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.runtime import LocalRuntime, new_tenant, own_harness_runtime


@pytest.fixture(scope="module")
def own_runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRuntime]:
    with own_harness_runtime(tmp_path_factory, "abort") as server:
        yield server


def built_at(runtime: LocalRuntime, name: str) -> float:
    answer = runtime.rpc(name, "built_at", binding="HARNESS")
    assert answer.status_code == 200, answer.text
    result: float = answer.json()["result"]
    return result


def test_an_aborted_object_comes_back_fresh_with_its_storage_and_the_others_go_on(
    own_runtime: LocalRuntime,
) -> None:
    aborted, other = new_tenant(), new_tenant()
    assert own_runtime.rpc(aborted, "keep", "k", {"x": 1}, binding="HARNESS").json() == {"result": None}
    first, others = built_at(own_runtime, aborted), built_at(own_runtime, other)

    # A Workers RPC call that aborts: the caller gets the abort's reason, at once.
    answer = own_runtime.rpc(aborted, "reset", "reset by the test", binding="HARNESS")
    assert answer.status_code == 500 and "reset by the test" in answer.json()["error"]["message"]
    second = built_at(own_runtime, aborted)
    assert second > first  # a new instance
    assert own_runtime.rpc(aborted, "kept", "k", binding="HARNESS").json() == {"result": {"x": 1}}
    assert built_at(own_runtime, other) == others  # untouched

    # A request that aborts, through the passthrough worker: 503 object_unavailable.
    with own_runtime.client(aborted) as c:
        response = c.post("/_harness/reset", params={"reason": "reset over HTTP"})
        assert response.status_code == 503, response.text
        error = response.json()["error"]
        assert error["code"] == "object_unavailable"
        assert c.get("/_harness/health").json() == {"status": "ok"}
    assert built_at(own_runtime, aborted) > second
    assert own_runtime.rpc(aborted, "kept", "k", binding="HARNESS").json() == {"result": {"x": 1}}
    assert built_at(own_runtime, other) == others
    with own_runtime.client(other) as c:
        assert c.get("/_harness/health").json() == {"status": "ok"}


def test_a_failed_block_concurrency_while_resets_only_its_object(own_runtime: LocalRuntime) -> None:
    # The other way an object's own code resets it: the same path through the runtime.
    broken, other = new_tenant(), new_tenant()
    first, others = built_at(own_runtime, broken), built_at(own_runtime, other)
    with own_runtime.client(broken) as c:
        response = c.post("/_harness/break")
        assert response.status_code == 503, response.text
        error = response.json()["error"]
        assert error["code"] == "object_unavailable"
        assert c.get("/_harness/health").json() == {"status": "ok"}
    assert built_at(own_runtime, broken) > first
    assert built_at(own_runtime, other) == others
