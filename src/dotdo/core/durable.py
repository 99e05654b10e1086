"""DOCore: the base Durable Object class of dotdo.

State on SQLite, the alarm, an HTTP router with middleware, hibernatable
WebSockets and RPC. Layers extend it by overriding the hooks below and calling
`super()`; they never reach into its attributes' internals.

    migrations()        -> (component, migrations) pairs: each layer adds its tables
    routes(router)      -> register HTTP routes
    middleware(router)  -> install middleware
    on_alarm(info)      -> the object's one alarm fired
    on_message / on_close / on_socket_error -> WebSocket events
"""

from __future__ import annotations

import builtins
import contextlib
import json
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from pyodide.ffi import JsException
from workers import DurableObject, Response

from dotdo.core.alarms import Alarms
from dotdo.core.http import (
    HttpRequest,
    HttpResponse,
    check_body_bytes,
    check_body_size,
    error_response,
    json_response,
)
from dotdo.core.logs import install_default_handler
from dotdo.core.middleware import CorsPolicy, bearer_auth, cors, request_logger
from dotdo.core.migrations import Migration, migrate
from dotdo.core.router import Router
from dotdo.core.rpc import invoke, rpc, rpc_methods, seal_rpc_surface
from dotdo.core.sql import Sql
from dotdo.core.state import STATE_MIGRATIONS, ListPage, StateStore
from dotdo.core.websocket import SOCKET_MIGRATIONS, Connection, SocketState, WebSockets, parse_tags
from dotdo.errors import (
    BadRequest,
    Forbidden,
    HttpError,
    NotFound,
    TooManyRequests,
    Unauthorized,
    UpgradeRequired,
)
from dotdo.types import JSON
from dotdo.wire.capnweb import CapnWebSession, SessionIds
from dotdo.wire.codec import decode, dumps, parse_json
from dotdo.wire.pipeline import Authorize, parse_pipelines, run_batch
from dotdo.wire.targets import resolve_method, resolve_target
from dotdo.wire.tokens import access_mode, verify
from dotdo.wire.wsrpc import SOCKET_TAG as WS_RPC_TAG
from dotdo.wire.wsrpc import RateLimiter, error_message, parse_message

__all__ = ["AlarmInfo", "DOCore"]

_BODYLESS = frozenset({"GET", "HEAD", "OPTIONS"})
_MAX_DRAIN_BYTES = 16 * 1024 * 1024
_MISSING = object()
_rpc_log = logging.getLogger("dotdo.rpc")
_socket_log = logging.getLogger("dotdo.sockets")


@dataclass(frozen=True)
class AlarmInfo:
    retry_count: int
    is_retry: bool
    scheduled_time: int | None


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
    try:
        return int(value)
    except ValueError as exc:
        raise BadRequest("limit is an integer", code="invalid_limit") from exc


