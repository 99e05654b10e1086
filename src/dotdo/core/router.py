"""A small router in the spirit of Hono: method routes with path parameters and
wildcards, a middleware chain, JSON 404/405 answers and one error handler.

    router = Router()
    router.use(cors(...))

    @router.get("/state/:key")
    async def read(request: HttpRequest) -> HttpResponse: ...

    response = await router.handle(request)

Patterns: literal segments, `:name` (one segment, percent-decoded), `:name{regex}`
(one segment whose decoded text matches the regex whole, as in Hono), and a
trailing `*` (the rest of the path, possibly empty, as `params["*"]`, still
percent-encoded so that a `%2F` inside a segment stays apart from a `/`).
Segments are split on `/` before they are decoded; a path that does not decode
is a 400 `invalid_path` (see `http.py`).

Precedence (ADR 0011): of the routes matching a request, the most specific
pattern wins whatever the registration order, so an app's routes beat the
framework's catch-alls wherever `super().routes(router)` is called. Segment by
segment from the left, a literal beats `:name{regex}`, which beats `:name`,
which beats the part `*` covers; an exact path beats an empty `*`. Then a route
for the request's method beats `all()` (and `GET` serving `HEAD`); the last
registration breaks a remaining tie, and the same method and pattern registered
again replaces the earlier route. A request walks a tree of the routes' segments
(`RouteTree`), so it tries only the routes its path can match; the answer is the one
trying every route gives.

Access (ADR 0018): every route carries what a caller needs to reach it, declared
where it is registered (`router.get(path, scope="read")`): `public` (nothing),
a capability scope (`read`, `write`, `approve`, `admin`), or `rpc` (a credential for the
object; the route checks each call it carries against that call's scope). A
route that does not say needs `read` for GET, HEAD and OPTIONS (safe methods,
RFC 9110 §9.2.1) and `write` for every other method, `all()` included: closed by
default, public only when asked for. The router's `guard` sees the route chosen
for a request before its handler runs (and `None` before a 404 or 405 is
answered, which then needs `read`), so a refused request never reaches a handler.

Query parameters: a route may say which it takes, where it is registered
(`router.get("/approvals", query=("status", "limit"))`); a request giving any other is
then a 400 `invalid_query` naming it (and the closest name it takes), after the guard and
before the handler, as a body field a route does not take is refused; and the handler
can read only those (`HttpRequest.query` of another name is a programming error). Every
framework route says (`?token=` counts where `query_token` lets the credential come
so); a route that does not say, as an app's may not, takes anything.

Answers: a handler, a middleware and an error handler answer an `HttpResponse`, checked
where the router receives it (`dotdo.core.answers`).

Bodies: a route that reads none says so (`router.post("/storage/flush", body=False)`); a
request sending one anyway (anything but whitespace) is then a 400 `unexpected_body`, at
the same point, rather than answered as if the body meant something. Every framework
route whose handler reads no body says so; an app's route takes one unless it says.
"""

from __future__ import annotations

import functools
import inspect
import logging
import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import TypedDict, TypeVar, Unpack

from dotdo.core.answers import (
    SENDABLE_BODIES,
    Log,
    awaited,
    checked_error_answer,
    default_error_handler,
    development_error_handler,
    middleware_link,
    unsendable,
)
from dotdo.core.fields import COMMON_NAMES, NULL_BODY_STATUSES, SHORT_VALUE
from dotdo.core.http import HttpRequest, HttpResponse, decode_component, split_path
from dotdo.core.queryparams import check_body, check_query
from dotdo.core.route_patterns import parse_pattern, pattern_shape
from dotdo.core.route_replacement import warn_of_replaced
from dotdo.core.routetree import RouteTree
from dotdo.errors import MethodNotAllowed, NotFound
from dotdo.remote.marks import SCOPES
from dotdo.types import Handler, Middleware

