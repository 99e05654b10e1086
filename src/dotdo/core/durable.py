"""DOCore: the base Durable Object class of dotdo.

State on SQLite, the alarm, an HTTP router with middleware, hibernatable
WebSockets and RPC. Layers extend it by overriding the hooks below and calling
`super()`; they never reach into its attributes' internals.

    migrations()        -> Components (tables with a version track): each layer adds its own
    routes(router)      -> register HTTP routes
    middleware(router)  -> install middleware
    on_alarm(info)      -> the application's alarm (`self.alarms`) is due
    on_message / on_close / on_socket_error -> WebSocket events
    fetch(request)      -> every HTTP request (the router's, by default)
    rpc_access / rpc_noun / rpc_socket_call -> who may call, what a noun is, socket calls

Every other name the framework defines is refused in a subclass unless it is
marked `@override` (`dotdo.core.namespace`, ADR 0016).

The object's one runtime alarm belongs to the timer service (`self.timers`): every
layer's timers and the application's alarm are its sources, and it re-arms the alarm
once every layer's constructor has run.
"""

from __future__ import annotations

import builtins
import contextlib
import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from pyodide.ffi import JsException
from workers import DurableObject, Response

from dotdo.core.alarms import ALARM_MIGRATIONS, AlarmInfo, Alarms
from dotdo.core.http import (
    MAX_BODY_BYTES,
    HttpRequest,
    HttpResponse,
    check_body_bytes,
    check_body_size,
    decimal_integer,
    error_response,
    json_response,
)
from dotdo.core.logs import install_default_handler
from dotdo.core.middleware import CorsPolicy, bearer_auth, cors, request_logger
from dotdo.core.migrations import Component, migrate
from dotdo.core.namespace import Layer, assignment_clash, check_namespace, reserved_attributes
from dotdo.core.router import Router
from dotdo.core.sql import Sql
from dotdo.core.state import STATE_MIGRATIONS, ListPage, StateStore
from dotdo.core.timers import TimerService
from dotdo.core.transport import RpcTransport
from dotdo.core.websocket import SOCKET_MIGRATIONS, Connection, SocketState, WebSockets, parse_tags
from dotdo.errors import BadRequest, HttpError, NotFound, PayloadTooLarge, UpgradeRequired
from dotdo.remote.marks import rpc, rpc_methods, seal_rpc_surface
from dotdo.remote.targets import resolve_target
from dotdo.types import JSON
from dotdo.wire.codec import parse_json
from dotdo.wire.pipeline import Authorize
from dotdo.wire.tokens import authorizer

__all__ = ["AlarmInfo", "DOCore"]

_BODYLESS = frozenset({"GET", "HEAD", "OPTIONS"})
_MAX_DRAIN_BYTES = 16 * 1024 * 1024
_MISSING = object()
_socket_log = logging.getLogger("dotdo.sockets")


def _env_var(env: Any, name: str) -> str | None:
    value = getattr(env, name, None)
    return value if isinstance(value, str) else None


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


def _parse_bool(value: str | None, name: str) -> bool:
    if value is None or value == "":
        return False
    lowered = value.lower()
    if lowered in ("1", "true"):
        return True
    if lowered in ("0", "false"):
        return False
    raise BadRequest(f"{name} is true or false", code="invalid_query")


def _parse_limit(value: str | None) -> int:
    if value is None or value == "":
        return 100
    limit = decimal_integer(value)
    if limit is None:
        raise BadRequest("limit is an integer", code="invalid_limit")
    return limit


class _Composed(type):
    """Calls `_composed()` on a new object once every layer's `__init__` has returned:
    only then are all the timer sources registered, so only then can the alarm be
    re-armed with one computation and at most one write."""

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        instance = super().__call__(*args, **kwargs)
        instance._composed()
        return instance


