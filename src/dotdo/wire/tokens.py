"""Capability tokens: HMAC-SHA256 chains that can only be narrowed.

    token = "dotdo1." + b64url(JSON list of caveats) + "." + b64url(signature)

The signature chains HMAC-SHA256 over the caveats: the first is keyed with the
secret, each next one with the signature before it. Whoever holds a token can
append a caveat (`attenuate`) and sign it with the token's own signature, with no
secret; nobody can remove or change a caveat without the secret. The rights a
token grants are what every caveat allows at once; a caveat that asks for more
than the ones before it makes the token invalid (`token_widened`).

A caveat may name: `target` (the object's name, or "*"; a tenant's covers its thing objects,
`tenant/Type/id`, so a tenant's token narrows to one of them), `scope` ("read" <
"write" < "approve" < "admin"), `methods` (allowed method names), `exp` (epoch seconds),
`sub` (the subject, for logs, approvals and the application). A subject is an identity,
not a right: only the minted (first) caveat sets it, and a later caveat that names
another subject, or one where the token had none, widens the token (`token_widened`):
otherwise a token without a subject could be attenuated into any approver.

Whoever holds a token can also try secrets offline against it, so the secret must
be long and random (at least 32 bytes: `openssl rand -base64 32`). The access
layer that decides with these tokens is `dotdo.core.access` (ADR 0018); the
public names are `dotdo.mint_token`, `attenuate_token`, `verify_token` and
`inspect_token`.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from collections.abc import Sequence
from typing import Any

from dotdo.errors import Forbidden, TokenError
from dotdo.remote.marks import SCOPES
from dotdo.remote.names import OBJECT_NAME_RULE, covers, is_object_name
from dotdo.wire.capability import SCOPE_RANK as _RANK
from dotdo.wire.capability import Capability
from dotdo.wire.codec import parse_json

__all__ = ["Capability", "TokenError", "attenuate", "inspect", "mint", "verify"]

PREFIX = "dotdo1"
MAX_TOKEN_LENGTH = 8192
MAX_CAVEATS = 16
_KEYS = frozenset({"target", "scope", "methods", "exp", "sub"})


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _canonical(caveat: dict[str, Any]) -> bytes:
    return json.dumps(caveat, sort_keys=True, separators=(",", ":")).encode()


def _chain(secret: bytes, caveats: Sequence[dict[str, Any]]) -> bytes:
    # hmac and hashlib load with the first token handled, not with every app: an app whose
    # requests carry no token never pays for them (~8 ms of a cold start under Pyodide,
    # ADR 0036); this module's other functions import them likewise.
    import hashlib
    import hmac

    signature = hmac.new(secret, PREFIX.encode(), hashlib.sha256).digest()
    for caveat in caveats:
        signature = hmac.new(signature, _canonical(caveat), hashlib.sha256).digest()
    return signature


def _caveat(
    target: str | None, scope: str | None, methods: Sequence[str] | None, exp: int | None, sub: str | None
) -> dict[str, Any]:
    caveat: dict[str, Any] = {}
    if target is not None:
        # A target no object can have (`ACME`, `acme.`) would make a token every object
        # refuses as `token_wrong_target`, found only when it is used.
        if target != "*" and not is_object_name(target):
            raise ValueError(f"target is {OBJECT_NAME_RULE}, or '*' for every tenant; not {target!r:.80}")
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


def mint(
    secret: str,
    target: str = "*",
    scope: str = "read",
    methods: Sequence[str] | None = None,
    ttl_seconds: int | None = 3600,
    sub: str | None = None,
) -> str:
    """A new token (`dotdo1.<caveats>.<signature>`, ASCII) for `target` (an object's
    name, i.e. the tenant, or "*" for every object), signed with `secret`.

    `scope` is "read", "write", "approve" or "admin"; `methods` limits it to those RPC method
    names (a token with `methods` reaches no REST route); `ttl_seconds` is its
    lifetime from now (None: it never expires); `sub` names the holder for logs and
    the application. A deployment-wide operator token is
    `mint(secret, target="*", scope="admin", ttl_seconds=None)`. ValueError for an
    empty secret, a target that is neither "*" nor an object's name (a tenant, a host name
    label such as `acme`; or a thing's `Type/id`), or an unknown scope."""
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
    """A narrower token from `token`, without the secret: one more caveat, chained.

    Each argument given narrows one right (None leaves it as it is); asking for more
    than the token has makes it invalid when it is used (403 `token_widened`). `sub`
    may only repeat the token's own subject: a subject is an identity, not a right, so
    attenuation never sets or changes it; Forbidden (403) `token_widened` at once for
    another one. TokenError `token_malformed` for a string that is no token; ValueError
    past MAX_CAVEATS caveats, for a target that is neither "*" nor an object's name (as
    `mint`), or an unknown scope."""
    caveats, signature = _decode(token)
    if len(caveats) >= MAX_CAVEATS:
        raise ValueError(f"a token has at most {MAX_CAVEATS} caveats")
    if sub is not None:
        held = _fold(caveats)[0].sub
        if sub != held:
            named = "has no subject" if held is None else f"is for {held!r}"
            raise Forbidden(
                f"Capability token {named}: attenuation keeps a token's subject (an identity, "
                f"not a right), so it cannot name {sub!r}",
                code="token_widened",
            )
    exp = int(time.time()) + ttl_seconds if ttl_seconds is not None else None
    caveat = _caveat(target, scope, methods, exp, sub)
    import hashlib
    import hmac

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