__all__ = ["PUBLIC", "ROUTE_SCOPES", "RPC_CALLS", "ErrorHandler", "Guard", "Route", "Router", "default_scope"]

ErrorHandler = Callable[[Exception, HttpRequest], Awaitable[HttpResponse]]
H = TypeVar("H", bound=Handler)

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
PUBLIC = "public"
RPC_CALLS = "rpc"
ROUTE_SCOPES = (PUBLIC, *SCOPES, RPC_CALLS)
"""What a route may need: nothing, a capability scope, or a credential whose calls it checks."""
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
logger = logging.getLogger("dotdo.http")
# Ranks of what matches one path segment: the higher, the fewer paths it matches.


@dataclass(frozen=True, slots=True)
class Route:
    """One registered route: a method (or `*`), a parsed pattern and its handler."""

    method: str  # one of METHODS, or "*" for every method
    pattern: str
    handler: Handler
    segments: tuple[str, ...]
    wildcard: bool
    constraints: tuple[re.Pattern[str] | None, ...] = ()
    scope: str = "write"
    """What a caller needs (`ROUTE_SCOPES`); see the module docstring."""
    query_token: bool = False
    """May the credential travel as `?token=` (Cap'n Web's HTTP batch; WebSocket upgrades always may)?"""
    query: frozenset[str] | None = None
    """The query parameters the route takes (`token` included when `query_token`); None:
    not declared, any is let through (see the module docstring)."""
    body: bool = True
    """Does the route read a body? False: a request sending one is a 400 `unexpected_body`."""
    specificity: tuple[int, ...] = field(init=False, repr=False, compare=False)
    """Orders the routes matching one path, the greatest first (ADR 0011): the rank of
    each fixed segment, then 0 for a trailing `*` or 1 without one. Routes matching
    the same path have as many segments when neither has a `*`; otherwise one
    route's 0 meets the other's segment rank or final 1 (both at least 1) at the
    position where its `*` starts. So comparing the tuples compares the patterns
    segment by segment, from the left, over any path they both match."""

    names: tuple[str | None, ...] = field(init=False, repr=False, compare=False)
    """Each segment's parameter name, None for a literal: parsed once, not per request."""

    same: tuple[object, ...] = field(init=False, repr=False, compare=False)
    """Equal for two routes that are the same route (`_same_route`): a later one replaces it."""

    def __post_init__(self) -> None:
        specificity, names = pattern_shape(self.segments, self.wildcard)
        object.__setattr__(self, "specificity", specificity)
        object.__setattr__(self, "names", names)
        object.__setattr__(self, "same", _same_route(self.method, self.segments, self.wildcard))

    def match(self, raw_path: str) -> dict[str, str] | None:
        """Match a still percent-encoded path; parameters come back decoded.

        BadRequest `invalid_path` when the path does not decode."""
        raw, parts = split_path(raw_path)
        return self.match_parts(parts, raw)

    def match_parts(self, parts: list[str], raw_parts: list[str]) -> dict[str, str] | None:
        """Match a path already split into decoded segments (`parts`) and the same
        segments as sent (`raw_parts`, for the wildcard); split once per request."""
        fixed = self.segments
        if self.wildcard:
            if len(parts) < len(fixed):
                return None
        elif len(parts) != len(fixed):
            return None
        params: dict[str, str] = {}
        for index, (segment, part) in enumerate(zip(fixed, parts, strict=False)):
            name = self.names[index]
            if name is not None:
                constraint = self.constraints[index] if self.constraints else None
                if not part or (constraint is not None and not constraint.fullmatch(part)):
                    return None
                params[name] = part
            elif segment != part:
                return None
        if self.wildcard:
            params["*"] = "/".join(raw_parts[len(fixed) :])
        return params


def default_scope(method: str) -> str:
    """The scope a route of `method` needs when it does not say: `read` for GET, HEAD
    and OPTIONS, `write` for the others and for `all()` (`*`)."""
    return "read" if method.upper() in _SAFE_METHODS else "write"


