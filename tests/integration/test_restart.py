"""Data written before the local runtime stops is there after it starts again, and an object
built again does not run its migrations again."""

from __future__ import annotations

from tests.runtime import LocalRuntime, new_tenant


def test_state_survives_a_runtime_restart(runtime: LocalRuntime) -> None:
    tenant = new_tenant()
    notes = {"sql": "SELECT count(*) AS n FROM notes"}  # version 2 of the harness's track adds one
    with runtime.client(tenant) as c:
        c.put("/state/persisted", json={"n": 1})
        assert c.post("/_semantic/query", json=notes).json()["rows"] == [{"n": 1}]
    runtime.rpc(tenant, "set", "via-rpc", [1, 2, 3])
    runtime.restart()
    with runtime.client(tenant) as c:
        assert c.get("/state/persisted").json()["value"] == {"n": 1}
        assert c.get("/state/via-rpc").json()["value"] == [1, 2, 3]
        assert c.post("/_semantic/query", json=notes).json()["rows"] == [{"n": 1}]
