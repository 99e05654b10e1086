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
    access_for(token)   -> what a credential allows, on every route and RPC surface
    rpc_noun / rpc_socket_call -> what a noun is, socket calls

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

from dotdo.core.access import Access, AccessControl, AccessSettings, request_access
from dotdo.core.alarms import ALARM_MIGRATIONS, AlarmInfo, Alarms
from dotdo.core.bodies import discard_body, has_body, read_body, request_head, runtime_response
from dotdo.core.eventloop import install as batch_loop_callbacks
from dotdo.core.hooks import socket_hook
from dotdo.core.http import HttpRequest, HttpResponse, error_response, json_response
from dotdo.core.identity import IDENTITY_MIGRATIONS, ObjectIdentity, object_label
from dotdo.core.limits import (
    MESSAGE_RATE_LIMIT,
    MESSAGE_RATE_WINDOW,
    REQUEST_RATE_LIMIT,
    REQUEST_RATE_WINDOW,
    Limits,
    Rate,
    rate_from_env,
)
from dotdo.core.logs import ObjectLog, install_default_handler
from dotdo.core.middleware import CorsPolicy, cors
from dotdo.core.migrations import Component, migrate
from dotdo.core.namespace import Layer, assignment_clash, check_namespace, reserved_attributes
from dotdo.core.route_replacement import check_hooks_without_super, run_router_hooks
from dotdo.core.router import PUBLIC, Route, Router
from dotdo.core.sdk import DurableObject
from dotdo.core.sql import Sql
from dotdo.core.state import STATE_MIGRATIONS, StateStore
from dotdo.core.state_routes import StateRoutes
from dotdo.core.timers import TimerService
from dotdo.core.transport import RpcTransport, socket_data, socket_key
from dotdo.core.websocket import SOCKET_MIGRATIONS, Connection, SocketState, WebSockets, parse_tags
from dotdo.errors import HttpError, TooManyRequests, UpgradeRequired
from dotdo.remote.marks import Authorize, rpc, rpc_methods, seal_rpc_surface
from dotdo.types import JSON
from dotdo.wire.codec import parse_json

__all__ = ["AlarmInfo", "DOCore"]

_BODYLESS = frozenset({"GET", "HEAD", "OPTIONS"})
_socket_log = logging.getLogger("dotdo.sockets")
_timers_log = logging.getLogger("dotdo.timers")
_http_log = logging.getLogger("dotdo.http")
_rpc_log = logging.getLogger("dotdo.rpc")
_requests_log = logging.getLogger("dotdo.requests")


def _env_var(env: Any, name: str) -> str | None:
    value = getattr(env, name, None)
    return value if isinstance(value, str) else None


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


class _Composed(type):
    """Calls `_composed()` on a new object once every layer's `__init__` has returned:
    only then are all the timer sources registered, so only then can the alarm be
    re-armed with one computation and at most one write."""

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        instance = super().__call__(*args, **kwargs)
        instance._composed()
        return instance