class DOCore(DurableObject):
    """State, alarms, routing, WebSockets and RPC on one Durable Object."""

    rpc_secret_binding: ClassVar[str] = "RPC_SECRET"
    """The env var holding the capability-token secret. When it is set, every RPC
    surface (/rpc, /rpc/pipeline, /capnweb, /ws/rpc) needs a valid token; when it is
    not, they are open only with ENVIRONMENT=development."""
    ws_rpc_rate_limit: ClassVar[int] = 100
    """Messages one `/ws/rpc` socket may send in any `ws_rpc_rate_window` seconds."""
    ws_rpc_rate_window: ClassVar[float] = 10.0

    def __init__(self, ctx: Any, env: Any) -> None:
        super().__init__(ctx, env)
        install_default_handler()
        self.sql = Sql(ctx.storage)
        self.state = StateStore(self.sql)
        self.alarms = Alarms(ctx.storage)
        self.websockets = WebSockets(ctx)
        self.socket_state = SocketState(self.sql)
        self._rpc_rates = RateLimiter(self.ws_rpc_rate_limit, self.ws_rpc_rate_window)
        self._capnweb_sessions: dict[str, CapnWebSession] = {}
        migrate(self.sql, self.migrations(), int(time.time() * 1000))
        self.router = Router()
        self.middleware(self.router)
        self.routes(self.router)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        seal_rpc_surface(cls)

    # -- hooks for layers and applications --------------------------------

    def migrations(self) -> list[tuple[str, Sequence[Migration]]]:
        return [("core", STATE_MIGRATIONS), ("sockets", SOCKET_MIGRATIONS)]

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
        router.post("/rpc")(self._rpc)
        router.post("/rpc/pipeline")(self._rpc_pipeline)
        router.get("/ws")(self._upgrade)
        router.get("/ws/rpc")(self._upgrade_rpc)
        router.post("/capnweb")(self._capnweb_batch)
        router.get("/capnweb")(self._capnweb_socket)

    async def on_alarm(self, info: AlarmInfo) -> None:
        """The alarm fired. Layers multiplex their timers here and call super()."""

    async def on_message(self, connection: Connection, message: str | bytes) -> None:
        """A WebSocket message arrived. RPC sockets (`/ws/rpc`) get RPC; on others the
        default answers `{"type": "ping"}` with a pong."""
        if connection.data.get("rpc"):
            await self._on_rpc_message(connection, message)
            return
        if connection.data.get("capnweb"):
            await self._on_capnweb_message(connection, message)
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
        self._rpc_rates.forget(connection.id)
        self._capnweb_sessions.pop(connection.id, None)
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
        try:
            headers = {k.lower(): v for k, v in request.headers.items()}
            body = b""
            if request.method.upper() not in _BODYLESS:
                check_body_size(headers.get("content-length"))
                body = bytes(await request.bytes())
                check_body_bytes(body)
            elif has_body(headers):
                await discard_body(request, headers.get("content-length"))  # a GET's body means nothing
        except HttpError as error:
            await discard_body(request, request.headers.get("content-length"))
            return _to_runtime_response(error_response(error))
        http_request = HttpRequest(request.method, request.url, headers, body, raw=request)
        response = await self.router.handle(http_request)
        if http_request.method == "HEAD":
            response.body = None
        return _to_runtime_response(response)

    async def alarm(self, alarm_info: Any = None) -> None:
        await self.on_alarm(
            AlarmInfo(
                retry_count=int(getattr(alarm_info, "retryCount", 0) or 0),
                is_retry=bool(getattr(alarm_info, "isRetry", False)),
                scheduled_time=_optional_int(getattr(alarm_info, "scheduledTime", None)),
            )
        )

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

    async def _rpc(self, request: HttpRequest) -> HttpResponse:
        authorize = self.rpc_access(request)
        body = request.json()
        if not isinstance(body, dict):
            raise BadRequest('Body is {"method": ..., "params": [...]}', code="invalid_rpc")
        method, scope = resolve_method(self, body.get("method"), is_root=True)
        if scope is not None:
            authorize(str(body["method"]), scope)
        result = await invoke(method, body.get("params"))  # the body's tags are already decoded
        return json_response({"result": result})

    async def _rpc_pipeline(self, request: HttpRequest) -> HttpResponse:
        authorize = self.rpc_access(request)
        requests, is_batch = parse_pipelines(request.json())
        answers = await run_batch(requests, self.rpc_root, authorize)
        if is_batch:
            return json_response([answer for answer, _ in answers], encoded=True)
        answer, status = answers[0]
        return json_response(answer, status=status, encoded=True)

    # -- the RPC surfaces' shared rules ----------------------------------

    @property
    def object_name(self) -> str | None:
        """The name this object was addressed by (`idFromName`), when it has one."""
        name = getattr(self.ctx.id, "name", None)
        return name if isinstance(name, str) else None

    def rpc_root(self, target: builtins.list[Any]) -> Any:
        """Where a pipeline starts: `[]` is this object, `[Noun]` / `[Noun, id]` a noun of it
        (`rpc_noun`), by the rule every RPC surface shares (`dotdo.wire.targets`)."""
        return resolve_target(self, target)

    def rpc_noun(self, name: str) -> Any:
        """The noun accessor remote callers reach as the property `name` of this object
        (`api.Customer.list()`), or None when `name` is no noun. DOCore has none;
        DOSemantic answers for every type name."""
        return None

    def rpc_access(self, request: HttpRequest | None = None, token: str | None = None) -> Authorize:
        """Who may call what: a function (method name, scope) -> None or Forbidden.

        With a secret configured, the capability token (`Authorization: Bearer`,
        `X-Capability`, or `?token=`) must verify; without one, RPC is open only in
        development and closed (403 `rpc_closed`) otherwise."""
        secret = _env_var(self.env, self.rpc_secret_binding)
        mode = access_mode(secret, _env_var(self.env, "ENVIRONMENT"))
        if mode == "open":
            return _allow_all
        if mode == "closed" or not secret:
            raise Forbidden(
                f"RPC is closed: set the {self.rpc_secret_binding} secret "
                "(or run with ENVIRONMENT=development)",
                code="rpc_closed",
            )
        if token is None and request is not None:
            token = _token_from(request)
        if not token:
            raise Unauthorized("A capability token is required", code="token_required")
        capability = verify(token, secret)
        target = self.object_name

        def authorize(method: str, scope: str) -> None:
            capability.check(target, method, scope)

        return authorize

    def _accept_rpc_socket(self, request: HttpRequest, tag: str, data: dict[str, Any]) -> HttpResponse:
        """Upgrade to an RPC socket: refused before the upgrade when the token does not verify;
        the token is kept with the socket (in `socket_state`: a token may be longer than the
        whole attachment) and checked on every call."""
        if (request.header("upgrade") or "").lower() != "websocket":
            raise UpgradeRequired(f"GET {request.path} expects a WebSocket upgrade")
        token = _token_from(request)
        self.rpc_access(request, token)
        client, connection = self.websockets.accept([tag], data)
        if token:
            self.socket_state.put(connection.id, "token", token)
        # Rows of sockets that went away without a close (their object was reset) go here,
        # at the cost of reading each open socket's attachment once per RPC socket opened.
        self.socket_state.keep_only(c.id for c in self.websockets.connections())
        return HttpResponse(status=101, web_socket=client)

    def _socket_token(self, connection: Connection) -> str:
        token = self.socket_state.get(connection.id, "token")
        return token if isinstance(token, str) else ""

    async def _upgrade_rpc(self, request: HttpRequest) -> HttpResponse:
        return self._accept_rpc_socket(request, WS_RPC_TAG, {"rpc": True})

    async def _on_rpc_message(self, connection: Connection, message: str | bytes) -> None:
        request_id = None
        try:
            if not self._rpc_rates.allow(connection.id):
                raise TooManyRequests("Too many messages; slow down")
            request = parse_message(message)
            request_id = request.id
            authorize = self.rpc_access(token=self._socket_token(connection))
            result = await self.rpc_socket_call(connection, request.method, decode(request.params), authorize)
            connection.send(dumps({"id": request_id, "result": result}))
        except HttpError as error:
            connection.send(error_message(request_id, error))
        except Exception:
            _rpc_log.exception("RPC over WebSocket failed")
            connection.send(error_message(request_id, HttpError("Internal error")))

    async def rpc_socket_call(
        self, connection: Connection, method_name: str, params: Any, authorize: Authorize
    ) -> Any:
        """One call from an RPC socket; layers add socket-level methods (subscribe) first."""
        method, scope = resolve_method(self, method_name, is_root=True)
        if scope is not None:
            authorize(method_name, scope)
        return await invoke(method, params)

    async def _capnweb_batch(self, request: HttpRequest) -> HttpResponse:
        """Cap'n Web over HTTP: newline-separated messages in, the pulled answers out."""
        session = CapnWebSession(self, self.rpc_access(request))
        text = request.text()
        for line in text.split("\n") if text else []:
            await session.receive(line)
        body = await session.drain()
        return HttpResponse(200, body, {"content-type": "text/plain; charset=utf-8"})

    async def _capnweb_socket(self, request: HttpRequest) -> HttpResponse:
        return self._accept_rpc_socket(request, "capnweb", {"capnweb": True})

    async def _on_capnweb_message(self, connection: Connection, message: str | bytes) -> None:
        session = self._capnweb_sessions.get(connection.id)
        if session is None:
            try:
                authorize = self.rpc_access(token=self._socket_token(connection))
            except HttpError as error:
                connection.send(json.dumps(["abort", ["error", "Error", error.message]]))
                return
            session = CapnWebSession(
                self,
                authorize,
                send=connection.send,
                resume=SessionIds.from_json(connection.data.get("ids")),
                remember=lambda ids: _remember_ids(connection, ids),
                admit=lambda: self._rpc_rates.allow(connection.id),
            )
            self._capnweb_sessions[connection.id] = session
        await session.receive(message if isinstance(message, str) else message.decode("utf-8", "replace"))

    async def _upgrade(self, request: HttpRequest) -> HttpResponse:
        if (request.header("upgrade") or "").lower() != "websocket":
            raise UpgradeRequired("GET /ws expects a WebSocket upgrade")
        tags = parse_tags(request.query_all("tags"))
        client, _ = self.websockets.accept(tags)
        return HttpResponse(status=101, web_socket=client)


seal_rpc_surface(DOCore)


def _remember_ids(connection: Connection, ids: SessionIds) -> None:
    """A Cap'n Web socket's counters go in its attachment (two integers: they always fit):
    they must outlive hibernation."""
    connection.update(ids=ids.to_json())


def _allow_all(method: str, scope: str) -> None:
    return None


def _token_from(request: HttpRequest) -> str | None:
    header = request.header("x-capability")
    if header:
        return header.strip()
    authorization = request.header("authorization") or ""
    if authorization.lower().startswith("bearer ") and authorization[7:].strip().startswith("dotdo1."):
        return authorization[7:].strip()
    return request.query("token") or None


def _optional_int(value: Any) -> int | None:
    try:
        return None if value is None else int(value)
    except (TypeError, ValueError):
        return None


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