def verify(token: Any, secret: str, now: float | None = None) -> Capability:
    """Check the signature chain (in constant time), expiry and narrowing; the rights granted.

    `now` is epoch seconds (the clock's when None). TokenError (401) `token_malformed`,
    `token_invalid` (the signature), `token_expired`; Forbidden (403) `token_widened` (a
    caveat asks for more than the ones before it)."""
    import hashlib
    import hmac

    caveats, signature = _decode(token)
    if not hmac.compare_digest(_chain(secret.encode(), caveats), signature):
        raise TokenError("Capability token signature does not match", code="token_invalid")
    rights, widened = _fold(caveats)
    if widened is not None:
        raise Forbidden(f"Capability token caveat {widened[0]} widens {widened[1]}", code="token_widened")
    if rights.exp is not None and (now if now is not None else time.time()) >= rights.exp:
        raise TokenError("Capability token has expired", code="token_expired")
    first_link = _chain(secret.encode(), caveats[:1])
    root = hashlib.sha256(first_link).hexdigest()[:32]
    return Capability(rights.target, rights.scope, rights.methods, rights.exp, rights.sub, root)


def inspect(token: Any, now: float | None = None) -> dict[str, Any]:
    """What a token says, without the secret: its signature is NOT checked.

    `{"caveats": [...], "target", "scope", "methods" (sorted, or None), "exp", "sub",
    "expired": bool, "widened": None or "caveat <n> widens the <right>"}`, the rights
    folded as `verify` folds them. For operators and tools (`dotdo token inspect`);
    never a reason to trust a token. TokenError `token_malformed` for a string that
    is no token."""
    caveats, _ = _decode(token)
    rights, widened = _fold(caveats)
    moment = now if now is not None else time.time()
    return {
        "caveats": caveats,
        "target": rights.target,
        "scope": rights.scope,
        "methods": None if rights.methods is None else sorted(rights.methods),
        "exp": rights.exp,
        "sub": rights.sub,
        "expired": rights.exp is not None and moment >= rights.exp,
        "widened": None if widened is None else f"caveat {widened[0]} widens {widened[1]}",
    }


def _fold(caveats: list[dict[str, Any]]) -> tuple[Capability, tuple[int, str] | None]:
    """The rights every caveat grants at once, and the first caveat that widens them."""
    target, scope, methods, exp, sub = "*", "admin", None, None, None
    for index, caveat in enumerate(caveats):
        widened = _widens(caveat, target, scope, methods, exp, sub) if index else None
        if widened:
            return Capability(str(target), str(scope), methods, exp, sub), (index, widened)
        target = caveat.get("target", target)
        scope = caveat.get("scope", scope)
        if "methods" in caveat:
            methods = frozenset(caveat["methods"])
        exp = caveat.get("exp", exp)
        sub = caveat.get("sub", sub)
    return Capability(str(target), str(scope), methods, exp, sub), None


def _widens(
    caveat: dict[str, Any],
    target: str,
    scope: str,
    methods: frozenset[str] | None,
    exp: int | None,
    sub: str | None,
) -> str | None:
    if "target" in caveat and not covers(target, caveat["target"]):
        return "the target"
    if "scope" in caveat and _RANK.get(caveat["scope"], 99) > _RANK[scope]:
        return "the scope"
    if "methods" in caveat and methods is not None and not set(caveat["methods"]) <= methods:
        return "the methods"
    if "exp" in caveat and exp is not None and caveat["exp"] > exp:
        return "the expiry"
    # The subject is no right to narrow: a later caveat may only repeat it (None included,
    # so a token minted for no one cannot be made into an approver's token).
    if "sub" in caveat and caveat["sub"] != sub:
        return "the subject"
    return None