@functools.lru_cache(maxsize=1024)
def _takes(query: tuple[str, ...], query_token: bool) -> frozenset[str]:
    """The query parameters a route takes, one set a declaration per process."""
    return frozenset(query) | ({"token"} if query_token else frozenset())


def _method_fit(route_method: str, method: str) -> int | None:
    """How closely a route's method serves a request's: 2 the same, 1 `all()`, 0 a GET
    route serving HEAD (RFC 9110 §9.3.2), None not at all."""
    if route_method == method:
        return 2
    if route_method == "*":
        return 1
    if method == "HEAD" and route_method == "GET":
        return 0
    return None


def _check_method(method: str) -> str:
    method = method.upper()
    if method != "*" and method not in METHODS:
        raise ValueError(f"Unknown HTTP method {method!r}")
    return method


class RouteOptions(TypedDict, total=False):
    """What `Router.route` takes besides the method and pattern (its shorthands take the same)."""

    scope: str | None
    query_token: bool
    query: Iterable[str] | None
    body: bool
    override: bool


Guard = Callable[[HttpRequest, Route | None], None]
"""Checks a request against the route chosen for it (None: no route, a 404 or 405 follows)
before the handler runs; raises an HttpError to refuse it."""


@functools.lru_cache(maxsize=1024)
def _same_route(method: str, segments: tuple[str, ...], wildcard: bool) -> tuple[object, ...]:
    """What makes two routes the same route: the method, and the pattern with its parameters'
    names left out (`/state/:id` is `/state/:key`: both match the same paths, and the later
    one would serve every one of them without a word), their constraints kept."""
    names = pattern_shape(segments, wildcard)[1]
    shape = tuple(
        segment if name is None else ":" + segment[1 + len(name) :]
        for segment, name in zip(segments, names, strict=True)
    )
    return method, shape, wildcard


