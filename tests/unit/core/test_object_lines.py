"""The lines DOCore logs about one object name it, as the workflow components' do: a
failing `on_alarm` (`dotdo.timers`), a socket error (`dotdo.sockets`) and a request's
unhandled error (`dotdo.http`) said nothing of which tenant's object they came from."""

from __future__ import annotations

import asyncio
import json
import logging
from types import SimpleNamespace

import pytest

from dotdo import BadRequest, DOCore, HttpRequest, HttpResponse, Router
from dotdo.core.alarms import AlarmInfo
from dotdo.core.router import PUBLIC
from dotdo.core.websocket import Connection
from dotdo.remote.marks import rpc
from dotdo.testing.sqlite import Storage


class Clock(DOCore):
    async def on_alarm(self, info: AlarmInfo) -> None:
        raise RuntimeError("the alarm fails")

    def routes(self, router: Router) -> None:
        super().routes(router)
        router.get("/boom", scope=PUBLIC)(self.boom)

    async def boom(self, request: HttpRequest) -> HttpResponse:
        raise RuntimeError("the route fails")


def clock(name: str | None) -> Clock:
    object_id = SimpleNamespace(name=name, toString=lambda: "4f2a")
    ctx = SimpleNamespace(storage=Storage(), id=object_id, getWebSockets=lambda *tag: [])
    return Clock(ctx, SimpleNamespace(ENVIRONMENT="development"))


def test_a_failing_alarm_and_a_socket_error_name_the_object(caplog: pytest.LogCaptureFixture) -> None:
    obj = clock("acme")

    async def fire() -> None:
        due = await obj.alarms.set(1)
        await obj.timers.run_due(due)
        await obj.on_socket_error(SimpleNamespace(id="c1"), "reset by peer")  # type: ignore[arg-type]

    with caplog.at_level(logging.WARNING):
        asyncio.run(fire())
    records = [r for r in caplog.records if r.name in ("dotdo.timers", "dotdo.sockets")]
    said = [(r.name, r.getMessage()) for r in records]
    assert said == [
        ("dotdo.timers", "[acme] on_alarm failed (attempt 1); retried in 2000 ms"),
        ("dotdo.sockets", "[acme] websocket c1 error: reset by peer"),
    ]
    assert {getattr(r, "dotdo_object", None) for r in records} == {"acme"}


def test_an_object_never_reached_by_name_is_named_by_its_id(caplog: pytest.LogCaptureFixture) -> None:
    obj = clock(None)
    with caplog.at_level(logging.WARNING, logger="dotdo.sockets"):
        asyncio.run(obj.on_socket_error(SimpleNamespace(id="c1"), "gone"))  # type: ignore[arg-type]
    assert caplog.messages == ["[4f2a] websocket c1 error: gone"]


@pytest.mark.parametrize("replaced", [False, True])
def test_an_unhandled_error_names_the_object(caplog: pytest.LogCaptureFixture, replaced: bool) -> None:
    obj = clock("acme")
    if replaced:  # an error handler of the app's that fails: both failures are logged

        async def failing(error: Exception, request: HttpRequest) -> HttpResponse:
            raise ValueError("the handler fails too")

        obj.router.on_error(failing)
    with caplog.at_level(logging.ERROR, logger="dotdo.http"):
        response = asyncio.run(obj.router.handle(HttpRequest("GET", "http://acme.localhost/boom")))
    assert response.status == 500
    lines = [r.getMessage() for r in caplog.records if r.name == "dotdo.http"]
    assert lines == ["[acme] unhandled error in GET /boom"] * (2 if replaced else 1)
    assert {getattr(r, "dotdo_object", None) for r in caplog.records if r.name == "dotdo.http"} == {"acme"}


class Failing(Clock):
    @rpc(scope="read")
    def fail(self) -> None:
        raise RuntimeError("the method fails")


def test_an_rpc_failure_names_the_object(caplog: pytest.LogCaptureFixture) -> None:
    obj = Failing(clock("acme").ctx, SimpleNamespace(ENVIRONMENT="development"))
    pipeline = {"id": 1, "pipeline": {"target": [], "pipeline": [{"type": "method", "name": "fail"}]}}
    batch = '["push",["pipeline",0,["fail"],[]]]\n["pull",1]'
    json_type = {"content-type": "application/json"}

    async def calls() -> None:
        url = "http://acme.localhost"
        await obj.router.handle(
            HttpRequest("POST", f"{url}/rpc/pipeline", json_type, json.dumps(pipeline).encode())
        )
        await obj.router.handle(HttpRequest("POST", f"{url}/capnweb", {}, batch.encode()))
        socket = Connection(SimpleNamespace(), "c1", [], 0, {"rpc": True})  # type: ignore[arg-type]
        socket.send = lambda message: True  # type: ignore[method-assign]
        await obj.on_message(socket, json.dumps({"id": 1, "method": "fail", "params": []}))

    with caplog.at_level(logging.ERROR, logger="dotdo.rpc"):
        asyncio.run(calls())
    assert [r.getMessage() for r in caplog.records if r.name == "dotdo.rpc"] == [
        "[acme] pipeline step 0 ('fail') failed",
        "[acme] Cap'n Web call failed",
        "[acme] RPC over WebSocket failed",
    ]


class Brittle(Clock):
    async def on_socket_error(self, connection: Connection, error: object) -> None:
        raise RuntimeError("the hook fails")


def test_a_socket_hook_failure_and_an_unsendable_message_name_the_object(
    caplog: pytest.LogCaptureFixture,
) -> None:
    obj = Brittle(clock("acme").ctx, SimpleNamespace(ENVIRONMENT="development"))
    ws = SimpleNamespace(deserializeAttachment=lambda: {"id": "c-9", "tags": [], "connected_at": 0})
    with caplog.at_level(logging.WARNING, logger="dotdo.sockets"):
        asyncio.run(obj.webSocketError(ws, "reset"))
        with pytest.raises(BadRequest):
            obj.broadcast({1})  # a set has no wire form
    failed, unsent = [r.getMessage() for r in caplog.records if r.name == "dotdo.sockets"]
    assert failed == "[acme] websocket c-9: on_socket_error failed"
    assert unsent.startswith("[acme] websocket broadcast: a message with no wire form was not sent: ")


class Broken:
    """A layer's timer source that fails."""

    def next_wake(self) -> int | None:
        return 1

    async def run_due(self, now: int) -> int:
        raise RuntimeError("the source fails")


def test_a_failing_timer_source_names_the_object(caplog: pytest.LogCaptureFixture) -> None:
    obj = clock("acme")
    obj.timers.register("broken", Broken())
    with caplog.at_level(logging.ERROR, logger="dotdo.timers"):
        asyncio.run(obj.timers.run_due(10))
    assert caplog.messages == ["[acme] timer source broken failed (1 in a row; next try in 1000 ms)"]


def test_a_request_line_names_the_object(caplog: pytest.LogCaptureFixture) -> None:
    obj = Clock(clock("acme").ctx, SimpleNamespace(ENVIRONMENT="development", LOG_REQUESTS="1"))
    with caplog.at_level(logging.INFO, logger="dotdo.requests"):
        asyncio.run(obj.router.handle(HttpRequest("GET", "http://acme.localhost/health")))
    (record,) = [r for r in caplog.records if r.name == "dotdo.requests"]
    assert record.getMessage().startswith("[acme] GET /health 200 ")
    assert record.dotdo_object == "acme"