class DOCore(DurableObject, metaclass=_Composed):
    """State, alarms, routing, WebSockets and RPC on one Durable Object, built by the
    runtime with its `ctx` (DurableObjectState) and `env` (the bindings and vars)."""

    secret_bindings: ClassVar[tuple[str, ...]] = ("DOTDO_SECRET", "RPC_SECRET")
    """The env vars that may hold the secret signing capability tokens; the first one
    set is used. With a secret (or an operator token) every route that is not public
    needs a credential; with neither, the object is open with ENVIRONMENT=development
    and refuses everything but /health (503 `auth_not_configured`) otherwise (ADR 0018)."""
    operator_token_binding: ClassVar[str] = "AUTH_TOKEN"
    """The env var that may hold the operator token: an admin credential for every object."""
    request_rate_limit: ClassVar[int] = REQUEST_RATE_LIMIT
    """Requests one caller (a token, the operator, or a client address) may send this object
    in any `request_rate_window` seconds; the env var RATE_LIMIT_REQUESTS ("1000/10", "off")
    overrides both."""
    request_rate_window: ClassVar[float] = REQUEST_RATE_WINDOW
    message_rate_limit: ClassVar[int] = MESSAGE_RATE_LIMIT
    """Socket messages (`/ws/rpc` calls, Cap'n Web calls, `/ws` messages) one caller may send
    in any `message_rate_window` seconds, over all its sockets; RATE_LIMIT_MESSAGES overrides."""
    message_rate_window: ClassVar[float] = MESSAGE_RATE_WINDOW
    hooks_without_super: ClassVar[tuple[str, ...]] = ()  # overrides leaving dotdo's out: run_router_hooks

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
            "access_for",
            "rpc_noun",
            "rpc_socket_call",
        ),
        attributes=("ctx", "env", "sql", "state", "timers", "alarms", "websockets", "socket_state", "router"),
    )

    def __init__(self, ctx: Any, env: Any) -> None:
        super().__init__(ctx, env)
        install_default_handler()
        batch_loop_callbacks()  # once per isolate: one macrotask per batch (core/eventloop.py)
        self.sql = Sql(ctx.storage)
        self.state = StateStore(self.sql)
        self.socket_state = SocketState(self.sql)
        settings = AccessSettings.from_env(
            lambda name: _env_var(env, name), self.secret_bindings, self.operator_token_binding
        )
        requests = Rate(self.request_rate_limit, self.request_rate_window)
        messages = Rate(self.message_rate_limit, self.message_rate_window)
        limits = Limits(
            rate_from_env("RATE_LIMIT_REQUESTS", _env_var(env, "RATE_LIMIT_REQUESTS"), requests),
            rate_from_env("RATE_LIMIT_MESSAGES", _env_var(env, "RATE_LIMIT_MESSAGES"), messages),
        )
        self._access = AccessControl(settings, None, limits)
        self._access.announce(type(self).__name__)
        migrate(self.sql, self.migrations(), int(time.time() * 1000))
        self._identity = ObjectIdentity(self.sql, getattr(ctx, "id", None))
        self._access.target = self._identity.name()
        label = self._object_label = object_label(self._access.target, getattr(ctx, "id", None))
        self._object_sockets_log = ObjectLog(_socket_log, label)  # the object's lines name it
        self.websockets = WebSockets(ctx, self._object_sockets_log)
        timers_log = ObjectLog(_timers_log, label)
        self.timers = TimerService(ctx.storage, log=timers_log)
        self.alarms = Alarms(self.sql, self.timers, self.on_alarm, timers_log)
        rpc_log = ObjectLog(_rpc_log, label)
        self._rpc_transport = RpcTransport(self, limits, development=settings.development, log=rpc_log)
        self.timers.register("alarm", self.alarms)
        http_log = ObjectLog(_http_log, label)
        self.router = Router(guard=self._guard, development=settings.development, log=http_log)
        run_router_hooks(self, self.router)  # middleware(), then routes()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        if not cls.__module__.startswith("dotdo."):  # an app's class: its checks below log
            install_default_handler()
        super().__init_subclass__(**kwargs)
        check_namespace(cls)
        seal_rpc_surface(cls)
        check_hooks_without_super(cls.__name__, cls.hooks_without_super)

    def __setattr__(self, name: str, value: Any) -> None:
        # The framework sets each of its instance attributes once, in __init__; a second
        # assignment is an app's `self.things = ...` replacing the framework's.
        if name in self.__dict__ and name in reserved_attributes(type(self)):
            raise assignment_clash(type(self), name)
        super().__setattr__(name, value)

    # -- hooks for layers and applications --------------------------------

    def migrations(self) -> list[Component]:
        """The tables of every layer, a version track each; a layer adds its own to super()'s."""
        return [
            Component("core", STATE_MIGRATIONS),
            Component("alarm", ALARM_MIGRATIONS),
            Component("sockets", SOCKET_MIGRATIONS),
            Component("identity", IDENTITY_MIGRATIONS),
        ]

    def middleware(self, router: Router) -> None:
        """Request logging (`LOG_REQUESTS=1`) and CORS. Who may call is not middleware:
        the router's guard checks every route against its scope (`access_for`)."""
        env = self.env
        if _truthy(_env_var(env, "LOG_REQUESTS")):
            from dotdo.core.middleware import request_logger  # only when asked (ADR 0036)

            router.use(request_logger(log=ObjectLog(_requests_log, self._object_label)))  # once per object
        router.use(cors(CorsPolicy.from_env(_env_var(env, "ALLOWED_ORIGINS"), _env_var(env, "ENVIRONMENT"))))

    def routes(self, router: Router) -> None:
        """`/health` (public), the state routes, `/ws` and the RPC transports, each with its scope."""
        router.get("/health", scope=PUBLIC, query=())(self._health)
        StateRoutes(self.state).routes(router)  # /state, /state/:key, /state/transaction
        router.get("/ws", scope="read", query=("tags", "token"))(self._upgrade)
        self._rpc_transport.routes(router)  # /rpc, /rpc/pipeline, /ws/rpc, /capnweb

    async def on_alarm(self, info: AlarmInfo) -> None:
        """The application's alarm (`self.alarms.set(...)`) is due. Raise to have it retried
        (2 s, doubling, up to 6 times). The layers' own timers never call it."""

    async def on_message(self, connection: Connection, message: str | bytes) -> None:
        """A WebSocket message arrived. RPC sockets (`/ws/rpc`) get RPC; on others the default
        answers `{"type": "ping", "id"?}` with `{"type": "pong", "id"?, "connection"}`."""
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
            echo = {"id": payload["id"]} if "id" in payload else {}  # the client matches pongs by it
            connection.send({"type": "pong", **echo, "connection": connection.id})
            return
        connection.send(
            {"type": "error", "error": {"code": "unknown_message", "message": "unknown message type"}}
        )

    async def on_close(self, connection: Connection, code: int, reason: str) -> None:
        """A WebSocket closed."""
        self._rpc_transport.forget(connection)
        self.socket_state.forget(connection.id)

    async def on_socket_error(self, connection: Connection, error: Any) -> None:
        """A socket failed: logged (`dotdo.sockets`, WARNING)."""
        self._object_sockets_log.warning("websocket %s error: %s", connection.id, error)

    def broadcast(self, message: Any, tag: str | None = None, exclude: Sequence[str] | None = None) -> int:
        """Send `message` to every connected socket (with `tag`), except `exclude`d ids."""
        return self.websockets.broadcast(message, tag=tag, exclude=exclude)

    # -- RPC: state --------------------------------------------------------

    @rpc(scope="read")
    def get(self, key: str) -> JSON | None:
        """The value under `key`, or None."""
        return self.state.get(key)

    @rpc
    def set(self, key: str, value: JSON) -> None:
        """Store `value` (JSON) under `key`."""
        self.state.set(key, value)

    @rpc
    def delete(self, key: str) -> bool:
        """Delete `key`: was it there?"""
        return self.state.delete(key)

    @rpc
    def set_many(self, entries: Mapping[str, JSON]) -> int:
        """Store every entry at once (all or none): how many."""
        return self.state.set_many(entries)

    @rpc
    def delete_many(self, keys: Sequence[str]) -> int:
        """Delete every key at once: how many were there."""
        return self.state.delete_many(keys)

    @rpc
    def transaction(self, operations: builtins.list[dict[str, Any]]) -> int:
        """`[{"op": "set"|"delete", "key", "value"?}]`, all or none: how many applied."""
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
        """A page of entries in key order: `{"items": [{"key", "value"}], "cursor"}`."""
        page = self.state.list(
            prefix=prefix, start=start, end=end, limit=limit, reverse=reverse, cursor=cursor
        )
        return page.to_dict()

    # -- runtime handlers --------------------------------------------------

    async def fetch(self, request: Any) -> Any:
        """Every HTTP request: its body read (within MAX_BODY_BYTES), then the router
        (the access guard, the route's handler) answers it."""
        method, url, headers = request_head(request)
        try:
            body = b""
            if method not in _BODYLESS:
                body = await read_body(request, headers.get("content-length"))
            elif has_body(headers):
                await discard_body(request, headers.get("content-length"))  # a GET's body means nothing
        except HttpError as error:
            await discard_body(request, headers.get("content-length"))
            return runtime_response(error_response(error))
        http_request = HttpRequest(method, url, headers, body, raw=request)
        response = await self.router.handle(http_request)
        if http_request.method == "HEAD":
            response.body = None
        return runtime_response(response)

    def _composed(self) -> None:
        # A timer written just before the last instance died may never have reached the
        # runtime's alarm, and a new instance cannot know what the alarm holds: re-arm.
        self.timers.rearm()

    async def alarm(self, alarm_info: Any = None) -> None:
        """The runtime's alarm: the timer service runs every timer that is due."""
        await self.timers.fire(_optional_int(getattr(alarm_info, "scheduledTime", None)))

    async def webSocketMessage(self, ws: Any, message: Any) -> None:  # noqa: N802 - runtime name
        """The runtime's socket message: the caller's message budget, then `on_message`."""
        payload = message if isinstance(message, str) else bytes(message.to_py())
        connection = Connection.load(ws, self._object_sockets_log)
        plain = not self._rpc_transport.serves(connection)  # RPC sockets answer in their protocol
        if plain:
            if connection.close_if_lapsed():  # as a push to it does: its token admits it no longer
                return
            try:
                self._access.limits.admit_message(socket_key(connection))
            except TooManyRequests as refusal:
                connection.send({"type": "error", **refusal.to_dict()})
                return
        await socket_hook(self.on_message, connection, payload, answer=plain, named=self.router.development)

    async def webSocketClose(self, ws: Any, code: int, reason: str, was_clean: bool = True) -> None:  # noqa: N802
        """The runtime's socket close: `on_close`, then the close answered."""
        await socket_hook(
            self.on_close, Connection.load(ws, self._object_sockets_log), int(code), str(reason or "")
        )
        from pyodide.ffi import JsException  # the runtime's only: the module imports under CPython

        with contextlib.suppress(JsException):  # already closed by the peer: nothing to answer
            ws.close(1000 if code in (1005, 1006, 1015) else code, reason or "")

    async def webSocketError(self, ws: Any, error: Any) -> None:  # noqa: N802 - runtime name
        """The runtime's socket error: `on_socket_error`."""
        await socket_hook(self.on_socket_error, Connection.load(ws, self._object_sockets_log), error)

    # -- HTTP handlers -----------------------------------------------------

    async def _health(self, request: HttpRequest) -> HttpResponse:
        """Liveness for anyone; what the object serves only for an admin (or open access)."""
        if not request_access(request).allows("admin"):
            return json_response({"status": "ok"})
        routes = [
            {"method": route.method, "pattern": route.pattern, "scope": route.scope}
            for route in self.router.routes
        ]
        return json_response(
            {
                "status": "ok",
                "class": type(self).__name__,
                "access": self._access.settings.mode,
                "rpc": rpc_methods(type(self)),
                "routes": routes,
            }
        )

    # -- the RPC surfaces' shared rules ----------------------------------

    @property
    def object_name(self) -> str | None:
        """The name this object was addressed by (`idFromName`), when it has one; kept in
        its storage, so an instance its alarm woke knows it too (`core/identity.py`)."""
        return self._identity.name()

    def rpc_root(self, target: builtins.list[Any]) -> Any:
        """Where a pipeline starts: `[]` is this object, `[Noun]` / `[Noun, id]` a noun of it
        (`rpc_noun`), by the rule every RPC surface shares (`dotdo.remote.targets`)."""
        from dotdo.remote.targets import resolve_target  # with the first call (ADR 0036)

        return resolve_target(self, target)

    def rpc_noun(self, name: str) -> Any:
        """The noun accessor remote callers reach as the property `name` of this object
        (`api.Customer.list()`), or None when `name` is no noun. DOCore has none;
        DOSemantic answers for every type name."""
        return None

    def access_for(self, token: str | None) -> Access:
        """What a caller holding `token` (None: it sent none) may do on this object: the one
        decision behind every route, RPC surface and socket call (`dotdo.core.access`).

        With a secret (the first of `secret_bindings` set) a capability token must verify
        and name this object or "*"; the operator token (`operator_token_binding`) is admin
        everywhere. Without either: everything in development, 503 `auth_not_configured`
        elsewhere. Raises TokenError (401) or Forbidden (403) for a token that does not
        verify. Override it to accept another kind of credential; call `super()` for the rest."""
        return self._access.access_for(token)

    def _guard(self, request: HttpRequest, route: Route | None) -> None:
        self._access.guard(request, route, self.access_for)

    async def rpc_socket_call(
        self, connection: Connection, method_name: str, params: Any, authorize: Authorize
    ) -> Any:
        """One call from an RPC socket; layers add socket-level methods (subscribe) first."""
        return await self._rpc_transport.call(method_name, params, authorize)

    async def _upgrade(self, request: HttpRequest) -> HttpResponse:
        if (request.header("upgrade") or "").lower() != "websocket":
            raise UpgradeRequired("GET /ws expects a WebSocket upgrade")
        tags = parse_tags(request.query_all("tags"))
        client, _ = self.websockets.accept(tags, socket_data(request))
        return HttpResponse(status=101, web_socket=client)


seal_rpc_surface(DOCore)


def _optional_int(value: Any) -> int | None:
    try:
        return None if value is None else int(value)
    except (TypeError, ValueError):
        return None
