"""Every subscribe of the event clients (`Client.subscribe`, and `dotdo.testing`'s
`TenantClient.subscribe` and `AsyncTenantClient.subscribe`) matches its answer by id: an
event pushed on the socket before the answer (the socket's earlier patterns match the
traffic of others) is kept and handed on in order, and the answer after it, an error
too, is the one heard. Driven against a websockets server that pushes an event before
each answer after the first."""

from __future__ import annotations

import asyncio
import json
from contextlib import AbstractContextManager
from typing import Any

import pytest

from dotdo.client import Client, RpcError
from dotdo.testing.clients import AsyncTenantClient, TenantClient
from dotdo.wire.wsrpc import answer_to
from tests.unit.wsserver import socket_server

BAD = "Bad pattern!"


def _answer(request: dict[str, Any]) -> dict[str, Any]:
    if request["params"] == [BAD]:
        error = {"code": "invalid_event_pattern", "message": "an event pattern is Noun.verb"}
        return {"id": request["id"], "error": error}
    return {"id": request["id"], "result": True}


def _event(number: int) -> dict[str, Any]:
    params = {"id": f"e{number}", "type": "Order.created", "data": {"n": number}, "subject": f"o{number}"}
    return {"method": "event", "params": params}


def _replies(request: dict[str, Any], pushed: int) -> list[dict[str, Any]]:
    """What the server sends for one subscribe: after the first, an event ahead of the answer;
    after the last good answer, one more event."""
    replies = [_event(pushed)] if request["id"] > 0 else []
    return [*replies, _answer(request)]


def server(patterns: int) -> AbstractContextManager[int]:
    """A server (the port) that answers `patterns` subscribes as `_replies` says, then
    pushes one more event and waits for the client to close."""

    def handle(socket: Any) -> None:
        pushed = 0
        for _ in range(patterns):
            request = json.loads(socket.recv())
            for reply in _replies(request, pushed):
                socket.send(json.dumps(reply))
            pushed += 1 if request["id"] > 0 else 0
            if "error" in _answer(request):
                break
        socket.send(json.dumps(_event(99)))
        for _ in socket:
            pass

    return socket_server(handle)


async def _client_events(port: int, *patterns: str) -> list[str]:
    got: list[str] = []
    async with Client(f"http://127.0.0.1:{port}") as client, client.subscribe(*patterns) as events:
        async for event in events:
            got.append(event["id"])
            if event["id"] == "e99":
                return got
    raise AssertionError(f"ended after {got}")


async def _async_tenant_events(port: int, *patterns: str) -> list[str]:
    got: list[str] = []
    client = AsyncTenantClient(port, "acme")
    async with client.subscribe(*patterns) as events:
        async for event in events:
            got.append(event["id"])
            if event["id"] == "e99":
                return got
    raise AssertionError(f"ended after {got}")


def _tenant_events(port: int, *patterns: str) -> list[str]:
    with TenantClient(port, "acme") as client, client.subscribe(*patterns) as subscription:
        return [subscription.next()["id"] for _ in patterns]  # as many events as patterns


def test_events_pushed_before_an_answer_are_kept_in_order() -> None:
    patterns = ("Customer.*", "Order.*", "Invoice.*")
    with server(len(patterns)) as port:
        assert asyncio.run(_client_events(port, *patterns)) == ["e0", "e1", "e99"]
    with server(len(patterns)) as port:
        assert asyncio.run(_async_tenant_events(port, *patterns)) == ["e0", "e1", "e99"]
    with server(len(patterns)) as port:
        assert _tenant_events(port, *patterns) == ["e0", "e1", "e99"]


def test_an_error_answer_after_a_pushed_event_is_raised() -> None:
    patterns = ("Customer.*", "Order.*", BAD)
    for run in (
        lambda port: asyncio.run(_client_events(port, *patterns)),
        lambda port: asyncio.run(_async_tenant_events(port, *patterns)),
        lambda port: _tenant_events(port, *patterns),
    ):
        with server(len(patterns)) as port, pytest.raises(RpcError) as refused:
            run(port)
        assert refused.value.code == "invalid_event_pattern"


def test_answer_to_matches_by_id() -> None:
    events: list[Any] = []
    assert answer_to(json.dumps(_event(1)), 2, events) is None and events == [_event(1)["params"]]
    assert answer_to('{"id": 1, "result": true}', 2, events) is None  # another call's
    assert answer_to("[1]", 2, events) is None
    assert answer_to('{"id": 2, "result": true}', 2, events) == {"id": 2, "result": True}
    refused = '{"id": null, "error": {"code": "rate_limited", "message": "slow down"}}'
    assert answer_to(refused, 2, events) == json.loads(refused)  # an id the server could not read
    assert events == [_event(1)["params"]]


def test_an_rpc_error_s_traceback_ends_at_the_test_s_call() -> None:
    """A failing `dotdo_client.rpc(...)` showed dotdo's `_result` frame and its source in
    the test's traceback; the frames that only re-raise the server's error are hidden."""
    import httpx

    client = TenantClient(1, "acme")
    refused = {"error": {"code": "method_not_found", "message": "No callable method 'borow'"}}
    client.post = lambda *args, **kwargs: httpx.Response(404, json=refused)  # type: ignore[method-assign]
    with pytest.raises(RpcError) as caught:
        client.rpc("borow")
    shown = caught.traceback.filter(caught)
    assert [entry.name for entry in shown] == ["test_an_rpc_error_s_traceback_ends_at_the_test_s_call"]
    client.close()


def test_a_subscribe_hint_is_logged_by_the_test_client_too(caplog: pytest.LogCaptureFixture) -> None:
    hint = "no event is 'Order.create': ..."

    def handle(socket: Any) -> None:
        request = json.loads(socket.recv())
        socket.send(
            json.dumps({"id": request["id"], "result": {"subscriptions": ["Order.create"], "hint": hint}})
        )
        socket.recv()  # until the client closes

    with (
        socket_server(handle) as port,
        TenantClient(port, "acme") as client,
        client.subscribe("Order.create"),
    ):
        pass
    assert f"subscribe('Order.create'): {hint}" in caplog.text