class DOCore(DurableObject, metaclass=_Composed):
    """State, alarms, routing, WebSockets and RPC on one Durable Object."""

    rpc_secret_binding: ClassVar[str] = "RPC_SECRET"
    """The env var holding the capability-token secret. When it is set, every RPC
    surface (/rpc, /rpc/pipeline, /capnweb, /ws/rpc) needs a valid token; when it is
    not, they are open only with ENVIRONMENT=development."""
    ws_rpc_rate_limit: ClassVar[int] = 100
    """Messages one `/ws/rpc` socket may send in any `ws_rpc_rate_window` seconds."""
    ws_rpc_rate_window: ClassVar[float] = 10.0

    _dotdo_layer: ClassVar[Layer] = Layer.of(
        hooks=(
            "migrations",
            "middleware",
            "routes",
            "on_alarm",
            "on_message",
            "on_close",
            "on_socket_error",
            "fetch",
            "rpc_access",
            "rpc_noun",
            "rpc_socket_call",
        ),
        attributes=("ctx", "env", "sql", "state", "timers", "alarms", "websockets", "socket_state", "router"),
    )

    def __init__(self, ctx: Any, env: Any) -> None:
        super().__init__(ctx, env)
        install_default_handler()
        self.sql = Sql(ctx.storage)
        self.state = StateStore(self.sql)
        self.timers = TimerService(ctx.storage)
        self.alarms = Alarms(self.sql, self.timers, self.on_alarm)
        self.websockets = WebSockets(ctx)
        self.socket_state = SocketState(self.sql)
        self._rpc_transport = RpcTransport(self, self.ws_rpc_rate_limit, self.ws_rpc_rate_window)
        migrate(self.sql, self.migrations(), int(time.time() * 1000))
        self.timers.register("alarm", self.alarms)
        self.router = Router()
        self.middleware(self.router)
        self.routes(self.router)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        check_namespace(cls)
        seal_rpc_surface(cls)

    def __setattr__(self, name: str, value: Any) -> None:
        # The framework sets each of its instance attributes once, in __init__; a second
        # assignment is an app's `self.things = ...` replacing the framework's.
        if name in self.__dict__ and name in reserved_attributes(type(self)):
            raise assignment_clash(type(self), name)
        super().__setattr__(name, value)

    # -- hooks for layers and applications --------------------------------

    def migrations(self) -> list[Component]:
        return [
            Component("core", STATE_MIGRATIONS),
            Component("alarm", ALARM_MIGRATIONS),
            Component("sockets", SOCKET_MIGRATIONS),
        ]

    def middleware(self, router: Router) -> None:
        env = self.env
        if _truthy(_env_var(env, "LOG_REQUESTS")):
            router.use(request_logger())
        router.use(cors(CorsPolicy.from_env(_env_var(env, "ALLOWED_ORIGINS"), _env_var(env, "ENVIRONMENT"))))
        token = _env_var(env, "AUTH_TOKEN")
        if token:
            router.use(bearer_auth(token))

    def routes(self, router: Router) -> None:
        router.get("/health")(self._health)
        router.get("/state")(self._list_state)
        router.post("/state/transaction")(self._transaction)
        router.get("/state/:key")(self._get_state)
        router.put("/state/:key")(self._put_state)
        router.delete("/state/:key")(self._delete_state)
        router.get("/ws")(self._upgrade)
        self._rpc_transport.routes(router)  # /rpc, /rpc/pipeline, /ws/rpc, /capnweb

    async def on_alarm(self, info: AlarmInfo) -> None:
        """The application's alarm (`self.alarms.set(...)`) is due. Raise to have it retried
        (2 s, doubling, up to 6 times). The layers' own timers never call it."""

    async def on_message(self, connection: Connection, message: str | bytes) -> None:
        """A WebSocket message arrived. RPC sockets (`/ws/rpc`) get RPC; on others the
        default answers `{"type": "ping"}` with a pong."""
        if self._rpc_transport.serves(connection):
            await self._rpc_transport.receive(connection, message)
            return
        if isinstance(message, bytes):
            connection.send(
                {
                    "type": "error",
                    "error": {"code": "unsupported", "message": "binary messages are not handled"},
                }
            )
            return
        try:
            payload = parse_json(message)
        except ValueError:  # not JSON, a bare NaN, or nested past MAX_JSON_DEPTH
            connection.send(
                {"type": "error", "error": {"code": "invalid_json", "message": "message is not JSON"}}
            )
            return
        if isinstance(payload, dict) and payload.get("type") == "ping":
            connection.send({"type": "pong", "id": connection.id})
            return
        connection.send(
            {"type": "error", "error": {"code": "unknown_message", "message": "unknown message type"}}
        )

    async def on_close(self, connection: Connection, code: int, reason: str) -> None:
        """A WebSocket closed."""
        self._rpc_transport.forget(connection)
        self.socket_state.forget(connection.id)

    async def on_socket_error(self, connection: Connection, error: Any) -> None:
        _socket_log.warning("websocket %s error: %s", connection.id, error)

    def broadcast(self, message: Any, tag: str | None = None, exclude: Sequence[str] | None = None) -> int:
        """Send `message` to every connected socket (with `tag`), except `exclude`d ids."""
        return self.websockets.broadcast(message, tag=tag, exclude=exclude)

    # -- RPC: state --------------------------------------------------------

    @rpc(scope="read")
    def get(self, key: str) -> JSON | None:
        return self.state.get(key)

    @rpc
    def set(self, key: str, value: JSON) -> None:
        self.state.set(key, value)

    @rpc
    def delete(self, key: str) -> bool:
        return self.state.delete(key)

    @rpc
    def set_many(self, entries: Mapping[str, JSON]) -> int:
        return self.state.set_many(entries)

    @rpc
    def delete_many(self, keys: Sequence[str]) -> int:
        return self.state.delete_many(keys)

    @rpc
    def transaction(self, operations: builtins.list[dict[str, Any]]) -> int:
        return self.state.transaction(operations)

    @rpc(scope="read")
    def list(
        self,
        prefix: str | None = None,
        start: str | None = None,
        end: str | None = None,
        limit: int = 100,
        reverse: bool = False,
        cursor: str | None = None,
    ) -> dict[str, Any]:
        page = self.state.list(
            prefix=prefix, start=start, end=end, limit=limit, reverse=reverse, cursor=cursor
        )
        return page.to_dict()

    # -- runtime handlers --------------------------------------------------

    async def fetch(self, request: Any) -> Any:
        method = _request_method(request)
        try:
            headers = {k.lower(): v for k, v in request.headers.items()}
            body = b""
            if method not in _BODYLESS:
                body = await _read_body(request, headers.get("content-length"))
            elif has_body(headers):
                await discard_body(request, headers.get("content-length"))  # a GET's body means nothing
        except HttpError as error:
            await discard_body(request, request.headers.get("content-length"))
            return _to_runtime_response(error_response(error))
        http_request = HttpRequest(method, request.url, headers, body, raw=request)
        response = await self.router.handle(http_request)
        if http_request.method == "HEAD":
            response.body = None
        return _to_runtime_response(response)

    def _composed(self) -> None:
        # A timer written just before the last instance died may never have reached the
        # runtime's alarm, and a new instance cannot know what the alarm holds: re-arm.
        self.timers.rearm()

    async def alarm(self, alarm_info: Any = None) -> None:
        await self.timers.fire(_optional_int(getattr(alarm_info, "scheduledTime", None)))

    async def webSocketMessage(self, ws: Any, message: Any) -> None:  # noqa: N802 - runtime name
        payload = message if isinstance(message, str) else bytes(message.to_py())
        await self.on_message(Connection.load(ws), payload)

    async def webSocketClose(self, ws: Any, code: int, reason: str, was_clean: bool = True) -> None:  # noqa: N802
        await self.on_close(Connection.load(ws), int(code), str(reason or ""))
        with contextlib.suppress(JsException):  # already closed by the peer: nothing to answer
            ws.close(1000 if code in (1005, 1006, 1015) else code, reason or "")

    async def webSocketError(self, ws: Any, error: Any) -> None:  # noqa: N802 - runtime name
        await self.on_socket_error(Connection.load(ws), error)

    # -- HTTP handlers -----------------------------------------------------

    async def _health(self, request: HttpRequest) -> HttpResponse:
        return json_response({"status": "ok", "class": type(self).__name__, "rpc": rpc_methods(type(self))})

    async def _list_state(self, request: HttpRequest) -> HttpResponse:
        page: ListPage = self.state.list(
            prefix=request.query("prefix"),
            start=request.query("start"),
            end=request.query("end"),
            limit=_parse_limit(request.query("limit")),
            reverse=_parse_bool(request.query("reverse"), "reverse"),
            cursor=request.query("cursor") or None,
        )
        return json_response(page.to_dict())

    async def _get_state(self, request: HttpRequest) -> HttpResponse:
        key = request.params["key"]
        value = self.state.get(key, _MISSING)
        if value is _MISSING:
            raise NotFound(f"No state under key {key!r}")
        return json_response({"key": key, "value": value})

    async def _put_state(self, request: HttpRequest) -> HttpResponse:
        key = request.params["key"]
        value = request.json()
        self.state.set(key, value)
        return json_response({"key": key, "value": value})

    async def _delete_state(self, request: HttpRequest) -> HttpResponse:
        key = request.params["key"]
        return json_response({"key": key, "deleted": self.state.delete(key)})

    async def _transaction(self, request: HttpRequest) -> HttpResponse:
        body = request.json()
        operations = body.get("operations") if isinstance(body, dict) else None
        return json_response({"applied": self.state.transaction(operations)})

    # -- the RPC surfaces' shared rules ----------------------------------

    @property
    def object_name(self) -> str | None:
        """The name this object was addressed by (`idFromName`), when it has one."""
        name = getattr(self.ctx.id, "name", None)
        return name if isinstance(name, str) else None

    def rpc_root(self, target: builtins.list[Any]) -> Any:
        """Where a pipeline starts: `[]` is this object, `[Noun]` / `[Noun, id]` a noun of it
        (`rpc_noun`), by the rule every RPC surface shares (`dotdo.remote.targets`)."""
        return resolve_target(self, target)

    def rpc_noun(self, name: str) -> Any:
        """The noun accessor remote callers reach as the property `name` of this object
        (`api.Customer.list()`), or None when `name` is no noun. DOCore has none;
        DOSemantic answers for every type name."""
        return None

    def rpc_access(self, token: str | None) -> Authorize:
        """Who may call what with `token` (the transport finds it in the request or the
        socket): a function (method name, scope) -> None or Forbidden.

        With a secret configured (the env var `rpc_secret_binding` names), the capability
        token must verify; without one, RPC is open only in development and closed (403
        `rpc_closed`) otherwise (`dotdo.wire.tokens.authorizer`)."""
        return authorizer(
            token,
            _env_var(self.env, self.rpc_secret_binding),
            _env_var(self.env, "ENVIRONMENT"),
            self.object_name,
            self.rpc_secret_binding,
        )

    async def rpc_socket_call(
        self, connection: Connection, method_name: str, params: Any, authorize: Authorize
    ) -> Any:
        """One call from an RPC socket; layers add socket-level methods (subscribe) first."""
        return await self._rpc_transport.call(method_name, params, authorize)

    async def _upgrade(self, request: HttpRequest) -> HttpResponse:
        if (request.header("upgrade") or "").lower() != "websocket":
            raise UpgradeRequired("GET /ws expects a WebSocket upgrade")
        tags = parse_tags(request.query_all("tags"))
        client, _ = self.websockets.accept(tags)
        return HttpResponse(status=101, web_socket=client)


