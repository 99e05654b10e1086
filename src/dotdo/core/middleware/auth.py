"""Bearer-token authentication against a shared secret, compared in constant time."""

from __future__ import annotations

from collections.abc import Collection

from dotdo.core.http import HttpRequest, HttpResponse, error_response
from dotdo.errors import BadRequest, Unauthorized
from dotdo.types import Handler, Middleware

__all__ = ["bearer_auth"]


def bearer_auth(secret: str, *, exempt: Collection[str] = ("/health",)) -> Middleware:
    """Require `Authorization: Bearer <secret>` on every path except `exempt` ones.

    A path is exempt when its segments are those of an `exempt` path, compared as
    the router compares them (so `/health/` and `/%68ealth` are `/health`, and
    `/a%2Fb` is not `/a/b`)."""
    if not secret:
        raise ValueError("bearer_auth needs a non-empty secret")
    expected = secret.encode()
    exempt_segments = {_segments_of(path) for path in exempt}

    def is_exempt(request: HttpRequest) -> bool:
        try:
            return tuple(request.segments) in exempt_segments
        except BadRequest:
            return False  # a path that does not decode is never exempt

    async def middleware(request: HttpRequest, call_next: Handler) -> HttpResponse:
        if request.method == "OPTIONS" or is_exempt(request):
            return await call_next(request)
        scheme, _, token = (request.header("authorization") or "").partition(" ")
        import hmac  # with the first request it guards, not with every app (ADR 0036)

        if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), expected):
            challenge = {"www-authenticate": 'Bearer realm="dotdo"'}
            return error_response(Unauthorized("A valid bearer token is required", headers=challenge))
        request.state["authenticated"] = True
        return await call_next(request)

    return middleware


def _segments_of(path: str) -> tuple[str, ...]:
    """An exempt path's segments; it is written decoded, so it is split, not decoded."""
    stripped = path.strip("/")
    return tuple(stripped.split("/")) if stripped else ()
