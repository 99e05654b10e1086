"""The RPC transports of a Durable Object, served by one component: `POST /rpc`,
`POST /rpc/pipeline`, `GET /ws/rpc` and `/capnweb` (an HTTP batch, or a WebSocket).

The object is the transport's host (`RpcHost`): every call starts where the host
says (`rpc_root`), the host says who may call what (`rpc_access`), accepts the
sockets, and its layers may add socket-level methods (`rpc_socket_call`). The
transport owns what the HTTP and socket framing need: where a capability token
travels, the WebSocket upgrade, the per-socket rate limit and the Cap'n Web
sessions of open sockets. The protocols themselves are `dotdo.wire`'s.

A token travels as `X-Capability: <token>`, `Authorization: Bearer dotdo1.<...>`
(a bearer value that is no capability token is left to `AUTH_TOKEN`'s bearer
auth) or `?token=`, in that order of precedence. A socket's token is checked
before the upgrade and kept in the host's `socket_state` (SQLite: it survives
hibernation, and a token may be longer than the whole 2,048-byte attachment), and
every message is authorized with it again.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any, Protocol

from dotdo.core.http import HttpRequest, HttpResponse, json_response
from dotdo.core.router import Router
from dotdo.core.websocket import Connection, SocketState, WebSockets
from dotdo.errors import BadRequest, HttpError, TooManyRequests, UpgradeRequired
from dotdo.remote.calls import invoke
from dotdo.remote.targets import resolve_method
from dotdo.wire.capnweb import CapnWebSession, SessionIds
from dotdo.wire.codec import decode, dumps
from dotdo.wire.pipeline import Authorize, parse_pipelines, run_batch
from dotdo.wire.wsrpc import SOCKET_TAG as WS_RPC_TAG
from dotdo.wire.wsrpc import RateLimiter, error_message, parse_message

__all__ = ["CAPNWEB_TAG", "RpcHost", "RpcTransport", "token_from"]

CAPNWEB_TAG = "capnweb"
_TOKEN = "token"
"""The `socket_state` name under which an RPC socket's capability token is kept."""
logger = logging.getLogger("dotdo.rpc")


class RpcHost(Protocol):
    """What the transport needs from its object."""

    @property
    def websockets(self) -> WebSockets:
        """Where RPC sockets are accepted."""
        ...

    @property
    def socket_state(self) -> SocketState:
        """Where a socket's token is kept (it may outgrow the socket's attachment)."""
        ...

    def rpc_root(self, target: list[Any]) -> Any:
        """Where a call starts: `[]` is the object itself, `[Noun]` / `[Noun, id]` a noun of it."""
        ...

    def rpc_access(self, token: str | None) -> Authorize:
        """Who may call what with this token (None: none was sent); raises when nobody may."""
        ...

    async def rpc_socket_call(
        self, connection: Connection, method_name: str, params: Any, authorize: Authorize
    ) -> Any:
        """One call from a `/ws/rpc` socket (layers add socket-level methods)."""
        ...


