"""Sockets: tags within the runtime's limit, attachments well inside Cloudflare's cap, and
what outgrows an attachment kept in SQLite (under Cloudflare's SQLite limits)."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import types
from typing import Any

import pytest

from dotdo import BadRequest, DOCore
from dotdo.core.access import MAX_KEY_LENGTH
from dotdo.core.sql import Sql
from dotdo.core.websocket import (
    MAX_ATTACHMENT_BYTES,
    MAX_TAG_LENGTH,
    MAX_TAGS,
    RUNTIME_MAX_TAGS,
    SOCKET_MIGRATIONS,
    TOKEN_EXPIRED_CLOSE,
    Connection,
    SocketState,
    WebSockets,
    attachment_bytes,
    live,
    parse_tags,
)
from dotdo.wire.codec import MAX_SAFE_INTEGER
from dotdo.wire.wsrpc import MAX_SUBSCRIPTIONS
from tests.unit.cloudflare_sqlite import CloudflareStorage

KEY = "k" * MAX_KEY_LENGTH  # whose rate budget the socket spends (dotdo.core.access)
LARGEST_ATTACHMENTS = {
    # /ws: the most tags of the longest kind
    "plain": (["t" * MAX_TAG_LENGTH] * MAX_TAGS, {"key": KEY}),
    # /ws/rpc: the token and subscriptions live in SQLite, not here
    "rpc": (["rpc"], {"rpc": True, "key": KEY}),
    # /capnweb: the session's counters, as large as a JSON number stays exact
    "capnweb": (["capnweb"], {"capnweb": True, "key": KEY, "ids": [MAX_SAFE_INTEGER, -MAX_SAFE_INTEGER]}),
}


@pytest.mark.parametrize("kind", LARGEST_ATTACHMENTS)
def test_the_largest_attachments_dotdo_makes_fit_in_half_the_cap(kind: str) -> None:
    tags, data = LARGEST_ATTACHMENTS[kind]
    connection = Connection(None, "f" * 32, tags, MAX_SAFE_INTEGER, data)
    assert attachment_bytes(connection.attachment()) <= MAX_ATTACHMENT_BYTES // 2


def test_tags_leave_the_runtime_a_slot_for_the_connection_id() -> None:
    assert MAX_TAGS + 1 == RUNTIME_MAX_TAGS
    most = [f"{i}".rjust(MAX_TAG_LENGTH, "t") for i in range(MAX_TAGS)]
    assert parse_tags([",".join(most)]) == most
    assert parse_tags([",".join(most), most[0]]) == most  # repeats count once
    for bad in ([*most, "one-more"], ["t" * (MAX_TAG_LENGTH + 1)]):
        with pytest.raises(BadRequest) as refused:
            parse_tags([",".join(bad)])
        assert refused.value.code == "invalid_tag"


def socket_state() -> SocketState:
    sql = Sql(CloudflareStorage())
    for statement in SOCKET_MIGRATIONS[0].statements:
        sql.run(statement)
    return SocketState(sql)


def test_socket_state_holds_the_longest_token_and_every_subscription() -> None:
    state = socket_state()
    token = "dotdo1." + "t" * 8185
    patterns = [f"N{i:02d}".ljust(64, "n") + "." + "v" * 64 for i in range(MAX_SUBSCRIPTIONS)]
    state.put("a", "token", token)
    state.put("a", "subscriptions", patterns)
    state.put("b", "subscriptions", patterns[:1])
    assert state.get("a", "token") == token and state.get("a", "subscriptions") == patterns
    assert state.values("subscriptions") == {"a": patterns, "b": patterns[:1]}
    state.put("b", "subscriptions", None)
    assert state.get("b", "subscriptions") is None
    state.forget("a")
    assert state.values("subscriptions") == {} and state.get("a", "token") is None


def test_rows_of_sockets_that_vanished_are_dropped() -> None:
    state = socket_state()
    for connection_id in ("live", "gone-1", "gone-2"):
        state.put(connection_id, "token", f"token of {connection_id}")
    assert state.keep_only(iter(["live", "never-stored"])) == 2
    assert state.get("live", "token") == "token of live" and state.get("gone-1", "token") is None


class RefusingSocket:
    def __init__(self) -> None:
        self.stored: list[Any] = []
        self.refuse = False

    def serializeAttachment(self, value: Any) -> None:  # noqa: N802 - the runtime's name
        if self.refuse:
            raise RuntimeError("serializeAttachment refused it")
        self.stored.append(value)


@pytest.fixture
def runtime_modules(monkeypatch: pytest.MonkeyPatch) -> None:
    """The two runtime modules `Connection` imports when it stores an attachment."""
    ffi = types.ModuleType("pyodide.ffi")
    ffi.to_js = lambda value, dict_converter=None: value  # type: ignore[attr-defined]
    pyodide = types.ModuleType("pyodide")
    pyodide.ffi = ffi  # type: ignore[attr-defined]
    js = types.ModuleType("js")
    js.Object = types.SimpleNamespace(fromEntries=dict)  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "pyodide", pyodide)
    monkeypatch.setitem(sys.modules, "pyodide.ffi", ffi)
    monkeypatch.setitem(sys.modules, "js", js)


@pytest.mark.usefixtures("runtime_modules")
def test_a_change_the_socket_refuses_leaves_the_connection_as_it_was() -> None:
    socket = RefusingSocket()
    connection = Connection(socket, "c", [], 0, {"capnweb": True})
    connection.update(ids=[2, -1])
    assert connection.data == {"capnweb": True, "ids": [2, -1]} == socket.stored[-1]["data"]
    socket.refuse = True
    with pytest.raises(RuntimeError):
        connection.update(ids=[3, -1])
    with pytest.raises(ValueError, match="at most 2048 bytes"):
        connection.update(extra="x" * MAX_ATTACHMENT_BYTES)
    assert connection.data == {"capnweb": True, "ids": [2, -1]} == socket.stored[-1]["data"]


class ClosingSocket:
    def __init__(self) -> None:
        self.sent: list[Any] = []
        self.closed: list[tuple[int, str]] = []

    def send(self, message: Any) -> None:
        self.sent.append(message)

    def close(self, code: int, reason: str) -> None:
        self.closed.append((code, reason))


@pytest.mark.usefixtures("runtime_modules")
def test_a_socket_whose_token_expired_is_closed_and_left_out(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys.modules["pyodide.ffi"], "JsException", RuntimeError, raising=False)
    sockets = {name: ClosingSocket() for name in ("lasting", "expired", "at_expiry", "untimed")}
    data = {"lasting": {"exp": 2000}, "expired": {"exp": 999}, "at_expiry": {"exp": 1000}, "untimed": {}}
    connections = [Connection(sockets[name], name, [], 0, {"key": "k", **data[name]}) for name in sockets]
    kept = live(connections, now=1000)
    assert [connection.id for connection in kept] == ["lasting", "untimed"]
    expected = [(TOKEN_EXPIRED_CLOSE, "token_expired")]
    assert sockets["expired"].closed == sockets["at_expiry"].closed == expected
    assert TOKEN_EXPIRED_CLOSE == 1008 and not sockets["lasting"].closed and not sockets["untimed"].closed
    assert connections[0].lapsed(2000) and not connections[0].lapsed(1999.5)


@pytest.mark.usefixtures("runtime_modules")
@pytest.mark.parametrize(
    ("ping", "pong"),
    [
        ({"type": "ping", "id": "1"}, {"type": "pong", "id": "1", "connection": "c-9"}),
        ({"type": "ping", "id": 7}, {"type": "pong", "id": 7, "connection": "c-9"}),
        ({"type": "ping"}, {"type": "pong", "connection": "c-9"}),
    ],
)
def test_a_pong_echoes_the_pings_id(
    ping: dict[str, Any], pong: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A client sent `{"type":"ping","id":"1"}` and got the connection's id back as `id`, so
    it could not match the pong to its ping."""
    monkeypatch.setattr(sys.modules["pyodide.ffi"], "JsException", RuntimeError, raising=False)
    socket = ClosingSocket()
    host = types.SimpleNamespace(_rpc_transport=types.SimpleNamespace(serves=lambda connection: False))
    asyncio.run(DOCore.on_message(host, Connection(socket, "c-9", [], 0), json.dumps(ping)))  # type: ignore[arg-type]
    assert [json.loads(sent) for sent in socket.sent] == [pong]