seal_rpc_surface(DOCore)


def _optional_int(value: Any) -> int | None:
    try:
        return None if value is None else int(value)
    except (TypeError, ValueError):
        return None


def _request_method(request: Any) -> str:
    """The method a runtime request was sent with, upper-case, whatever it is.

    The `workers` SDK's `Request.method` is an `HTTPMethod` enum member and raises
    KeyError for a method the enum does not list (PROPFIND, PURGE, ...), which the
    runtime passes on; the router answers those 404 or 405 like any other."""
    js_request = getattr(request, "js_object", None)
    return str(js_request.method if js_request is not None else request.method).upper()


async def _read_body(request: Any, declared: str | None) -> bytes:
    """The request's body, refused past `MAX_BODY_BYTES` without ever holding more.

    A declared length over the limit is a 413 before reading; a chunked body (no
    length) is read chunk by chunk and is a 413 as soon as it passes the limit (the
    rest is drained as `discard_body` does, so the connection stays usable). A body
    the runtime cannot deliver (the client went away mid-body, a malformed chunked
    encoding) is the client's 400 `invalid_body`, not a failure of the object."""
    check_body_size(declared)
    try:
        if declared is not None or request.body is None:
            body = bytes(await request.bytes())
        else:
            body = await _read_stream(request.body)
    except JsException as exc:
        raise BadRequest(f"The request body could not be read: {exc}", code="invalid_body") from exc
    check_body_bytes(body)
    return body


