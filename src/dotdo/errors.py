"""The errors dotdo raises, each with a stable `code`, a message and an HTTP status.

    DotdoError                      base of everything below
    +-- HttpError                   crosses HTTP as {"error": {"code", "message"}}
        +-- BadRequest              400: invalid_json, invalid_key, invalid_params, ...
        +-- Unauthorized            401: unauthorized
        +-- Forbidden               403: forbidden, cors_origin_denied
        +-- NotFound                404: not_found, route_not_found, method_not_found
        +-- MethodNotAllowed        405: method_not_allowed (carries the allowed methods)
        +-- Conflict                409: conflict
        +-- Gone                    410: reference_lost
        +-- PayloadTooLarge         413: payload_too_large, value_too_large
        +-- UpgradeRequired         426: upgrade_required
        +-- TooManyRequests         429: rate_limited
    +-- StepMismatch                a replayed step runs another action than the one recorded

Any other exception that escapes a handler is answered as a 500 `internal_error`
with no detail; its traceback goes to the log.
"""

from __future__ import annotations

from typing import ClassVar

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
    "StepMismatch",
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
        self, message: str, *, code: str | None = None, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.code = code or self.default_code
        self.message = message
        self.headers = {k.lower(): v for k, v in (headers or {}).items()}
        """Headers the response carries (e.g. `Allow`, `WWW-Authenticate`)."""

    def to_dict(self) -> dict[str, dict[str, str]]:
        return {"error": {"code": self.code, "message": self.message}}


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


class StepMismatch(DotdoError):
    """A durable step's record names another action than the one now run under its id.

    The workflow's code changed under a waiting run (steps reordered, added or removed),
    so the recorded result belongs to a different step; returning it would be silently
    wrong. `code` is "step_mismatch"; the message names the step and both actions. A run
    that meets one fails with this message and runs no further step.
    """

    code: ClassVar[str] = "step_mismatch"

    def __init__(self, step_id: str, recorded: str, current: str) -> None:
        super().__init__(f"{self.code}: step {step_id!r} recorded {recorded!r}, now {current!r}")
        self.step_id = step_id
        self.recorded = recorded
        self.current = current
