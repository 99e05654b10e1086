"""The errors dotdo raises, each with a stable `code`, a message and an HTTP status.

    DotdoError                      base of everything below
    +-- HttpError                   crosses HTTP as {"error": {"code", "message"}}
        +-- BadRequest              400: invalid_json, invalid_key, invalid_params, ...
        +-- Unauthorized            401: unauthorized
        +-- Forbidden               403: forbidden, cors_origin_denied
        +-- NotFound                404: not_found, route_not_found, method_not_found, unknown_noun
        +-- MethodNotAllowed        405: method_not_allowed (carries the allowed methods)
        +-- Conflict                409: conflict
        +-- Gone                    410: reference_lost
        +-- PayloadTooLarge         413: payload_too_large, value_too_large
        +-- UpgradeRequired         426: upgrade_required
        +-- TooManyRequests         429: rate_limited

Any other exception that escapes a handler is answered as a 500 `internal_error`
with no detail; its traceback goes to the log.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

__all__ = [
    "BadRequest",
    "Conflict",
    "DotdoError",
    "Forbidden",
    "Gone",
    "HttpError",
    "MethodNotAllowed",
    "NotFound",
    "PayloadTooLarge",
    "TooManyRequests",
    "Unauthorized",
    "UpgradeRequired",
]


class DotdoError(Exception):
    """Base class of every error dotdo raises on purpose."""


class HttpError(DotdoError):
    """An error with an HTTP status and a stable machine-readable code."""

    status: ClassVar[int] = 500
    default_code: ClassVar[str] = "internal_error"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        headers: dict[str, str] | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code or self.default_code
        self.message = message
        self.headers = {k.lower(): v for k, v in (headers or {}).items()}
        """Headers the response carries (e.g. `Allow`, `WWW-Authenticate`)."""
        self.details: dict[str, Any] = dict(details or {})
        """JSON fields the error object carries beside `code` and `message` (e.g. `suggestion`)."""

    def to_dict(self) -> dict[str, dict[str, Any]]:
        """`{"error": {"code", "message", **details}}`, as every surface answers it."""
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        error.update((key, value) for key, value in self.details.items() if key not in error)
        return {"error": error}


class BadRequest(HttpError):
    status = 400
    default_code = "bad_request"


class Unauthorized(HttpError):
    status = 401
    default_code = "unauthorized"


class Forbidden(HttpError):
    status = 403
    default_code = "forbidden"


class NotFound(HttpError):
    status = 404
    default_code = "not_found"


class MethodNotAllowed(HttpError):
    status = 405
    default_code = "method_not_allowed"

    def __init__(self, message: str, *, allowed: list[str], code: str | None = None) -> None:
        super().__init__(message, code=code, headers={"allow": ", ".join(allowed)})
        self.allowed = allowed


class Conflict(HttpError):
    status = 409
    default_code = "conflict"


class Gone(HttpError):
    status = 410
    default_code = "gone"


class PayloadTooLarge(HttpError):
    status = 413
    default_code = "payload_too_large"


class UpgradeRequired(HttpError):
    status = 426
    default_code = "upgrade_required"


class TooManyRequests(HttpError):
    status = 429
    default_code = "rate_limited"
