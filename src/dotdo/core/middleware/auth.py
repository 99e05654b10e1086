"""Bearer-token authentication against a shared secret, compared in constant time."""

from __future__ import annotations

import hmac
from collections.abc import Collection

from dotdo.core.http import HttpRequest, HttpResponse, error_response
from dotdo.errors import Unauthorized
from dotdo.types import Handler, Middleware

__all__ = ["bearer_auth"]


def bearer_auth(secret: str, *, exempt: Collection[str] = ("/health",)) -> Middleware:
    """Require `Authorization: Bearer <secret>` on every path except `exempt` ones."""
    if not secret:
        raise ValueError("bearer_auth needs a non-empty secret")
    expected = secret.encode()

    async def middleware(request: HttpRequest, call_next: Handler) -> HttpResponse:
        if request.path in exempt or request.method == "OPTIONS":
            return await call_next(request)
        scheme, _, token = (request.header("authorization") or "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), expected):
            challenge = {"www-authenticate": 'Bearer realm="dotdo"'}
            return error_response(Unauthorized("A valid bearer token is required", headers=challenge))
        request.state["authenticated"] = True
        return await call_next(request)

    return middleware
