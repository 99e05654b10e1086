"""The RPC transports of a Durable Object, served by one component: `POST /rpc`,
`POST /rpc/pipeline`, `GET /ws/rpc` and `/capnweb` (an HTTP batch, or a WebSocket).

The object is the transport's host (`RpcHost`): every call starts where the host
says (`rpc_root`), the host says what a credential allows (`access_for`, the one
access layer of `dotdo.core.access`), accepts the sockets, and its layers may add
socket-level methods (`rpc_socket_call`). The transport owns what the HTTP and
socket framing need: the WebSocket upgrade, the Cap'n Web sessions of open
sockets, and asking the object's limits before each socket message. The
protocols themselves are `dotdo.wire`'s.

Its routes need a credential for the object (`scope="rpc"`): the router's guard
checks it, and the rate of requests, before a body is read; each call a request
carries is then authorized against its method's scope. A socket's credential is
checked at the upgrade and kept in the host's `socket_state` (SQLite: it survives
hibernation, and a token may be longer than the whole 2,048-byte attachment), the
key of its caller's rate budget in its attachment; every call on the socket is
authorized with the token again, so an expired token stops working on an open
socket too.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from dotdo.core.access import Access, credential, request_access
from dotdo.core.answers import Log
from dotdo.core.http import HttpRequest, HttpResponse, json_response
from dotdo.core.limits import Limits
from dotdo.core.router import RPC_CALLS, Router
from dotdo.core.websocket import POLICY_VIOLATION_CLOSE, Connection, SocketState, WebSockets, wire_text
from dotdo.errors import BadRequest, HttpError, UpgradeRequired, internal_error
from dotdo.remote.fields import check_fields
from dotdo.remote.marks import Authorize, is_reference
from dotdo.wire.codec import decode

if TYPE_CHECKING:
    # Cap'n Web, the pipelines, the `/ws/rpc` protocol and the binding of a call's
    # arguments (`dotdo.remote.calls`, `.targets`) load with the first request that uses
    # them, not with every object: its first answer is seldom an RPC call (ADR 0036).
    from dotdo.wire.capnweb import CapnWebSession, SessionIds

__all__ = ["CAPNWEB_TAG", "WS_RPC_TAG", "RpcHost", "RpcTransport", "socket_data", "socket_key"]

CAPNWEB_TAG = "capnweb"
WS_RPC_TAG = "rpc"
"""The tag of `/ws/rpc` sockets: `dotdo.wire.wsrpc.SOCKET_TAG`, spelt here too so that
what looks for such sockets (every event's push to subscribers) need not load the protocol."""
_TOKEN = "token"
"""The `socket_state` name under which an RPC socket's capability token is kept."""
_RPC_FIELDS = frozenset({"method", "params"})
"""What a `POST /rpc` body holds (docs/api.md)."""
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

    def access_for(self, token: str | None) -> Access:
        """What a caller holding `token` may do (None: none was sent); raises for a bad token."""
        ...

    async def rpc_socket_call(
        self, connection: Connection, method_name: str, params: Any, authorize: Authorize
    ) -> Any:
        """One call from a `/ws/rpc` socket (layers add socket-level methods)."""
        ...


class RpcTransport:
    """Serves the RPC routes and the messages of RPC and Cap'n Web sockets for `host`.

    Every message on a `/ws/rpc` socket and every call on a Cap'n Web socket spends
    one of the socket's caller's message budget in `limits` (shared by every socket
    of one token). Cap'n Web sessions live in memory, so hibernation drops them (a
    session continues from the counters in its socket's attachment).

    A failure of the server's own is logged (`dotdo.rpc`) and answered `internal_error`;
    with `development` (ENVIRONMENT=development) its message names the exception, on
    `/rpc/pipeline`, `/capnweb` and `/ws/rpc` as the router's does on `POST /rpc`
    (`dotdo.errors.internal_error`). Logged to `log`: DOCore gives its `ObjectLog` of
    `dotdo.rpc`, so each line names the object (`[acme] ...`)."""

    def __init__(
        self, host: RpcHost, limits: Limits, *, development: bool = False, log: Log = logger
    ) -> None:
        self._host = host
        self._log = log
        self._limits = limits
        self._development = development
        self._sessions: dict[str, CapnWebSession] = {}

    def routes(self, router: Router) -> None:
        """Register `POST /rpc`, `POST /rpc/pipeline`, `GET /ws/rpc`, `POST /capnweb` and
        `GET /capnweb`, each needing a credential whose calls it checks one by one."""
        router.post("/rpc", scope=RPC_CALLS, query=())(self._rpc)
        router.post("/rpc/pipeline", scope=RPC_CALLS, query=())(self._pipeline)
        router.get("/ws/rpc", scope=RPC_CALLS, query=("token",))(self._upgrade_rpc)
        router.post("/capnweb", scope=RPC_CALLS, query_token=True, query=())(self._capnweb_batch)
        router.get("/capnweb", scope=RPC_CALLS, query_token=True, query=())(self._upgrade_capnweb)

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
        """A socket closed: drop its Cap'n Web session (its caller's budget stays; the host
        drops what `socket_state` holds for it)."""
        self._sessions.pop(connection.id, None)

    async def call(self, method_name: Any, params: Any, authorize: Authorize) -> Any:
        """One call of a method (or a noun) on the object, as `/rpc` and `/ws/rpc` make it;
        `params` are decoded values. NotFound `method_not_found`, Forbidden, BadRequest."""
        from dotdo.remote.calls import invoke

        return await invoke(self._method(method_name, authorize), params)

    def _method(self, method_name: Any, authorize: Authorize) -> Callable[..., Any]:
        from dotdo.remote.targets import resolve_operation

        method, scope, operation = resolve_operation(self._host.rpc_root([]), method_name, is_root=True)
        if scope is not None:
            authorize(operation, scope)  # the Python name: `getThing` is `get_thing`
        return method

    # -- HTTP --------------------------------------------------------------

    async def _rpc(self, request: HttpRequest) -> HttpResponse:
        from dotdo.remote.calls import invoke

        authorize = request_access(request).authorize
        body = request.json()
        if not isinstance(body, dict) or not isinstance(body.get("method"), str):
            raise BadRequest('Body is {"method": "<name>", "params": [...] or {...}}', code="invalid_rpc")
        check_fields(body, _RPC_FIELDS, what="the call", code="invalid_rpc")
        method = self._method(body["method"], authorize)
        result = await invoke(method, body.get("params"))  # the body's tags are already decoded
        return json_response({"result": by_value(result, body["method"])})

    async def _pipeline(self, request: HttpRequest) -> HttpResponse:
        from dotdo.wire.pipeline import parse_pipelines, run_batch

        authorize = request_access(request).authorize
        requests, is_batch = parse_pipelines(request.json())
        answers = await run_batch(
            requests, self._host.rpc_root, authorize, development=self._development, log=self._log
        )
        if is_batch:
            return json_response([answer for answer, _ in answers], encoded=True)
        answer, status = answers[0]
        return json_response(answer, status=status, encoded=True)

    async def _capnweb_batch(self, request: HttpRequest) -> HttpResponse:
        """Cap'n Web over HTTP: newline-separated messages in, the pulled answers out."""
        from dotdo.wire.capnweb import CapnWebSession, batch_messages

        session = CapnWebSession(
            self._host.rpc_root([]),
            request_access(request).authorize,
            development=self._development,
            log=self._log,
        )
        for line in batch_messages(request.text() if request.has_body else ""):
            await session.receive(line)
        body = await session.drain()
        return HttpResponse(200, body, {"content-type": "text/plain; charset=utf-8"})

    # -- sockets -----------------------------------------------------------

    def _accept(self, request: HttpRequest, tag: str, data: dict[str, Any]) -> HttpResponse:
        """Upgrade to an RPC socket (the guard has checked its credential): the token is
        kept in `socket_state` (a token may be longer than the whole attachment) and
        checked again on every call; the caller's rate key goes in the attachment."""
        if (request.header("upgrade") or "").lower() != "websocket":
            raise UpgradeRequired(f"GET {request.path} expects a WebSocket upgrade")
        data.update(socket_data(request))
        token = credential(request, allow_query=True)
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
        from dotdo.wire.wsrpc import InvalidMessage, error_message, parse_message

        request_id = None
        try:
            self._limits.admit_message(socket_key(connection))
            request = parse_message(message)
            request_id = request.id
            authorize = self._host.access_for(self._token(connection) or None).authorize
            result = await self._host.rpc_socket_call(
                connection, request.method, decode(request.params), authorize
            )
            answer = {"id": request_id, "result": by_value(result, request.method)}
            connection.send(
                wire_text(answer, connection.id, connection.log)
            )  # logged when it has no wire form
        except HttpError as error:
            if isinstance(error, InvalidMessage):
                request_id = error.request_id
            connection.send(error_message(request_id, error))
        except Exception as error:
            self._log.exception("RPC over WebSocket failed")
            connection.send(
                error_message(request_id, HttpError(internal_error(error, named=self._development)))
            )

    async def _on_capnweb_message(self, connection: Connection, message: str | bytes) -> None:
        session = self._sessions.get(connection.id)
        if session is None:
            token = self._token(connection) or None
            try:
                self._host.access_for(token)
            except HttpError as error:
                from dotdo.wire.capnweb_parts import abort_line

                connection.send(abort_line(error.message))
                connection.close(POLICY_VIOLATION_CLOSE, error.code)  # the reason says which
                return

            def authorize(method: str, scope: str) -> None:
                self._host.access_for(token).authorize(method, scope)  # verified again: it may expire

            from dotdo.wire.capnweb import CapnWebSession, SessionIds

            session = CapnWebSession(
                self._host.rpc_root([]),
                authorize,
                send=connection.send,
                resume=SessionIds.from_json(connection.data.get("ids")),
                remember=lambda ids: _remember_ids(connection, ids),
                admit=lambda: self._limits.admit_message(socket_key(connection)),
                close=connection.close,
                development=self._development,
                log=self._log,
            )
            self._sessions[connection.id] = session
        await session.receive(message if isinstance(message, str) else message.decode("utf-8", "replace"))


def socket_data(request: HttpRequest) -> dict[str, Any]:
    """What a socket's attachment keeps of its upgrade (the guard has checked it): `key`, whose
    message budget it spends, and `exp` (epoch seconds) when its token expires, after which
    nothing is pushed to it (`dotdo.core.websocket.live`)."""
    access = request_access(request)
    exp = access.capability.exp if access.capability is not None else None
    return {"key": access.key} if exp is None else {"key": access.key, "exp": exp}


def socket_key(connection: Connection) -> str:
    """Whose message budget a socket spends: its caller's, kept in its attachment at the
    upgrade (a socket from before that has a budget of its own)."""
    key = connection.data.get("key")
    return key if isinstance(key, str) and key else f"socket:{connection.id}"


def _remember_ids(connection: Connection, ids: SessionIds) -> None:
    """A Cap'n Web socket's counters go in its attachment (two integers: they always fit):
    they must outlive hibernation."""
    connection.update(ids=ids.to_json())


def by_value(result: Any, method: str) -> Any:
    """`result` of `method` as a plain call answers it, or BadRequest
    (`unserializable_result`) naming where it can be used when it travels by reference (an
    `RpcTarget`, an object with `@rpc` methods): a plain call's answer is data, while a
    pipeline, Cap'n Web and Workers RPC keep a reference and call its methods."""
    if is_reference(result):
        from dotdo.remote.targets import with_article

        raise BadRequest(
            f"{method!r} answers {with_article(type(result).__name__)}, which travels by reference:"
            " call its methods"
            " in a pipeline (POST /rpc/pipeline, the client's pipeline()), over "
            "Cap'n Web or Workers RPC; a plain call answers data only",
            code="unserializable_result",
        )
    return result