class RpcTransport:
    """Serves the RPC routes and the messages of RPC and Cap'n Web sockets for `host`.

    `rate_limit` messages per socket in any `rate_window` seconds (`/ws/rpc` and
    Cap'n Web sockets alike); the rate windows and Cap'n Web sessions live in
    memory, so hibernation resets them (a session continues from the counters in
    its socket's attachment)."""

    def __init__(self, host: RpcHost, rate_limit: int, rate_window: float) -> None:
        self._host = host
        self._rates = RateLimiter(rate_limit, rate_window)
        self._sessions: dict[str, CapnWebSession] = {}

    def routes(self, router: Router) -> None:
        """Register `POST /rpc`, `POST /rpc/pipeline`, `GET /ws/rpc`, `POST /capnweb` and `GET /capnweb`."""
        router.post("/rpc")(self._rpc)
        router.post("/rpc/pipeline")(self._pipeline)
        router.get("/ws/rpc")(self._upgrade_rpc)
        router.post("/capnweb")(self._capnweb_batch)
        router.get("/capnweb")(self._upgrade_capnweb)

    def serves(self, connection: Connection) -> bool:
        """Is `connection` one of the transport's sockets (`/ws/rpc` or Cap'n Web)?"""
        return bool(connection.data.get("rpc") or connection.data.get("capnweb"))

    async def receive(self, connection: Connection, message: str | bytes) -> None:
        """A message on one of the transport's sockets: answered on it, never raised."""
        if connection.data.get("rpc"):
            await self._on_rpc_message(connection, message)
        else:
            await self._on_capnweb_message(connection, message)

    def forget(self, connection: Connection) -> None:
        """A socket closed: drop its rate window and its Cap'n Web session (the host drops
        what `socket_state` holds for it)."""
        self._rates.forget(connection.id)
        self._sessions.pop(connection.id, None)

    async def call(self, method_name: Any, params: Any, authorize: Authorize) -> Any:
        """One call of a method (or a noun) on the object, as `/rpc` and `/ws/rpc` make it;
        `params` are decoded values. NotFound `method_not_found`, Forbidden, BadRequest."""
        return await invoke(self._method(method_name, authorize), params)

    def _method(self, method_name: Any, authorize: Authorize) -> Callable[..., Any]:
        method, scope = resolve_method(self._host.rpc_root([]), method_name, is_root=True)
        if scope is not None:
            authorize(str(method_name), scope)
        return method

    # -- HTTP --------------------------------------------------------------

    async def _rpc(self, request: HttpRequest) -> HttpResponse:
        authorize = self._host.rpc_access(token_from(request))
        body = request.json()
        if not isinstance(body, dict):
            raise BadRequest('Body is {"method": ..., "params": [...]}', code="invalid_rpc")
        method = self._method(body.get("method"), authorize)
        result = await invoke(method, body.get("params"))  # the body's tags are already decoded
        return json_response({"result": result})

    async def _pipeline(self, request: HttpRequest) -> HttpResponse:
        authorize = self._host.rpc_access(token_from(request))
        requests, is_batch = parse_pipelines(request.json())
        answers = await run_batch(requests, self._host.rpc_root, authorize)
        if is_batch:
            return json_response([answer for answer, _ in answers], encoded=True)
        answer, status = answers[0]
        return json_response(answer, status=status, encoded=True)

    async def _capnweb_batch(self, request: HttpRequest) -> HttpResponse:
        """Cap'n Web over HTTP: newline-separated messages in, the pulled answers out."""
        session = CapnWebSession(self._host.rpc_root([]), self._host.rpc_access(token_from(request)))
        text = request.text()
        for line in text.split("\n") if text else []:
            await session.receive(line)
        body = await session.drain()
        return HttpResponse(200, body, {"content-type": "text/plain; charset=utf-8"})

    # -- sockets -----------------------------------------------------------

    def _accept(self, request: HttpRequest, tag: str, data: dict[str, Any]) -> HttpResponse:
        """Upgrade to an RPC socket: refused before the upgrade when the token does not verify;
        the token is kept in `socket_state` (a token may be longer than the whole attachment)
        and checked on every call."""
        if (request.header("upgrade") or "").lower() != "websocket":
            raise UpgradeRequired(f"GET {request.path} expects a WebSocket upgrade")
        token = token_from(request)
        self._host.rpc_access(token)
        client, connection = self._host.websockets.accept([tag], data)
        state = self._host.socket_state
        if token:
            state.put(connection.id, _TOKEN, token)
        # Rows of sockets that went away without a close (their object was reset) go here,
        # at the cost of reading each open socket's attachment once per RPC socket opened.
        state.keep_only(c.id for c in self._host.websockets.connections())
        return HttpResponse(status=101, web_socket=client)

    def _token(self, connection: Connection) -> str:
        token = self._host.socket_state.get(connection.id, _TOKEN)
        return token if isinstance(token, str) else ""

    async def _upgrade_rpc(self, request: HttpRequest) -> HttpResponse:
        return self._accept(request, WS_RPC_TAG, {"rpc": True})

    async def _upgrade_capnweb(self, request: HttpRequest) -> HttpResponse:
        return self._accept(request, CAPNWEB_TAG, {"capnweb": True})

    async def _on_rpc_message(self, connection: Connection, message: str | bytes) -> None:
        request_id = None
        try:
            if not self._rates.allow(connection.id):
                raise TooManyRequests("Too many messages; slow down")
            request = parse_message(message)
            request_id = request.id
            authorize = self._host.rpc_access(self._token(connection))
            result = await self._host.rpc_socket_call(
                connection, request.method, decode(request.params), authorize
            )
            connection.send(dumps({"id": request_id, "result": result}))
        except HttpError as error:
            connection.send(error_message(request_id, error))
        except Exception:
            logger.exception("RPC over WebSocket failed")
            connection.send(error_message(request_id, HttpError("Internal error")))

    async def _on_capnweb_message(self, connection: Connection, message: str | bytes) -> None:
        session = self._sessions.get(connection.id)
        if session is None:
            try:
                authorize = self._host.rpc_access(self._token(connection))
            except HttpError as error:
                connection.send(json.dumps(["abort", ["error", "Error", error.message]]))
                return
            session = CapnWebSession(
                self._host.rpc_root([]),
                authorize,
                send=connection.send,
                resume=SessionIds.from_json(connection.data.get("ids")),
                remember=lambda ids: _remember_ids(connection, ids),
                admit=lambda: self._rates.allow(connection.id),
            )
            self._sessions[connection.id] = session
        await session.receive(message if isinstance(message, str) else message.decode("utf-8", "replace"))


def token_from(request: HttpRequest) -> str | None:
    """The capability token a request carries, or None (the module docstring says where)."""
    header = request.header("x-capability")
    if header:
        return header.strip()
    authorization = request.header("authorization") or ""
    if authorization.lower().startswith("bearer ") and authorization[7:].strip().startswith("dotdo1."):
        return authorization[7:].strip()
    return request.query("token") or None


def _remember_ids(connection: Connection, ids: SessionIds) -> None:
    """A Cap'n Web socket's counters go in its attachment (two integers: they always fit):
    they must outlive hibernation."""
    connection.update(ids=ids.to_json())
