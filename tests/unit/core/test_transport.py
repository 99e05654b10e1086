"""The RPC transports under CPython: one component behind a narrow host interface.

The host here is a plain class with `@rpc` methods (no Workers runtime): the same
interface DOCore gives the transport, and the same access layer guarding its router,
so every route, upgrade and socket message runs as it does in the object.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass, field
from typing import Any

import pytest

from dotdo import HttpRequest, HttpResponse, Router, RpcTarget, rpc
from dotdo.core.access import Access, AccessControl, AccessSettings
from dotdo.core.limits import Limits, Rate
from dotdo.core.sql import Sql
from dotdo.core.transport import RpcTransport
from dotdo.core.websocket import MAX_ATTACHMENT_BYTES, SOCKET_MIGRATIONS, Connection, SocketState
from dotdo.remote.marks import Authorize, seal_rpc_surface
from dotdo.remote.targets import resolve_target
from dotdo.wire.tokens import MAX_TOKEN_LENGTH, mint
from tests.unit.cloudflare_sqlite import CloudflareStorage

SECRET = "s3cret"


class FakeConnection(Connection):
    """A socket that records what is sent on it."""

    def __init__(self, data: dict[str, Any]) -> None:
        super().__init__(socket=None, id=f"c{id(self)}", tags=[], connected_at=0, data=data)
        self.sent: list[Any] = []
        self.closed: list[tuple[int, str]] = []

    def send(self, message: Any) -> bool:
        self.sent.append(json.loads(message) if isinstance(message, str) else message)
        return True

    def close(self, code: int, reason: str) -> None:
        self.closed.append((code, reason))

    def _serialize(self, payload: dict[str, Any]) -> None:
        pass


@dataclass
class FakeSockets:
    accepted: list[tuple[list[str], dict[str, Any]]] = field(default_factory=list)
    open: list[Connection] = field(default_factory=list)

    def accept(self, tags: list[str], data: dict[str, Any] | None = None) -> tuple[Any, Connection]:
        self.accepted.append((tags, dict(data or {})))
        connection = FakeConnection(dict(data or {}))
        self.open.append(connection)
        return "client end", connection

    def connections(self, tag: str | None = None) -> list[Connection]:
        return list(self.open)


class Desk(RpcTarget):
    @rpc(scope="read")
    def open(self) -> bool:
        return True


class Host:
    """What DOCore is to the transport: the root of calls, the access rule, the sockets."""

    def __init__(self, secret: str | None = SECRET, environment: str | None = None, limit: int = 100) -> None:
        self.websockets = FakeSockets()
        sql = Sql(CloudflareStorage())
        for statement in SOCKET_MIGRATIONS[0].statements:
            sql.run(statement)
        self.socket_state = SocketState(sql)
        limits = Limits(Rate(1000, 10.0), Rate(limit, 10.0))
        settings = AccessSettings(secret=secret, environment=environment)
        self.access = AccessControl(settings, "acme", limits)
        self.transport = RpcTransport(self, limits, development=settings.development)
        self.router = Router(
            guard=lambda request, route: self.access.guard(request, route, self.access_for),
            development=settings.development,
        )
        self.transport.routes(self.router)

    def rpc_root(self, target: list[Any]) -> Any:
        return resolve_target(self, target)

    def access_for(self, token: str | None) -> Access:
        return self.access.access_for(token)

    async def rpc_socket_call(
        self, connection: Connection, method_name: str, params: Any, authorize: Authorize
    ) -> Any:
        return await self.transport.call(method_name, params, authorize)

    @rpc(scope="read")
    def greet(self, name: str) -> str:
        return f"hi {name}"

    @rpc
    def poke(self) -> int:
        return 1

    @rpc(scope="read")
    def echo(self, value: Any) -> Any:
        return value

    @rpc(scope="read")
    def desk(self) -> Desk:
        return Desk()

    @rpc(scope="read")
    def crash(self) -> None:
        raise RuntimeError("a secret detail")

    @rpc(scope="read")
    def crash_unprintably(self) -> None:
        raise Unprintable


class Unprintable(Exception):
    """An exception whose text cannot be had: `str()` of it raises."""

    def __str__(self) -> str:
        raise RuntimeError("no text")


seal_rpc_surface(Host)


def token(scope: str = "write", target: str = "acme") -> str:
    return mint(SECRET, target=target, scope=scope)


def opened(host: Host, data: dict[str, Any], with_token: str | None = None) -> FakeConnection:
    """A socket as the transport leaves it after the upgrade: its token in `socket_state`,
    its caller's rate key in its attachment."""
    key = host.access_for(with_token).key if with_token else ""
    connection = FakeConnection({**data, "key": key} if key else data)
    if with_token is not None:
        host.socket_state.put(connection.id, "token", with_token)
    return connection