class Router:
    """Routes and a middleware chain; the most specific matching route serves a request,
    once `guard` (when there is one) lets it through. With `development`, an exception no
    handler answers is named in its 500 (`development_error_handler`), and logged to `log`
    (`dotdo.http`; DOCore's router logs to its `ObjectLog`: `[acme] unhandled error in ...`)."""

    def __init__(self, guard: Guard | None = None, development: bool = False, log: Log = logger) -> None:
        self.routes: list[Route] = []
        self.middleware: list[Middleware] = []
        self.development = development
        self.log = log
        self.error_handler: ErrorHandler = development_error_handler if development else default_error_handler
        self.guard = guard
        # Built on the first request, again only when `routes` or `middleware` change: the
        # routes as a tree of their segments, and the middleware chain.
        self._tree: tuple[list[Route], int, RouteTree] | None = None
        self._chain: tuple[list[Middleware], int, Handler] | None = None

    def use(self, middleware: Middleware) -> None:
        """Add middleware; the first added is the outermost."""
        self.middleware.append(middleware)

    def on_error(self, handler: ErrorHandler) -> None:
        """Replace `default_error_handler`: `handler(error, request)` answers whatever a
        handler or middleware raised."""
        self.error_handler = handler

    def add(self, method: str, pattern: str, handler: Handler, **options: Unpack[RouteOptions]) -> None:
        """`route(method, pattern, **options)(handler)`, not as a decorator."""
        self.route(method, pattern, **options)(handler)

    def route(
        self,
        method: str,
        pattern: str,
        *,
        scope: str | None = None,
        query_token: bool = False,
        query: Iterable[str] | None = None,
        body: bool = True,
        override: bool = False,
    ) -> Callable[[H], H]:
        """A decorator registering a handler; method, pattern and scope are checked right
        away (ValueError). A route with the same method and pattern (`/a/` is `/a`, and
        `/a/:id` is `/a/:key`: only the parameters' names differ) is replaced; one of dotdo's
        own replaced by a handler from elsewhere is logged as a warning (once a process)
        unless `override=True` says it is meant, and so is an app's replaced by one of dotdo's
        (registered before `super().routes(router)`, it would serve nothing). `scope` is one of
        `ROUTE_SCOPES` (default: `default_scope(method)`); `query_token` lets the credential
        come as `?token=`; `query` names the query parameters the route takes (any other is a
        400 `invalid_query`; None: not checked); `body=False`: the route reads no body, and a
        request with one is a 400 `unexpected_body`."""
        method = _check_method(method)
        segments, wildcard, constraints = parse_pattern(pattern)
        needs = default_scope(method) if scope is None else scope
        if needs not in ROUTE_SCOPES:
            raise ValueError(f"A route's scope is one of {', '.join(ROUTE_SCOPES)}, not {scope!r}")
        if isinstance(query, str):
            raise ValueError(f"A route's query is a list of parameter names, not the string {query!r}")
        takes = None if query is None else _takes(tuple(query), query_token)

        def register(handler: H) -> H:
            # The same method and pattern again is an override (an app replacing a
            # framework route): the earlier one goes, so it cannot answer anything.
            key = _same_route(method, segments, wildcard)
            for route in self.routes:  # a loop, not a generator: a wake registers ~60 routes
                if route.same == key:
                    if not override:
                        warn_of_replaced(route, pattern, handler)
                    self.routes = [r for r in self.routes if r.same != key]
                    break
            run = handler if inspect.iscoroutinefunction(handler) else awaited(handler)
            self.routes.append(
                Route(method, pattern, run, segments, wildcard, constraints, needs, query_token, takes, body)
            )
            return handler

        return register

    def get(self, pattern: str, **options: Unpack[RouteOptions]) -> Callable[[H], H]:
        """`route("GET", pattern, ...)`: needs `read` unless `scope` says otherwise."""
        return self.route("GET", pattern, **options)

    def post(self, pattern: str, **options: Unpack[RouteOptions]) -> Callable[[H], H]:
        """`route("POST", pattern, ...)`: needs `write` unless `scope` says otherwise."""
        return self.route("POST", pattern, **options)

    def put(self, pattern: str, **options: Unpack[RouteOptions]) -> Callable[[H], H]:
        """`route("PUT", pattern, ...)`: needs `write` unless `scope` says otherwise."""
        return self.route("PUT", pattern, **options)

    def patch(self, pattern: str, **options: Unpack[RouteOptions]) -> Callable[[H], H]:
        """`route("PATCH", pattern, ...)`: needs `write` unless `scope` says otherwise."""
        return self.route("PATCH", pattern, **options)

    def delete(self, pattern: str, **options: Unpack[RouteOptions]) -> Callable[[H], H]:
        """`route("DELETE", pattern, ...)`: needs `write` unless `scope` says otherwise."""
        return self.route("DELETE", pattern, **options)

    def all(self, pattern: str, **options: Unpack[RouteOptions]) -> Callable[[H], H]:
        """`route("*", pattern, ...)`: any method (a specific method's route on the same path
        wins); needs `write` unless `scope` says otherwise, even for a GET."""
        return self.route("*", pattern, **options)

    def resolve(self, method: str, raw_path: str) -> tuple[Handler, dict[str, str]]:
        """The handler for a request (by its percent-encoded path) and its parameters.

        Of the routes matching the path and serving the method, the most specific
        (see the module docstring) wins. NotFound (`route_not_found`) when no route
        matches the path; MethodNotAllowed with `Allow` listing the methods of every
        route matching it when none serves the method; BadRequest `invalid_path` when
        the path does not decode."""
        raw, parts = split_path(raw_path)
        route, params = self._resolve(method, parts, raw, decode_component(raw_path))
        return route.handler, params

    def _resolve(
        self, method: str, parts: list[str], raw_parts: list[str], path: str
    ) -> tuple[Route, dict[str, str]]:
        allowed: list[str] = []
        best: tuple[tuple[tuple[int, ...], int, int], Route, dict[str, str]] | None = None
        for index, route, params in self._index().matches(parts, raw_parts):
            fit = _method_fit(route.method, method)
            if fit is None:
                allowed.append(route.method)
                continue
            key = (route.specificity, fit, index)
            if best is None or key > best[0]:
                best = (key, route, params)
        if best is not None:
            return best[1], best[2]
        if allowed:
            names = sorted(set(allowed))
            if "GET" in names and "HEAD" not in names:
                names = sorted([*names, "HEAD"])
            raise MethodNotAllowed(
                f"{method} is not allowed on {path}; allowed: {', '.join(names)}", allowed=names
            )
        raise NotFound(f"No route for {method} {path}", code="route_not_found")

    def _index(self) -> RouteTree:
        """The routes as a tree of their segments (`RouteTree`), built on the first request and
        again only when `routes` changed (`register` makes a new list; a list changed in
        place changes its length)."""
        index = self._tree
        if index is None or index[0] is not self.routes or index[1] != len(self.routes):
            root = RouteTree()
            for position, route in enumerate(self.routes):
                root.add(position, route)
            index = self._tree = (self.routes, len(self.routes), root)
        return index[2]

    async def _guarded(self, request: HttpRequest) -> HttpResponse:
        """The matching route's answer, or the error handler's: the end of the middleware
        chain (one coroutine, not two, on every request: ADR 0052)."""
        try:
            request.check_url()
            try:
                route, params = self._resolve(
                    request.method, request.segments, request.raw_segments, request.path
                )
            except (NotFound, MethodNotAllowed):
                if self.guard is not None:
                    self.guard(request, None)  # which paths exist is no answer for a stranger
                raise
            if self.guard is not None:
                self.guard(request, route)
            if route.query is not None:
                check_query(request, route.query)
            if not route.body:
                check_body(request)
            request.params = params
            response = await route.handler(request)
            # The usual answer tested with no call, as `middleware_link` does: this runs on every request
            # (ADR 0052); `unsendable` looks closer at anything else (a header of another name too).
            odd = (
                response.__class__ is not HttpResponse
                or response.status.__class__ is not int
                or not 200 <= response.status <= 599
                or response.headers.__class__ is not dict
                or response.body.__class__ not in SENDABLE_BODIES
                or (response.body and response.status in NULL_BODY_STATUSES)
            )
            if not odd:
                headers = response.headers
                for name in headers:
                    value = headers[name]
                    if (
                        name not in COMMON_NAMES
                        or value.__class__ is not str
                        or "\r" in value
                        or "\n" in value
                        or "\0" in value
                        or value[SHORT_VALUE:]  # a long one counted (MAX_HEADER_BYTES), with no call
                    ):
                        odd = True
                        break
            if odd and (wrong := unsendable("handler", route.handler, response)):
                raise TypeError(wrong)
            return response
        except Exception as error:
            return await self._answer(error, request)

    async def _answer(self, error: Exception, request: HttpRequest) -> HttpResponse:
        """The error handler's answer to `error`, or the router's own when a replaced one fails
        (`dotdo.core.answers.checked_error_answer`): the router never raises."""
        return await checked_error_answer(self.error_handler, error, request, self.development, self.log)

    async def handle(self, request: HttpRequest) -> HttpResponse:
        """Run the middleware chain and the matching route; never raises. Each link answers
        its own failure (a middleware that raises or answers nothing it can send, as a
        handler's in `_guarded`), so the middleware outside it (CORS, request logging) sees
        that answer as it sees a handler's: a browser gets the 500 with its CORS headers."""
        chain = self._chain
        if chain is None or chain[0] is not self.middleware or chain[1] != len(self.middleware):
            call: Handler = self._guarded
            for middleware in reversed(self.middleware):
                call = middleware_link(middleware, call, self._answer)
            chain = self._chain = (self.middleware, len(self.middleware), call)
        return await chain[2](request)
