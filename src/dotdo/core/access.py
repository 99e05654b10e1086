"""The one access layer: who may do what on this object, decided the same way for every
HTTP route, every RPC surface and every socket message (ADR 0018).

The mode comes from the environment (`AccessSettings`):

* `token`: a secret (`DOTDO_SECRET`, or `RPC_SECRET`) or an operator token
  (`AUTH_TOKEN`) is set. Every route that is not public needs a credential: a
  capability token (`dotdo.wire.tokens`) for this object's name or "*", or the
  operator token, which is an admin capability for every object.
* `open`: neither is set and `ENVIRONMENT` is `development`: everyone may do
  everything (said once per class and isolate, as a warning, at start-up).
* `closed`: neither is set anywhere else: every route but the public ones answers
  503 `auth_not_configured`, naming the secret to set.

A credential travels as `Authorization: Bearer <token>` or `X-Capability: <token>`
(that one first when both are sent), or as `?token=` on a WebSocket upgrade or a
route that allows it (Cap'n Web's HTTP batch), for the clients that cannot set
headers. The query string is never logged (`request_logger` logs the path only).
A credential that is sent is checked even on a public route: a bad one is refused
rather than silently ignored.
"""

from __future__ import annotations

import functools
import ipaddress
import logging
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass

from dotdo.core.http import HttpRequest
from dotdo.core.limits import Limits
from dotdo.core.router import PUBLIC, RPC_CALLS, Route
from dotdo.errors import Forbidden, HttpError, ServiceUnavailable, Unauthorized
from dotdo.wire.capability import Capability, granted

__all__ = [
    "CLOSED",
    "MAX_KEY_LENGTH",
    "MIN_SECRET_LENGTH",
    "OPEN",
    "OPERATOR",
    "TOKEN",
    "Access",
    "AccessControl",
    "AccessSettings",
    "caller",
    "client_key",
    "credential",
    "described",
    "is_upgrade",
    "request_access",
]

OPEN, CLOSED, TOKEN = "open", "closed", "token"
MAX_KEY_LENGTH = 48
"""The longest rate key: `client:` and an IPv6 address (`token:` and 32 hex digits is shorter)."""
MIN_SECRET_LENGTH = 32
"""Shorter secrets (and operator tokens) are logged as weak: anyone holding one token can
try secrets against it offline."""
CHALLENGE = {"www-authenticate": 'Bearer realm="dotdo"'}
"""RFC 6750 §3: a 401 says how to authenticate."""
OPERATOR = Capability(target="*", scope="admin", methods=None, exp=None, sub="operator", root="operator")
"""What the operator token grants: every scope on every object."""
_EVERYTHING = Capability(target="*", scope="admin", methods=None, exp=None, sub=None, root="")
logger = logging.getLogger("dotdo.access")
_announced: set[tuple[str, str]] = set()
_CALLER: ContextVar[Capability | None] = ContextVar("dotdo_caller", default=None)


def described(capability: Capability | None) -> str:
    """Who `capability` lets in, in words for an error message: the token's subject, a
    token without one, or no token at all (open access lets every request in as no one,
    with a capability of no root)."""
    if capability is not None and capability.sub is not None:
        return f"the token's subject is {capability.sub!r}"
    if capability is None or not capability.root:
        return "no token was read (open access: set DOTDO_SECRET and use a token whose subject is named)"
    return "the token names no subject (mint it with one: `dotdo token mint --sub`)"


def caller() -> Capability | None:
    """The capability that let the current call in: set by the guard for an HTTP route and
    by `Access.authorize` for each RPC call (every surface), so a method learns who calls
    it (`caller().sub`, the token's subject) whichever way it was reached. None for a call
    no surface authorized (Workers RPC from another object, the object's own code run
    from the alarm). Code a call runs (a workflow it starts) sees that call's capability."""
    return _CALLER.get()


