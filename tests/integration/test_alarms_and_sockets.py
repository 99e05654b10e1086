"""Alarms that really fire, and hibernatable WebSockets with tags and broadcast."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
import websockets

from dotdo.wire.tokens import mint
from tests.conftest import HARNESS_RPC_SECRET
from tests.runtime import LocalRuntime, new_tenant


def test_alarm_set_get_cancel_and_fire(runtime: LocalRuntime) -> None:
    name = new_tenant()
    at = runtime.rpc(name, "set_alarm", 60_000, binding="HARNESS").json()["result"]
    assert runtime.rpc(name, "get_alarm", binding="HARNESS").json()["result"] == at
    runtime.rpc(name, "cancel_alarm", binding="HARNESS")
    assert runtime.rpc(name, "get_alarm", binding="HARNESS").json()["result"] is None

    at = runtime.rpc(name, "set_alarm", 50, binding="HARNESS").json()["result"]
    deadline = time.monotonic() + 15
    fired: list[dict[str, int]] = []
    while time.monotonic() < deadline and not fired:
        fired = runtime.rpc(name, "fired_alarms", binding="HARNESS").json()["result"]
        time.sleep(0.1)
    assert len(fired) == 1
    assert fired[0]["at"] >= at
    assert runtime.rpc(name, "get_alarm", binding="HARNESS").json()["result"] is None


async def _connect(runtime: LocalRuntime, tenant: str, path: str) -> websockets.ClientConnection:
    # The URL names the tenant (it becomes the Host header); the socket goes to loopback.
    url = f"ws://{tenant}.localhost:{runtime.port}{path}"
    return await websockets.connect(url, host="127.0.0.1", port=runtime.port, open_timeout=20)


def test_websocket_ping_tags_and_broadcast(runtime: LocalRuntime) -> None:
    tenant = new_tenant()

    reader = mint(HARNESS_RPC_SECRET, target=tenant, scope="read")  # this class needs a token

    async def scenario() -> None:
        red = await _connect(runtime, tenant, f"/_harness/ws?tags=red&token={reader}")
        blue = await _connect(runtime, tenant, f"/_harness/ws?tags=blue,team&token={reader}")
        await red.send(json.dumps({"type": "ping", "id": "p-1"}))
        pong = json.loads(await asyncio.wait_for(red.recv(), 10))
        assert pong["type"] == "pong" and pong["id"] == "p-1" and pong["connection"]
        await red.send("not json")
        assert json.loads(await asyncio.wait_for(red.recv(), 10))["error"]["code"] == "invalid_json"

        assert runtime.rpc(tenant, "connection_count", binding="HARNESS").json()["result"] == 2
        assert runtime.rpc(tenant, "connection_count", "team", binding="HARNESS").json()["result"] == 1
        assert (
            runtime.rpc(tenant, "broadcast_message", "hello team", "team", binding="HARNESS").json()["result"]
            == 1
        )
        assert await asyncio.wait_for(blue.recv(), 10) == "hello team"
        assert runtime.rpc(tenant, "broadcast_message", "hello all", binding="HARNESS").json()["result"] == 2
        assert await asyncio.wait_for(red.recv(), 10) == "hello all"
        assert await asyncio.wait_for(blue.recv(), 10) == "hello all"
        await red.close()
        await blue.close()

    asyncio.run(scenario())


def test_websocket_requires_upgrade_and_valid_tags(runtime: LocalRuntime) -> None:
    with runtime.client() as c:
        r = c.get("/ws")
        assert (r.status_code, r.json()["error"]["code"]) == (426, "upgrade_required")

    async def bad_tags() -> None:
        with pytest.raises(websockets.InvalidStatus) as info:
            await _connect(runtime, new_tenant(), "/ws?tags=bad%20tag")
        assert info.value.response.status_code == 400

    asyncio.run(bad_tags())


def test_a_socket_hooks_error_that_cannot_go_out_as_it_is_is_told_and_logged(runtime: LocalRuntime) -> None:
    """A hook raising an HttpError with no wire form: the error frame's own send raised, the
    client got nothing and the log had a WARNING only; an HttpError raised after the hook
    closed its socket, or by `on_close`, left no trace."""
    tenant = new_tenant()
    reader = mint(HARNESS_RPC_SECRET, target=tenant, scope="read")
    offset = runtime.log_offset()

    async def scenario() -> None:
        socket = await _connect(runtime, tenant, f"/_harness/ws?token={reader}")
        await socket.send("raise_details")
        error = json.loads(await asyncio.wait_for(socket.recv(), 10))["error"]
        assert error["code"] == "internal_error"
        assert "its details are not plain JSON: object is no JSON value" in error["message"]
        await socket.send(json.dumps({"type": "ping", "id": 1}))  # the socket lives on
        assert json.loads(await asyncio.wait_for(socket.recv(), 10))["type"] == "pong"
        await socket.send("close_then_raise")
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(socket.recv(), 10)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4000
        other = await _connect(runtime, tenant, f"/_harness/ws?token={reader}")
        await other.close(4002, "raise_http")

    asyncio.run(scenario())
    said = ""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and "on_close failed" not in said:
        time.sleep(0.1)
        said = runtime.log_since(offset)
    assert "on_message failed" in said and "cannot be sent: its details are not plain JSON" in said
    assert "on_message raised BadRequest (late: after the close) on a closed socket: no one was told" in said
    assert "on_close failed" in said and "BadRequest: on_close refused" in said