def request(
    host: Host, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
) -> HttpResponse:
    raw = b"" if body is None else body if isinstance(body, bytes) else json.dumps(body).encode()
    incoming = HttpRequest(method, f"http://acme.localhost{path}", headers or {}, raw)
    return asyncio.run(host.router.handle(incoming))


def error_code(response: HttpResponse) -> tuple[int, str]:
    return response.status, response.json()["error"]["code"]


def test_post_rpc_is_guarded_before_the_body_is_read() -> None:
    call = {"method": "greet", "params": ["ada"]}
    assert error_code(request(Host(secret=None), "POST", "/rpc", b"not json")) == (503, "auth_not_configured")
    assert request(Host(secret=None, environment="development"), "POST", "/rpc", call).json() == {
        "result": "hi ada"
    }
    assert error_code(request(Host(), "POST", "/rpc", call)) == (401, "token_required")
    reader = {"x-capability": token("read")}
    assert request(Host(), "POST", "/rpc", call, reader).json() == {"result": "hi ada"}
    assert error_code(request(Host(), "POST", "/rpc", {"method": "poke"}, reader)) == (403, "token_scope")
    elsewhere = {"x-capability": token(target="other")}
    assert error_code(request(Host(), "POST", "/rpc", call, elsewhere)) == (403, "token_wrong_target")


def test_post_rpc_reads_the_body_once_and_answers_in_the_one_encoding() -> None:
    headers = {"x-capability": token()}
    bad_tag = {"$date": "never"}
    for method in ("nope", "greet"):  # the whole body is decoded (codec.loads) before the method is found
        call = {"method": method, "params": bad_tag}
        assert error_code(request(Host(), "POST", "/rpc", call, headers)) == (400, "invalid_value")
    assert error_code(request(Host(), "POST", "/rpc", {"method": "nope", "params": []}, headers)) == (
        404,
        "method_not_found",
    )
    assert error_code(request(Host(), "POST", "/rpc", [1], headers)) == (400, "invalid_rpc")
    assert error_code(request(Host(), "POST", "/rpc", {"method": "greet", "params": [1]}, headers)) == (
        400,
        "invalid_params",
    )
    # decoded once: an escaped tag stays an object, a big integer an exact int; encoded once on the way out
    values = [{"$escape": {"$bigint": "1"}}, {"$bigint": "9007199254740993"}, 9007199254740993]
    answer = request(Host(), "POST", "/rpc", {"method": "echo", "params": [values]}, headers)
    assert answer.json() == {
        "result": [
            {"$escape": {"$bigint": "1"}},
            {"$bigint": "9007199254740993"},
            {"$bigint": "9007199254740993"},
        ]
    }


def test_pipelines_one_and_a_batch() -> None:
    headers = {"x-capability": token("read")}
    step = {"type": "method", "name": "greet", "args": ["ada"]}
    one = {"id": "p1", "pipeline": {"target": [], "pipeline": [step]}}
    assert request(Host(), "POST", "/rpc/pipeline", one, headers).json() == {"id": "p1", "result": "hi ada"}
    poke = {"id": "p2", "pipeline": {"target": [], "pipeline": [{"type": "method", "name": "poke"}]}}
    refused = request(Host(), "POST", "/rpc/pipeline", poke, headers)
    assert refused.status == 403 and refused.json()["error"]["code"] == "token_scope"
    batch = request(Host(), "POST", "/rpc/pipeline", [one, poke], headers)
    assert batch.status == 200
    assert [sorted(answer) for answer in batch.json()] == [["id", "result"], ["error", "id"]]