@dataclass(frozen=True)
class AccessSettings:
    """What the environment says about access: the secret that signs capability tokens
    (read from the first of `secret_bindings` that is set; `secret_binding` is that
    name, or the first one when none is set, to name in messages), the operator token
    and `ENVIRONMENT`."""

    secret: str | None = None
    secret_binding: str = "DOTDO_SECRET"
    operator_token: str | None = None
    operator_binding: str = "AUTH_TOKEN"
    environment: str | None = None

    @classmethod
    def from_env(
        cls, lookup: Callable[[str], str | None], secret_bindings: tuple[str, ...], operator_binding: str
    ) -> AccessSettings:
        """Read the settings with `lookup(name)` (an env var's text, or None)."""
        if not secret_bindings:
            raise ValueError("secret_bindings names at least one env var")
        secret, binding = None, secret_bindings[0]
        for name in secret_bindings:
            value = lookup(name)
            if value:
                secret, binding = value, name
                break
        return cls(
            secret=secret,
            secret_binding=binding,
            operator_token=lookup(operator_binding) or None,
            operator_binding=operator_binding,
            environment=lookup("ENVIRONMENT"),
        )

    @property
    def development(self) -> bool:
        """Is `ENVIRONMENT` `development` (any case, spaces aside)? Nothing else is."""
        return (self.environment or "").strip().lower() == "development"

    @functools.cached_property
    def mode(self) -> str:
        """`token`, `open` or `closed` (the module docstring says when); worked out once, as
        the settings are frozen, not on every request."""
        if self.secret or self.operator_token:
            return TOKEN
        return OPEN if self.development else CLOSED

    def not_configured(self) -> ServiceUnavailable:
        """The 503 `auth_not_configured` of closed mode, naming the secret to set."""
        return ServiceUnavailable(
            f"Access is not configured: set the {self.secret_binding} secret "
            f"(npx wrangler secret put {self.secret_binding}) and send capability tokens, "
            "or run with ENVIRONMENT=development",
            code="auth_not_configured",
        )


@dataclass(frozen=True)
class Access:
    """What one caller may do on this object (named `target`).

    `capability` is None for a caller without a credential; `missing` is then what
    anything but a public route answers (401 `token_required`, or 503
    `auth_not_configured` when nothing is configured). `key` names whose rate budget
    the caller spends (never the token itself). Read it in a handler as
    `request_access(request)`: `access.capability.sub` is who called."""

    capability: Capability | None
    target: str | None
    key: str
    missing: HttpError | None = None

    def allows(self, scope: str) -> bool:
        """Would this caller be let through where `scope` is needed (methods aside)?"""
        return self.capability is not None and self.capability.grants(self.target, scope)

    def held(self) -> Capability:
        """The capability, or the error for a caller who has none."""
        if self.capability is None:
            raise self.missing or Unauthorized(
                "A capability token is required", code="token_required", headers=CHALLENGE
            )
        return self.capability

    def require(self, scope: str, what: str) -> None:
        """Let the caller reach a route needing `scope` (a route scope) or raise:
        401/503 without a credential, 403 `token_wrong_target`, `token_scope`, and
        `token_method` for a token limited to RPC methods on a route that is not RPC."""
        if scope == PUBLIC:
            return
        capability = self.held()
        capability.check_target(self.target)
        if scope == RPC_CALLS:
            return  # each call the route carries is authorized on its own
        if capability.methods is not None:
            raise Forbidden(
                f"{what} is no RPC method; the token grants only {granted(capability.methods)}",
                code="token_method",
            )
        capability.check_scope(scope, what)

    def authorize(self, method: str, scope: str) -> None:
        """One RPC call of `method`, which needs `scope` (the `Authorize` of the surfaces);
        the capability is then the `caller()` of the call."""
        capability = self.held()
        capability.check(self.target, method, scope)
        _CALLER.set(capability)