class RuntimeSocket(ClosingSocket):
    """A socket as the runtime hands it to `webSocketMessage`, its attachment with it."""

    def deserializeAttachment(self) -> Any:  # noqa: N802 - the runtime's name
        return {"id": "c-9", "tags": [], "connected_at": 0, "data": {}}


def socket_host(on_message: Any = DOCore.on_message, on_close: Any = DOCore.on_close) -> Any:
    host = types.SimpleNamespace(
        _rpc_transport=types.SimpleNamespace(serves=lambda connection: False, forget=lambda connection: None),
        _access=types.SimpleNamespace(limits=types.SimpleNamespace(admit_message=lambda key: None)),
        router=types.SimpleNamespace(development=True),
        socket_state=types.SimpleNamespace(forget=lambda connection_id: None),
        _object_sockets_log=logging.getLogger("dotdo.sockets"),
    )
    host.on_message = types.MethodType(on_message, host)
    host.on_close = types.MethodType(on_close, host)
    return host


@pytest.mark.usefixtures("runtime_modules")
def test_a_reply_with_no_wire_form_is_an_error_to_the_client_and_a_log_line(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A ping whose id nests 100 levels (JSON allows 512, the wire form 64) got no pong and
    no log line: the encode error left `webSocketMessage`, and the runtime dropped it."""
    monkeypatch.setattr(sys.modules["pyodide.ffi"], "JsException", RuntimeError, raising=False)
    socket = RuntimeSocket()
    deep = "[" * 100 + "]" * 100
    asyncio.run(DOCore.webSocketMessage(socket_host(), socket, f'{{"type":"ping","id":{deep}}}'))
    asyncio.run(DOCore.webSocketMessage(socket_host(), socket, '{"type":"ping","id":2}'))
    answers = [json.loads(sent) for sent in socket.sent]
    assert answers[0]["type"] == "error" and answers[0]["error"]["code"] == "unserializable_result"
    assert answers[1] == {"type": "pong", "id": 2, "connection": "c-9"}  # the socket lives on
    assert (
        "websocket c-9: a message with no wire form was not sent: value is nested too deeply" in caplog.text
    )


@pytest.mark.usefixtures("runtime_modules")
def test_a_socket_hook_that_raises_is_logged_and_answered(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(sys.modules["pyodide.ffi"], "JsException", RuntimeError, raising=False)

    async def on_message(host: Any, connection: Connection, message: str) -> None:
        raise ValueError("the app's hook broke")

    def on_close(host: Any, connection: Connection, code: int, reason: str) -> None:  # a plain def
        raise ValueError("the app's hook broke")

    socket = RuntimeSocket()
    host = socket_host(on_message=on_message, on_close=on_close)
    asyncio.run(DOCore.webSocketMessage(host, socket, "{}"))
    error = json.loads(socket.sent[0])["error"]
    assert error["code"] == "internal_error" and "ValueError: the app's hook broke" in error["message"]
    asyncio.run(DOCore.webSocketClose(host, socket, 4000, "bye"))
    assert socket.closed == [(4000, "bye")]  # the close is still answered
    failures = [r for r in caplog.records if r.name == "dotdo.sockets" and r.levelname == "ERROR"]
    assert [r.getMessage() for r in failures] == [
        "websocket c-9: on_message failed",
        "websocket c-9: on_close failed",
    ]
    assert all(r.exc_info for r in failures)


@pytest.mark.usefixtures("runtime_modules")
def test_a_broadcast_with_no_wire_form_is_logged_and_raised(caplog: pytest.LogCaptureFixture) -> None:
    sockets = WebSockets(types.SimpleNamespace(getWebSockets=lambda tag=None: []))
    with pytest.raises(BadRequest) as refused:
        sockets.broadcast({"deep": _nested(70)}, tag="room")
    assert refused.value.code == "unserializable_result"
    assert "websocket broadcast to tag room: a message with no wire form was not sent" in caplog.text


def _nested(depth: int) -> Any:
    value: Any = []
    for _ in range(depth):
        value = [value]
    return value


class ShutSocket(RuntimeSocket):
    """A socket the hook closed: a send fails as the runtime's does (`JsException`)."""

    def send(self, message: Any) -> None:
        raise RuntimeError("WebSocket is closed")


def _socket_errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "dotdo.sockets" and r.levelname == "ERROR"]