def test_a_socket_is_refused_before_the_upgrade() -> None:
    host = Host()
    assert error_code(request(host, "GET", "/ws/rpc")) == (401, "token_required")  # who asks comes first
    assert error_code(request(host, "GET", "/ws/rpc", headers={"x-capability": token()})) == (
        426,
        "upgrade_required",
    )
    upgrade = {"upgrade": "websocket"}
    assert error_code(request(host, "GET", "/ws/rpc", headers=upgrade)) == (401, "token_required")
    bad = {**upgrade, "x-capability": "dotdo1.x.y"}
    assert error_code(request(host, "GET", "/capnweb", headers=bad)) == (401, "token_malformed")
    too_long = {**upgrade, "x-capability": "dotdo1." + "x" * MAX_TOKEN_LENGTH}
    assert error_code(request(host, "GET", "/ws/rpc", headers=too_long)) == (401, "token_malformed")
    assert host.websockets.accepted == []


def test_sockets_keep_their_token_and_are_tagged_by_protocol() -> None:
    host = Host()
    upgrade = {"upgrade": "websocket", "x-capability": token()}
    access = host.access_for(upgrade["x-capability"])
    key, exp = access.key, access.capability.exp if access.capability else None
    assert request(host, "GET", "/ws/rpc", headers=upgrade).status == 101
    assert request(host, "GET", "/capnweb", headers=upgrade).status == 101
    (rpc_tags, rpc_data), (capnweb_tags, capnweb_data) = host.websockets.accepted
    # the token is kept in SQLite; its expiry, which stops pushes, in the attachment
    assert isinstance(exp, int) and rpc_tags == ["rpc"] and rpc_data == {"rpc": True, "key": key, "exp": exp}
    assert capnweb_tags == ["capnweb"] and capnweb_data == {"capnweb": True, "key": key, "exp": exp}
    assert [host.socket_state.get(c.id, "token") for c in host.websockets.open] == [
        upgrade["x-capability"]
    ] * 2
    assert host.transport.serves(FakeConnection(rpc_data)) and host.transport.serves(
        FakeConnection(capnweb_data)
    )
    assert not host.transport.serves(FakeConnection({}))


def converse(host: Host, connection: FakeConnection, *messages: Any) -> list[Any]:
    async def go() -> None:
        for message in messages:
            await host.transport.receive(
                connection, message if isinstance(message, str) else json.dumps(message)
            )

    asyncio.run(go())
    return connection.sent


def test_socket_messages_are_answered_with_the_socket_token(caplog: pytest.LogCaptureFixture) -> None:
    host = Host()
    reader = opened(host, {"rpc": True}, token("read"))
    with caplog.at_level(logging.ERROR, logger="dotdo.rpc"):
        answers = converse(
            host,
            reader,
            {"id": 1, "method": "greet", "params": ["ada"]},
            {"id": 2, "method": "poke"},
            {"id": 3, "method": "crash"},
            "not json",
        )
    assert answers[0] == {"id": 1, "result": "hi ada"}
    assert [answer["error"]["code"] for answer in answers[1:]] == [
        "token_scope",
        "internal_error",
        "invalid_json",
    ]
    assert "a secret detail" not in json.dumps(answers)
    assert [record.getMessage() for record in caplog.records] == ["RPC over WebSocket failed"]
    anonymous = FakeConnection({"rpc": True})
    assert converse(host, anonymous, {"id": 1, "method": "greet", "params": ["a"]})[0]["error"]["code"] == (
        "token_required"
    )


def crash_answers(host: Host, method: str = "crash") -> dict[str, str]:
    """The message each RPC surface answers when the method it calls (`crash`: raises
    RuntimeError("a secret detail")) fails, by surface."""
    headers = {"x-capability": token("read")}
    single = request(host, "POST", "/rpc", {"method": method, "params": []}, headers)
    step = {"type": "method", "name": method, "args": []}
    one = {"id": "p", "pipeline": {"target": [], "pipeline": [step]}}
    pipeline = request(host, "POST", "/rpc/pipeline", one, headers)
    assert (single.status, pipeline.status) == (500, 500)
    push, pull = ["push", ["pipeline", 0, [method], []]], ["pull", 1]
    batch = request(host, "POST", "/capnweb", f"{json.dumps(push)}\n{json.dumps(pull)}".encode(), headers)
    [ws_answer] = converse(host, opened(host, {"rpc": True}, token("read")), {"id": 1, "method": method})
    capnweb = opened(host, {"capnweb": True}, token("read"))

    async def over_capnweb() -> None:
        for line in (push, pull):
            await host.transport.receive(capnweb, json.dumps(line))
        for _ in range(10):  # let the answer's task run
            await asyncio.sleep(0)

    asyncio.run(over_capnweb())
    rejections = [json.loads(batch.body), capnweb.sent[-1]]
    assert all(line[:2] == ["reject", 1] and line[2][4] == {"code": "internal_error"} for line in rejections)
    assert ws_answer["error"]["code"] == "internal_error"
    return {
        "POST /rpc": single.json()["error"]["message"],
        "POST /rpc/pipeline": pipeline.json()["error"]["message"],
        "POST /capnweb": rejections[0][2][2],
        "GET /capnweb": rejections[1][2][2],
        "GET /ws/rpc": ws_answer["error"]["message"],
    }