class AccessControl:
    """The access layer of one object: its settings, its name (`target`) and its rate
    `limits`. `access_for` decides what a credential allows; `guard` is the router's
    check before every handler."""

    def __init__(self, settings: AccessSettings, target: str | None, limits: Limits) -> None:
        self.settings = settings
        self.target = target
        self.limits = limits

    def access_for(self, token: str | None) -> Access:
        """What a caller holding `token` (None: no credential) may do.

        TokenError (401) or Forbidden `token_widened` (403) for a token that does not
        verify; 503 `auth_not_configured` for a capability token where only the
        operator token is configured. A missing credential is no error here: the
        Access answers for it when something is required."""
        settings = self.settings
        mode = settings.mode
        if mode == OPEN:
            return Access(_EVERYTHING, self.target, key="")
        if mode == CLOSED:
            return Access(None, self.target, key="", missing=settings.not_configured())
        if not token:
            return Access(None, self.target, key="")
        operator = settings.operator_token
        import hmac  # with the first credential, not with every app (ADR 0036)

        if operator and hmac.compare_digest(_octets(token), _octets(operator)):
            return Access(OPERATOR, self.target, key="operator")
        if not settings.secret:
            raise ServiceUnavailable(
                f"Capability tokens need the {settings.secret_binding} secret; "
                f"only the operator token ({settings.operator_binding}) is configured",
                code="auth_not_configured",
            )
        from dotdo.wire.tokens import verify  # with the first token a request carries (ADR 0036)

        capability = verify(token, settings.secret)
        return Access(capability, self.target, key=f"token:{capability.root}")

    def guard(
        self,
        request: HttpRequest,
        route: Route | None,
        access_for: Callable[[str | None], Access] | None = None,
    ) -> Access:
        """The router's check: the request's credential against the route's scope (`read`
        without a route), then the caller's request budget. The Access is kept as
        `request.state["access"]` for the handler. `access_for` is the object's hook
        (default: this layer's own)."""
        allow_query = is_upgrade(request) or (route is not None and route.query_token)
        token = credential(request, allow_query)
        try:
            access = (access_for or self.access_for)(token)
        except Unauthorized as refusal:
            refusal.headers.setdefault("www-authenticate", 'Bearer realm="dotdo", error="invalid_token"')
            raise
        if not access.key:
            access = Access(access.capability, access.target, client_key(request), access.missing)
        scope = route.scope if route is not None else "read"
        # The request as sent, never the route pattern that matched it (the client sent no pattern).
        what = f"{request.method} {request.raw_path}"
        try:
            access.require(scope, what)
        except Unauthorized as refusal:
            sent = (request.header("authorization") or "").strip()
            if token is None and sent and refusal.code == "token_required":
                # A token sent bare (`Authorization: dotdo1...`) or under another scheme is no
                # credential (RFC 6750 section 2.1): say so, or the client looks for the token.
                raise Unauthorized(
                    "A capability token is required; the Authorization header was ignored: it "
                    "holds no Bearer token (send Authorization: Bearer <token>)",
                    code=refusal.code,
                    headers=CHALLENGE,
                ) from None
            if token is None and not allow_query and request.query("token") is not None:
                raise Unauthorized(
                    "A capability token is required; ?token= is accepted only on WebSocket upgrades "
                    "and /capnweb: send it as Authorization: Bearer <token>",
                    code=refusal.code,
                    headers=CHALLENGE,
                ) from None
            raise
        self.limits.admit_request(access.key)
        request.state["access"] = access
        _CALLER.set(access.capability)
        return access

    def announce(self, class_name: str) -> None:
        """Say once per class and isolate (a Python interpreter: `dotdo dev` makes a new one at
        each reload, which says it again) how this object is reached: loudly when anyone
        may do anything (development without a secret) or nobody may (production without
        one), and when the secret is weak."""
        settings = self.settings
        mode = settings.mode
        if (class_name, mode) in _announced:
            return
        _announced.add((class_name, mode))
        if mode == OPEN:
            logger.warning(
                "OPEN ACCESS: %s answers anyone, with every right, on every route and RPC surface: "
                "ENVIRONMENT=development and no %s is set. Set %s before deploying.",
                class_name,
                settings.secret_binding,
                settings.secret_binding,
            )
        elif mode == CLOSED:
            logger.error(
                "auth_not_configured: %s refuses every route but /health (503): no %s is set and "
                "ENVIRONMENT is not development. Set it: npx wrangler secret put %s",
                class_name,
                settings.secret_binding,
                settings.secret_binding,
            )
        else:
            for name, value in (
                (settings.secret_binding, settings.secret),
                (settings.operator_binding, settings.operator_token),
            ):
                if value and len(value) < MIN_SECRET_LENGTH:
                    logger.warning(
                        "%s of %s is shorter than %d characters: use a long random value "
                        "(openssl rand -base64 32)",
                        name,
                        class_name,
                        MIN_SECRET_LENGTH,
                    )


def _octets(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")  # a header may hold anything; compare it all


def credential(request: HttpRequest, allow_query: bool) -> str | None:
    """The credential a request carries: `X-Capability`, else `Authorization: Bearer`,
    else (when `allow_query`) `?token=`; None when there is none. Other
    `Authorization` schemes are no credential of dotdo's."""
    header = (request.header("x-capability") or "").strip()
    if header:
        return header
    scheme, _, value = (request.header("authorization") or "").strip().partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    if allow_query:
        return request.query("token") or None
    return None


def is_upgrade(request: HttpRequest) -> bool:
    """Is `request` a WebSocket upgrade (RFC 6455 §4.1), whose client may not set headers?"""
    return (request.header("upgrade") or "").strip().lower() == "websocket"


def client_key(request: HttpRequest) -> str:
    """The rate key of a caller without a credential: its address as Cloudflare's edge
    reports it (`CF-Connecting-IP`), or one key for every such caller when there is none.
    At most `MAX_KEY_LENGTH` characters, whatever the header holds (a socket keeps its
    key in its attachment)."""
    address = (request.header("cf-connecting-ip") or "").strip()
    if not address:
        return "anonymous"
    try:
        return f"client:{ipaddress.ip_address(address).compressed}"
    except ValueError:  # not from Cloudflare's edge: keep it, bounded
        import hashlib  # only here, not with every app (ADR 0036)

        return "client:#" + hashlib.sha256(_octets(address)).hexdigest()[:32]


def request_access(request: HttpRequest) -> Access:
    """The Access the guard decided for `request` (RuntimeError: the router has no guard)."""
    access = request.state.get("access")
    if not isinstance(access, Access):
        raise RuntimeError("no access guard ran for this request")
    return access