async def _read_stream(stream: Any) -> bytes:
    reader = stream.getReader()
    chunks: list[bytes] = []
    seen = 0
    while True:
        chunk = await reader.read()
        if chunk.done:
            break
        seen += int(chunk.value.byteLength)
        if seen > _MAX_DRAIN_BYTES:
            await reader.cancel()
            break
        if seen <= MAX_BODY_BYTES:  # past it the body is refused: drained, never kept
            chunks.append(bytes(chunk.value.to_bytes()))
    if seen > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"Request body is larger than {MAX_BODY_BYTES} bytes")
    return b"".join(chunks)


def has_body(headers: dict[str, str]) -> bool:
    """Does a request with these (lower-case) headers carry a body?"""
    length = headers.get("content-length")
    return (length is not None and length.strip() not in ("", "0")) or "transfer-encoding" in headers


async def discard_body(request: Any, declared: str | None) -> None:
    """Read and drop a body nobody will use (one too large to be worth reading is cancelled).

    A response sent while the request body is still unread leaves the runtime
    piping it after the response ("Can't read from request stream after
    response has been sent"), which breaks the client's keep-alive connection:
    the next request on it fails.
    """
    try:
        if declared is not None and declared.isdigit() and int(declared) <= _MAX_DRAIN_BYTES:
            await request.bytes()
        elif declared is None and request.body is not None:
            await _drain_stream(request.body)  # chunked: no length to judge it by
        elif request.body is not None:
            await request.body.cancel()
    except (JsException, TypeError, ValueError):
        pass  # the body is already consumed or gone (the SDK maps JS errors to these): nothing to release


async def _drain_stream(stream: Any) -> None:
    """Read a body of unknown length chunk by chunk, cancelling past `_MAX_DRAIN_BYTES`."""
    reader = stream.getReader()
    seen = 0
    while True:
        chunk = await reader.read()
        if chunk.done:
            return
        seen += int(chunk.value.byteLength)
        if seen > _MAX_DRAIN_BYTES:
            await reader.cancel()
            return


def _to_runtime_response(response: HttpResponse) -> Any:
    if response.web_socket is not None:
        return Response(None, status=101, web_socket=response.web_socket)
    return Response(response.body, status=response.status, headers=response.headers)
