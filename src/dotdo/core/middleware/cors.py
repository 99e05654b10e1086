"""CORS from an origin allowlist.

`ALLOWED_ORIGINS` is a comma-separated list of exact origins
(`https://app.example.com`), or `*` for any origin without credentials. When
`ENVIRONMENT` is `development`, origins on localhost / 127.0.0.1 / *.localhost
are allowed as well. An allowed origin is echoed back (never `*` together with
credentials); every answer carries `Vary: Origin`; a preflight from an origin
that is not allowed gets a 403.

Header names are case-insensitive (RFC 9110 section 5.1): an answer's own `Vary` or
`Access-Control-*` header is the one this middleware merges or replaces whatever its case,
renamed to lower case, so the runtime never sends two of one header joined
(`Access-Control-Allow-Origin: http://evil, http://localhost:3000`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from dotdo.core.fields import COMMON_NAMES
from dotdo.core.http import HttpRequest, HttpResponse, error_response
from dotdo.errors import Forbidden
from dotdo.types import Handler, Middleware

__all__ = ["CorsPolicy", "cors"]

DEFAULT_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
DEFAULT_HEADERS = ("authorization", "content-type", "if-match", "if-none-match", "x-capability")
_LOCAL_HOSTS = re.compile(r"^(localhost|127\.0\.0\.1|\[::1\]|[a-z0-9-]+(\.[a-z0-9-]+)*\.localhost)$")


@dataclass(frozen=True)
class CorsPolicy:
    """Which origins may call, and what a preflight allows: exact `origins` (lower-case),
    `any_origin` (`*`, never with credentials), `allow_localhost` (development), the
    `methods` and `headers` a preflight grants, `credentials`, the preflight's
    `max_age` (seconds) and the `expose_headers` a script may read."""

    origins: frozenset[str] = frozenset()
    any_origin: bool = False
    allow_localhost: bool = False
    methods: tuple[str, ...] = DEFAULT_METHODS
    headers: tuple[str, ...] = DEFAULT_HEADERS
    credentials: bool = True
    max_age: int = 600
    expose_headers: tuple[str, ...] = field(default=("etag", "retry-after"))

    @classmethod
    def from_env(cls, allowed_origins: str | None, environment: str | None) -> CorsPolicy:
        """The policy `ALLOWED_ORIGINS` (comma-separated, `*` for any) and `ENVIRONMENT` say."""
        entries = [o.strip().rstrip("/") for o in (allowed_origins or "").split(",") if o.strip()]
        return cls(
            origins=frozenset(o.lower() for o in entries if o != "*"),
            any_origin="*" in entries,
            allow_localhost=(environment or "").strip().lower() == "development",
        )

    def allows(self, origin: str) -> bool:
        """May `origin` (an `Origin` header's value) call?"""
        origin = origin.lower()
        if self.any_origin or origin in self.origins:
            return True
        if self.allow_localhost:
            parts = urlsplit(origin)
            return parts.scheme in ("http", "https") and bool(_LOCAL_HOSTS.match(parts.hostname or ""))
        return False


def _own_names(headers: dict[str, str]) -> None:
    """`headers` with a `Vary` or `Access-Control-*` name of another case renamed to lower
    case (the answer checks let no header through twice), which this middleware then finds."""
    for name in [name for name in headers if name not in COMMON_NAMES]:
        lower = name.lower()
        if lower != name and (lower == "vary" or lower.startswith("access-control-")):
            value = headers.pop(name)
            headers[lower] = f"{headers[lower]}, {value}" if lower in headers else value


def _vary(response: HttpResponse) -> None:
    if "vary" not in response.headers:
        response.headers["vary"] = "Origin"  # what the general case below gives: most answers
        return
    existing = [v.strip() for v in response.headers.get("vary", "").split(",") if v.strip()]
    if "origin" not in (v.lower() for v in existing):
        existing.append("Origin")
    response.headers["vary"] = ", ".join(existing)


def _allow_origin_headers(policy: CorsPolicy, origin: str, response: HttpResponse) -> None:
    if policy.any_origin and origin.lower() not in policy.origins:
        # A wildcard answer never goes together with credentials.
        response.headers["access-control-allow-origin"] = "*"
    else:
        response.headers["access-control-allow-origin"] = origin
        if policy.credentials:
            response.headers["access-control-allow-credentials"] = "true"


def cors(policy: CorsPolicy) -> Middleware:
    """Middleware answering preflights (204, or 403 `cors_origin_denied`) and adding the
    allow-origin headers to every answer to an allowed origin, by `policy`."""

    async def middleware(request: HttpRequest, call_next: Handler) -> HttpResponse:
        origin = request.header("origin")
        preflight = request.method == "OPTIONS" and request.header("access-control-request-method")
        if preflight:
            if not origin or not policy.allows(origin):
                response = error_response(
                    Forbidden(f"Origin {origin!r} is not allowed", code="cors_origin_denied")
                )
                _vary(response)
                return response
            response = HttpResponse(status=204)
            _allow_origin_headers(policy, origin, response)
            response.headers["access-control-allow-methods"] = ", ".join(policy.methods)
            requested = request.header("access-control-request-headers")
            response.headers["access-control-allow-headers"] = requested or ", ".join(policy.headers)
            response.headers["access-control-max-age"] = str(policy.max_age)
            _vary(response)
            return response
        response = await call_next(request)
        for name in response.headers:
            if name not in COMMON_NAMES:  # the usual answer's names are all lower case: no call
                _own_names(response.headers)
                break
        if origin and policy.allows(origin):
            _allow_origin_headers(policy, origin, response)
            if policy.expose_headers:
                response.headers["access-control-expose-headers"] = ", ".join(policy.expose_headers)
        _vary(response)
        return response

    return middleware