def test_in_development_every_rpc_surface_names_a_failure_of_its_own(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """`/rpc/pipeline`, Cap'n Web and `/ws/rpc` answered a bare "Internal error" with
    ENVIRONMENT=development, where `POST /rpc` (the router's handler) named the exception:
    each names it now, with its traceback in the log; production answers name nothing."""
    where = "(ENVIRONMENT=development; the traceback is in the server's output)"
    with caplog.at_level(logging.ERROR):
        named = crash_answers(Host(environment="development"))
    assert named == {
        "POST /rpc": f"Internal server error: RuntimeError: a secret detail {where}",
        **{
            surface: f"Internal error: RuntimeError: a secret detail {where}"
            for surface in ("POST /rpc/pipeline", "POST /capnweb", "GET /capnweb", "GET /ws/rpc")
        },
    }
    failures = [record.exc_info[1] for record in caplog.records if record.exc_info]
    assert len(failures) == 5 and all(isinstance(failure, RuntimeError) for failure in failures)
    assert crash_answers(Host()) == {
        "POST /rpc": "Internal server error",
        **{
            surface: "Internal error"
            for surface in ("POST /rpc/pipeline", "POST /capnweb", "GET /capnweb", "GET /ws/rpc")
        },
    }


def test_in_development_a_failure_without_text_is_answered_on_every_surface() -> None:
    """An exception whose `str()` raises failed the named answer in its turn: the pipeline
    and the Cap'n Web batch answered the router's 500 about the second error, the sockets'
    calls were never answered. Each surface names its type now."""
    where = "(ENVIRONMENT=development; the traceback is in the server's output)"
    assert crash_answers(Host(environment="development"), "crash_unprintably") == {
        "POST /rpc": f"Internal server error: Unprintable {where}",
        **{
            surface: f"Internal error: Unprintable {where}"
            for surface in ("POST /rpc/pipeline", "POST /capnweb", "GET /capnweb", "GET /ws/rpc")
        },
    }


def test_socket_calls_decode_and_encode_values_once() -> None:
    host = Host()
    connection = opened(host, {"rpc": True}, token("read"))
    values = [{"$escape": {"$bigint": "1"}}, {"$bigint": "9007199254740993"}, float("nan")]
    message = json.dumps({"id": 1, "method": "echo", "params": [values]}).replace("NaN", '{"$number": "NaN"}')
    assert converse(host, connection, message) == [
        {
            "id": 1,
            "result": [{"$escape": {"$bigint": "1"}}, {"$bigint": "9007199254740993"}, {"$number": "NaN"}],
        }
    ]


def test_a_plain_call_answering_a_reference_says_where_it_can_be_called() -> None:
    """A method answering an `RpcTarget` was a bare "Desk cannot be sent over RPC" on `/rpc`
    and `/ws/rpc`, which answer data only; the message points at the surfaces that keep a
    reference, and an unknown method's says what makes one callable."""
    headers = {"x-capability": token("read")}
    answer = request(Host(), "POST", "/rpc", {"method": "desk", "params": []}, headers)
    assert error_code(answer) == (400, "unserializable_result")
    assert "travels by reference" in answer.json()["error"]["message"]
    assert "POST /rpc/pipeline" in answer.json()["error"]["message"]
    host = Host()
    connection = opened(host, {"rpc": True}, token("read"))
    [sent] = converse(host, connection, json.dumps({"id": 1, "method": "desk", "params": []}))
    assert sent["error"]["code"] == "unserializable_result"
    assert "POST /rpc/pipeline" in sent["error"]["message"]
    missing = request(Host(), "POST", "/rpc", {"method": "nope", "params": []}, headers)
    assert missing.json()["error"]["message"] == (
        "No callable method 'nope' on a Host (a method is callable remotely when it is marked @rpc)"
    )
    # a name close to a callable one suggests it, on /rpc and /ws/rpc alike
    close = request(Host(), "POST", "/rpc", {"method": "dsk", "params": []}, headers).json()["error"]
    assert close["message"].endswith("marked @rpc); did you mean 'desk'?")
    assert close["suggestion"] == "desk"
    sent = converse(host, connection, json.dumps({"id": 2, "method": "dsk", "params": []}))[-1]
    assert sent["error"]["message"].endswith("did you mean 'desk'?")


def test_a_caller_over_its_message_rate_is_answered_on_every_socket() -> None:
    host = Host(limit=2)
    reader = token("read")
    first = opened(host, {"rpc": True}, reader)
    call = {"id": 1, "method": "greet", "params": ["a"]}
    answers = converse(host, first, call, call, call)
    assert [answer.get("error", {}).get("code") for answer in answers] == [None, None, "rate_limited"]
    assert 1 <= answers[2]["error"]["retry_after"] <= 10
    host.transport.forget(first)  # closed: the budget is the token's, not the socket's
    second = opened(host, {"capnweb": True}, reader)
    other = opened(host, {"rpc": True}, token("read", target="*"))
    assert converse(host, other, call)[-1] == {"id": 1, "result": "hi a"}  # another token: its own budget

    async def capnweb() -> None:
        await host.transport.receive(second, json.dumps(["push", ["pipeline", 0, ["greet"], ["b"]]]))
        await host.transport.receive(second, json.dumps(["pull", 1]))
        for _ in range(10):
            await asyncio.sleep(0)

    asyncio.run(capnweb())
    rejection = second.sent[-1]
    assert rejection[0] == "reject" and rejection[2][4]["code"] == "rate_limited"


def test_a_capnweb_socket_keeps_one_session_until_it_closes() -> None:
    host = Host()
    connection = opened(host, {"capnweb": True}, token("read"))

    async def go(*lines: Any) -> None:
        for line in lines:
            await host.transport.receive(connection, json.dumps(line))
        for _ in range(10):  # let the answers' tasks run
            await asyncio.sleep(0)

    asyncio.run(go(["push", ["pipeline", 0, ["greet"], ["ada"]]]))
    asyncio.run(go(["pull", 1]))  # the same session holds the push (a new one would have lost it)
    assert connection.sent == [["resolve", 1, "hi ada"]]
    host.transport.forget(connection)
    host.socket_state.put(connection.id, "token", "dotdo1.forged.token")
    asyncio.run(go(["push", ["pipeline", 0, ["greet"], ["eve"]]]))
    assert connection.sent[-1] == ["abort", ["error", "Error", "Capability token is malformed"]]
    assert connection.closed == [(1008, "token_malformed")]  # and nothing more is read


def test_a_socket_keeps_a_token_longer_than_its_whole_attachment() -> None:
    host = Host()
    long = mint(SECRET, target="acme", scope="read", sub="s" * 6000)
    assert MAX_ATTACHMENT_BYTES < len(long) <= MAX_TOKEN_LENGTH
    upgrade = {"upgrade": "websocket", "x-capability": long}
    assert request(host, "GET", "/ws/rpc", headers=upgrade).status == 101
    (connection,) = host.websockets.open
    assert host.socket_state.get(connection.id, "token") == long
    assert converse(host, connection, {"id": 1, "method": "greet", "params": ["ada"]}) == [
        {"id": 1, "result": "hi ada"}
    ]


def test_opening_a_socket_drops_what_vanished_sockets_left() -> None:
    host = Host()
    held = token()
    host.socket_state.put("gone", "token", held)  # its object was reset: no close came
    upgrade = {"upgrade": "websocket", "x-capability": held}
    assert request(host, "GET", "/ws/rpc", headers=upgrade).status == 101
    assert host.socket_state.get("gone", "token") is None
    assert host.socket_state.get(host.websockets.open[0].id, "token") == held