@pytest.mark.usefixtures("runtime_modules")
def test_a_hook_error_whose_frame_cannot_be_sent_is_an_internal_error_frame_and_logged(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A hook raising an HttpError whose details had no wire form: the error frame's own send
    raised inside the hook's `except`, the client got nothing and the log only a WARNING."""
    monkeypatch.setattr(sys.modules["pyodide.ffi"], "JsException", RuntimeError, raising=False)

    async def built_wrong(host: Any, connection: Connection, message: str) -> None:
        raise BadRequest("unserializable details", code="ws_bad", details={"x": object()})

    async def changed_after(host: Any, connection: Connection, message: str) -> None:
        error = BadRequest("changed", code="ws_bad")
        error.details["x"] = {1}  # after it was built, where it is checked
        raise error

    socket = RuntimeSocket()
    for hook in (built_wrong, changed_after):
        asyncio.run(DOCore.webSocketMessage(socket_host(on_message=hook), socket, "{}"))
    frames = [json.loads(sent)["error"] for sent in socket.sent]
    assert [frame["code"] for frame in frames] == ["internal_error", "internal_error"]
    assert "its details are not plain JSON: object is no JSON value" in frames[0]["message"]
    assert "BadRequest: set cannot be sent over RPC" in frames[1]["message"]
    assert _socket_errors(caplog) == [
        "websocket c-9: built_wrong failed",
        "websocket c-9: changed_after's error could not be sent",
    ]


@pytest.mark.usefixtures("runtime_modules")
def test_an_http_error_no_one_can_be_told_of_is_logged(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """`on_close` raising an HttpError left no trace (only other exceptions were logged, and a
    close has no one to answer), nor did a hook that closed its socket and then raised one."""
    monkeypatch.setattr(sys.modules["pyodide.ffi"], "JsException", RuntimeError, raising=False)

    async def on_close(host: Any, connection: Connection, code: int, reason: str) -> None:
        raise BadRequest("on_close refused", code="close_bad")

    async def closed_then_raised(host: Any, connection: Connection, message: str) -> None:
        raise BadRequest("after the close", code="late")

    host = socket_host(on_message=closed_then_raised, on_close=on_close)
    asyncio.run(DOCore.webSocketClose(host, RuntimeSocket(), 4002, "bye"))
    asyncio.run(DOCore.webSocketMessage(host, ShutSocket(), "{}"))
    assert _socket_errors(caplog) == [
        "websocket c-9: on_close failed",
        "websocket c-9: closed_then_raised raised BadRequest (late: after the close) on a closed socket:"
        " no one was told",
    ]
    assert "BadRequest: on_close refused" in caplog.text  # with its traceback
