"""Capability tokens: HMAC-SHA256 chains that can only be narrowed.

    token = "dotdo1." + b64url(JSON list of caveats) + "." + b64url(signature)

The signature chains HMAC-SHA256 over the caveats: the first is keyed with the
secret, each next one with the signature before it. Whoever holds a token can
append a caveat (`attenuate`) and sign it with the token's own signature, with no
secret; nobody can remove or change a caveat without the secret. The rights a
token grants are what every caveat allows at once; a caveat that asks for more
than the ones before it makes the token invalid (`token_widened`).

A caveat may name: `target` (the object's name, or "*"), `scope` ("read" <
"write" < "admin"), `methods` (allowed method names), `exp` (epoch seconds),
`sub` (the subject, for logs and for the application).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from dotdo.errors import Forbidden, TokenError, Unauthorized
from dotdo.remote.marks import SCOPES
from dotdo.wire.codec import parse_json

__all__ = ["Capability", "TokenError", "access_mode", "attenuate", "authorizer", "mint", "verify"]

PREFIX = "dotdo1"
MAX_TOKEN_LENGTH = 8192
MAX_CAVEATS = 16
_RANK = {scope: i for i, scope in enumerate(SCOPES)}
_KEYS = frozenset({"target", "scope", "methods", "exp", "sub"})


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _canonical(caveat: dict[str, Any]) -> bytes:
    return json.dumps(caveat, sort_keys=True, separators=(",", ":")).encode()


def _chain(secret: bytes, caveats: Sequence[dict[str, Any]]) -> bytes:
    signature = hmac.new(secret, PREFIX.encode(), hashlib.sha256).digest()
    for caveat in caveats:
        signature = hmac.new(signature, _canonical(caveat), hashlib.sha256).digest()
    return signature


def _caveat(
    target: str | None, scope: str | None, methods: Sequence[str] | None, exp: int | None, sub: str | None
) -> dict[str, Any]:
    caveat: dict[str, Any] = {}
    if target is not None:
        caveat["target"] = target
    if scope is not None:
        if scope not in _RANK:
            raise ValueError(f"scope is one of {', '.join(SCOPES)}")
        caveat["scope"] = scope
    if methods is not None:
        caveat["methods"] = sorted(set(methods))
    if exp is not None:
        caveat["exp"] = int(exp)
    if sub is not None:
        caveat["sub"] = sub
    return caveat


def access_mode(secret: str | None, environment: str | None) -> str:
    """How the RPC surfaces answer: "token" with a secret, "open" only in development
    without one, "closed" everywhere else."""
    if secret:
        return "token"
    return "open" if (environment or "").strip().lower() == "development" else "closed"


def authorizer(
    token: str | None,
    secret: str | None,
    environment: str | None,
    target: str | None,
    binding: str = "RPC_SECRET",
) -> Callable[[str, str], None]:
    """Who may call what on the object named `target`: a function (method name, scope
    needed) -> None that raises Forbidden (`token_wrong_target`, `token_scope`,
    `token_method`) for a call the token does not grant.

    By `access_mode`: open, everything is allowed; closed, 403 `rpc_closed` (naming
    the `binding` to set); with a secret, the token must be there (401
    `token_required`) and verify (`verify`'s 401 / 403 codes)."""
    mode = access_mode(secret, environment)
    if mode == "open":
        return _allow_all
    if mode == "closed" or not secret:
        raise Forbidden(
            f"RPC is closed: set the {binding} secret (or run with ENVIRONMENT=development)",
            code="rpc_closed",
        )
    if not token:
        raise Unauthorized("A capability token is required", code="token_required")
    capability = verify(token, secret)

    def authorize(method: str, scope: str) -> None:
        capability.check(target, method, scope)

    return authorize


def _allow_all(method: str, scope: str) -> None:
    return None


def mint(
    secret: str,
    target: str = "*",
    scope: str = "read",
    methods: Sequence[str] | None = None,
    ttl_seconds: int | None = 3600,
    sub: str | None = None,
) -> str:
    """A new token for `target` (an object name, or "*"), signed with `secret`: `scope`
    ("read", "write" or "admin"), `methods` (None: any), expiring `ttl_seconds` from
    now (None: never), `sub` the subject. ValueError without a secret."""
    if not secret:
        raise ValueError("a secret is needed to mint tokens")
    exp = int(time.time()) + ttl_seconds if ttl_seconds is not None else None
    caveats = [_caveat(target, scope, methods, exp, sub)]
    return _encode(caveats, _chain(secret.encode(), caveats))


def attenuate(
    token: str,
    target: str | None = None,
    scope: str | None = None,
    methods: Sequence[str] | None = None,
    ttl_seconds: int | None = None,
    sub: str | None = None,
) -> str:
    """A narrower token from `token`, without the secret: one more caveat, chained, with
    the fields given (`ttl_seconds` from now). ValueError past MAX_CAVEATS caveats;
    TokenError for a malformed `token`. Asking for more than it grants gives a token
    that `verify` refuses (`token_widened`)."""
    caveats, signature = _decode(token)
    if len(caveats) >= MAX_CAVEATS:
        raise ValueError(f"a token has at most {MAX_CAVEATS} caveats")
    exp = int(time.time()) + ttl_seconds if ttl_seconds is not None else None
    caveat = _caveat(target, scope, methods, exp, sub)
    return _encode([*caveats, caveat], hmac.new(signature, _canonical(caveat), hashlib.sha256).digest())


def _encode(caveats: list[dict[str, Any]], signature: bytes) -> str:
    body = json.dumps(caveats, separators=(",", ":")).encode()
    return f"{PREFIX}.{_b64(body)}.{_b64(signature)}"


def _decode(token: Any) -> tuple[list[dict[str, Any]], bytes]:
    if not isinstance(token, str) or len(token) > MAX_TOKEN_LENGTH:
        raise TokenError("Capability token is missing or too long", code="token_malformed")
    parts = token.split(".")
    if len(parts) != 3 or parts[0] != PREFIX:
        raise TokenError("Capability token is malformed", code="token_malformed")
    try:
        caveats = parse_json(_unb64(parts[1]).decode())
        signature = _unb64(parts[2])
    except (ValueError, binascii.Error) as exc:
        raise TokenError("Capability token is malformed", code="token_malformed") from exc
    if (
        not isinstance(caveats, list)
        or not 1 <= len(caveats) <= MAX_CAVEATS
        or not all(isinstance(c, dict) and set(c) <= _KEYS and _well_typed(c) for c in caveats)
    ):
        raise TokenError("Capability token is malformed", code="token_malformed")
    return caveats, signature


def _well_typed(caveat: dict[str, Any]) -> bool:
    """Anyone holding a token can chain a caveat to it, so its values are checked like input."""
    methods = caveat.get("methods", [])
    exp = caveat.get("exp", 0)
    return (
        all(isinstance(caveat.get(key, ""), str) for key in ("target", "scope", "sub"))
        and caveat.get("scope", "read") in _RANK
        and isinstance(methods, list)
        and all(isinstance(method, str) for method in methods)
        and isinstance(exp, int)
        and not isinstance(exp, bool)
    )


@dataclass(frozen=True)
class Capability:
    """What a verified token allows."""

    target: str
    scope: str
    methods: frozenset[str] | None
    exp: int | None
    sub: str | None

    def check(self, target: str | None, method: str, scope: str) -> None:
        """Forbidden (403) unless this capability allows `method` (needing `scope`) on `target`."""
        if self.target != "*" and self.target != (target or ""):
            raise Forbidden("Capability token is for another object", code="token_wrong_target")
        if _RANK[scope] > _RANK[self.scope]:
            raise Forbidden(
                f"{method} needs the {scope} scope; the token grants {self.scope}", code="token_scope"
            )
        if self.methods is not None and method not in self.methods:
            raise Forbidden(f"Capability token does not grant {method}", code="token_method")


def verify(token: Any, secret: str, now: float | None = None) -> Capability:
    """Check the signature chain (in constant time), expiry and narrowing; the rights granted.

    `now` is epoch seconds (the clock's when None). TokenError (401) `token_malformed`,
    `token_invalid` (signature), `token_expired`; Forbidden (403) `token_widened`."""
    caveats, signature = _decode(token)
    if not hmac.compare_digest(_chain(secret.encode(), caveats), signature):
        raise TokenError("Capability token signature does not match", code="token_invalid")
    target, scope, methods, exp, sub = "*", "admin", None, None, None
    for index, caveat in enumerate(caveats):
        widened = _widens(caveat, target, scope, methods, exp, sub) if index else None
        if widened:
            raise Forbidden(f"Capability token caveat {index} widens {widened}", code="token_widened")
        target = caveat.get("target", target)
        scope = caveat.get("scope", scope)
        if "methods" in caveat:
            methods = frozenset(caveat["methods"])
        exp = caveat.get("exp", exp)
        sub = caveat.get("sub", sub)
    if exp is not None and (now if now is not None else time.time()) >= exp:
        raise TokenError("Capability token has expired", code="token_expired")
    return Capability(str(target), str(scope), methods, exp, sub)


def _widens(
    caveat: dict[str, Any],
    target: str,
    scope: str,
    methods: frozenset[str] | None,
    exp: int | None,
    sub: str | None,
) -> str | None:
    if "target" in caveat and target != "*" and caveat["target"] != target:
        return "the target"
    if "scope" in caveat and _RANK.get(caveat["scope"], 99) > _RANK[scope]:
        return "the scope"
    if "methods" in caveat and methods is not None and not set(caveat["methods"]) <= methods:
        return "the methods"
    if "exp" in caveat and exp is not None and caveat["exp"] > exp:
        return "the expiry"
    if "sub" in caveat and sub is not None and caveat["sub"] != sub:
        return "the subject"
    return None
