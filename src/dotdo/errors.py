"""Every exception class of dotdo, in one tree; each HTTP error has a stable `code`,
a message and a status.

    DotdoError                          base of every error dotdo raises on purpose
    +-- HttpError                       crosses HTTP as {"error": {"code", "message"}}
    |   +-- BadRequest                  400: invalid_json, invalid_key, invalid_params, ...
    |   |   +-- InvalidTenant           400 invalid_tenant, tenant_prefix_refused; a ValueError too
    |   |   +-- CronError               400 invalid_schedule, and a ValueError (cron, every, time zones)
    |   |   +-- QueryValidationError    400 invalid_where (where clauses, order, projection), query_too_costly
    |   |   +-- InvalidMessage          (internal) 400 invalid_message on /ws/rpc, with the caller's id
    |   |   +-- SqlSecurityError        400 invalid_sql, query_too_costly, query_failed (read-only query)
    |   |   +-- ArgumentError           (internal) 400 invalid_params of one argument, renamed by a route
    |   +-- Unauthorized                401: unauthorized, token_required (with WWW-Authenticate)
    |   |   +-- TokenError              401 token_malformed, token_invalid, token_expired
    |   +-- Forbidden                   403: forbidden, cors_origin_denied, token_wrong_target,
    |   |                                    token_scope, token_method, token_widened, foreign_object
    |   +-- NotFound                    404: not_found, route_not_found, method_not_found, unknown_noun
    |   +-- MethodNotAllowed            405: method_not_allowed (carries the allowed methods)
    |   +-- Conflict                    409: conflict, version_conflict, workflow_conflict,
    |   |                                    schedule_declared
    |   +-- Gone                        410: reference_lost
    |   +-- PreconditionFailed          412: precondition_failed (carries the current version)
    |   +-- PayloadTooLarge             413: payload_too_large, value_too_large
    |   +-- UpgradeRequired             426: upgrade_required
    |   +-- TooManyRequests             429: rate_limited, ai_budget_exhausted (with Retry-After)
    |   +-- ServiceUnavailable          503: auth_not_configured, ai_unavailable, ai_invalid_output
    +-- StepFailed                      a durable step failed for good (no retries left)
    +-- StepMismatch                    step_mismatch: a replayed step runs another action than recorded
    +-- ApprovalExpired                 approval_expired: a workflow's wait_for_approval ran out of time
    +-- EventWaitExpired                event_wait_expired: a workflow's wait_for_event ran out of time
    +-- FanOutFailed                    a fan-out's merge found no answer (first, quorum, strict gather)
    +-- RpcError                        the Python client: an error the server answered, with its code
    +-- LocalRuntimeError               the dotdo command, dotdo.testing: what stops the local runtime
    +-- PipelineFailure                 (internal) a pipeline's HttpError and the step that raised it
    +-- ProtocolError                   (internal) a Cap'n Web message the protocol forbids: session aborted
    +-- HandlerTimeout                  (internal) a handler ran past handler_timeout (also a TimeoutError)
    +-- AppRaised                       (internal) app code raised SystemExit or the like: its failure
    +-- ProviderError                   (internal) an AI provider did not answer: the next model is tried
    +-- InvalidOutput                   (internal) a model's answer is not the JSON its schema asks for
    +-- IntegerTooLong                  (internal) JSON with an integer past 4,300 digits (a ValueError too)
    +-- ConstantNotJson                 (internal) JSON with NaN or Infinity (a ValueError too)

Control-flow signals derive from BaseException, so that `except Exception` in
application code cannot swallow them; they never reach a caller:

    Suspend                             a workflow run waits for its next attempt (workflows/steps.py)
    WritesNeeded                        work tried without a transaction wrote: run it in one (core/sql.py)

Any other exception that escapes a handler is answered as a 500 `internal_error`
with no detail; its traceback goes to the log. With ENVIRONMENT=development the
message names the exception, on HTTP routes and every RPC surface alike (the
function `internal_error` words it). "(internal)" classes never leave the framework
and are not exported from `dotdo`; every other one is.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, ClassVar

from dotdo.hints import internal_error

__all__ = [
    "AppRaised",
    "ApprovalExpired",
    "BadRequest",
    "Conflict",
    "CronError",
    "DotdoError",
    "EventWaitExpired",
    "FanOutFailed",
    "Forbidden",
    "Gone",
    "HandlerTimeout",
    "HttpError",
    "InvalidTenant",
    "LocalRuntimeError",
    "MethodNotAllowed",
    "NotFound",
    "PayloadTooLarge",
    "PipelineFailure",
    "PreconditionFailed",
    "ProtocolError",
    "QueryValidationError",
    "RpcError",
    "ServiceUnavailable",
    "SqlSecurityError",
    "StepFailed",
    "StepMismatch",
    "TokenError",
    "TooManyRequests",
    "Unauthorized",
    "UpgradeRequired",
    "internal_error",
]


class DotdoError(Exception):
    """Base class of every error dotdo raises on purpose."""


class HttpError(DotdoError):
    """An error with an HTTP status and a stable machine-readable code.

    `message` is for people; `code` (default `default_code`) is what a program
    matches on; `headers` go on the response (names lower-cased, each once); `details` are
    extra JSON fields of the error object (never `code` or `message`).

    Every surface sends it as it is (HTTP, `/rpc`, `/ws/rpc`, Cap'n Web, a socket's error
    frame), so what none could send (`message` or `code` no str, `details` no plain JSON:
    `dotdo.values.error_fault`, a header name no str or given twice in two cases) is a
    TypeError here, a failure of the server's own answered 500 `internal_error`. The
    headers' values, which HTTP alone sends, are checked where it answers. A subclass's
    `status` is an int from 400 to 599, checked when the class is defined: an error class
    answering 200, or a status no surface can send, is no error class.
    """

    status: ClassVar[int] = 500
    default_code: ClassVar[str] = "internal_error"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        status: Any = cls.status
        if isinstance(status, bool) or not isinstance(status, int):
            raise TypeError(
                f"{cls.__qualname__}.status is {status!r}: an HttpError's status is an int "
                "from 400 to 599 (status = 418)"
            )
        if not 400 <= status <= 599:
            success = "; a success is answered, not raised: return HttpResponse(...)" if status < 400 else ""
            raise ValueError(
                f"{cls.__qualname__}.status is {status}: an HttpError's status is an int from "
                f"400 to 599 (a 4xx for the client's mistake, a 5xx for the server's){success}"
            )

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
        from dotdo.values import error_fault, lowered_headers  # dotdo.values imports this module

        try:
            self.headers = lowered_headers(headers) if headers else {}
            """Headers the response carries (e.g. `Allow`, `WWW-Authenticate`)."""
        except TypeError as error:
            raise TypeError(f"{type(self).__name__}({message!r}) cannot be sent: its {error}") from None
        self.details: dict[str, Any] = dict(details or {})
        """JSON fields the error object carries beside `code` and `message` (e.g. `suggestion`)."""
        wrong = error_fault(message, self.code, self.details)
        if wrong is not None:
            raise TypeError(f"{type(self).__name__}({message!r}) cannot be sent: {wrong}")

    def to_dict(self) -> dict[str, dict[str, Any]]:
        """`{"error": {"code", "message", **details}}`, as every surface answers it."""
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        error.update((key, value) for key, value in self.details.items() if key not in error)
        return {"error": error}


class BadRequest(HttpError):
    """400: the request itself is wrong (a body, a parameter, a name); fix it and retry."""

    status = 400
    default_code = "bad_request"


class InvalidTenant(BadRequest, ValueError):
    """A host whose tenant label is not a host name label, 1-63 of a-z, 0-9 and `-` starting and
    ending with a letter or digit (400 `invalid_tenant`)."""

    default_code: ClassVar[str] = "invalid_tenant"


class CronError(BadRequest, ValueError):
    """A cron expression, `every` schedule, time of day or time zone that is not valid,
    with what is wrong with it (400 `invalid_schedule` when it reaches a caller)."""

    default_code: ClassVar[str] = "invalid_schedule"


class QueryValidationError(BadRequest):
    """A where clause, order or projection that cannot be run (400 `invalid_where`), or
    whose answer needs more of a residual's walk than a request reads (400
    `query_too_costly`, ADR 0059)."""

    default_code: ClassVar[str] = "invalid_where"


class SqlSecurityError(BadRequest):
    """SQL that the read-only query API refuses: 400 `invalid_sql` (not one read-only SELECT
    of visible tables), `query_too_costly` (work the text multiplies, ADR 0055) or
    `query_failed` (SQLite's own refusal)."""

    default_code: ClassVar[str] = "invalid_sql"


class Unauthorized(HttpError):
    """401: no credentials, or ones that are not accepted (RFC 9110 §15.5.2)."""

    status = 401
    default_code = "unauthorized"


class TokenError(Unauthorized):
    """A capability token that is malformed, tampered with or expired (401)."""

    default_code: ClassVar[str] = "token_invalid"


class Forbidden(HttpError):
    """403: the caller is known but may not do this (a token's scope, a CORS origin)."""

    status = 403
    default_code = "forbidden"


class NotFound(HttpError):
    """404: no such thing, route, method or noun."""

    status = 404
    default_code = "not_found"


class MethodNotAllowed(HttpError):
    """405 (RFC 9110 §15.5.6): the path exists but not for this method; `allowed`
    (method names) goes out as the `Allow` header. `message` and `code` as HttpError's."""

    status = 405
    default_code = "method_not_allowed"

    def __init__(self, message: str, *, allowed: list[str], code: str | None = None) -> None:
        super().__init__(message, code=code, headers={"allow": ", ".join(allowed)})
        self.allowed = allowed


class Conflict(HttpError):
    """409: the request clashes with the current state (an existing id, a version, a running workflow)."""

    status = 409
    default_code = "conflict"


class Gone(HttpError):
    """410: something that existed is no longer there (a Cap'n Web reference made before
    the object hibernated)."""

    status = 410
    default_code = "gone"


class PreconditionFailed(HttpError):
    """412 (RFC 9110 §15.5.13): a conditional request's `If-Match` or `If-None-Match`
    was false, so nothing was done. The body's error carries `current_version`, the
    version the thing has now (`null` when there is none); `message`, `code` and
    `headers` (its `ETag`) as HttpError's."""

    status = 412
    default_code = "precondition_failed"

    def __init__(
        self,
        message: str,
        *,
        current_version: int | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message, code=code, headers=headers)
        self.current_version = current_version

    def to_dict(self) -> dict[str, dict[str, Any]]:
        """The error body with `current_version` (an int, or `None`) beside `code` and `message`."""
        body = super().to_dict()
        body["error"]["current_version"] = self.current_version
        return body


class PayloadTooLarge(HttpError):
    """413: a body or a stored value past its size bound."""

    status = 413
    default_code = "payload_too_large"


class UpgradeRequired(HttpError):
    """426: a WebSocket route reached without `Upgrade: websocket` (RFC 9110 §15.5.22)."""

    status = 426
    default_code = "upgrade_required"


class TooManyRequests(HttpError):
    """429 (RFC 6585 §4): too many requests or socket messages for the caller's budget.

    `message` and `code` as every HttpError's; `retry_after` (seconds) becomes the
    `Retry-After` header (RFC 9110 §10.2.3, whole seconds, at least 1) and the error's
    `retry_after` field, so socket messages, which have no headers, carry it too."""

    status = 429
    default_code = "rate_limited"

    def __init__(self, message: str, *, retry_after: float | None = None, code: str | None = None) -> None:
        seconds = None if retry_after is None else max(1, math.ceil(retry_after))
        super().__init__(
            message,
            code=code,
            headers=None if seconds is None else {"retry-after": str(seconds)},
            details=None if seconds is None else {"retry_after": seconds},
        )
        self.retry_after = seconds


class ServiceUnavailable(HttpError):
    """503: the object cannot serve the request as it is configured (`auth_not_configured`:
    a production deployment with no secret, whose routes stay closed until one is set)."""

    status = 503
    default_code = "service_unavailable"


class StepFailed(DotdoError):
    """A durable step failed for good (no retries left): `step_id` names it, `message`
    is the last attempt's error (kept as `error`)."""

    def __init__(self, step_id: str, message: str) -> None:
        super().__init__(f"step {step_id!r} failed: {message}")
        self.step_id = step_id
        self.error = message


class StepMismatch(DotdoError):
    """A durable step's record names another action than the one now run under its id.

    The workflow's code changed under a waiting run (steps reordered, added or removed),
    so the recorded result belongs to a different step; returning it would be silently
    wrong. `code` is "step_mismatch"; the message names the step (`step_id`) and both
    actions (`recorded`, `current`). A run that meets one fails with this message and
    runs no further step.
    """

    code: ClassVar[str] = "step_mismatch"

    def __init__(self, step_id: str, recorded: str, current: str) -> None:
        super().__init__(f"{self.code}: step {step_id!r} recorded {recorded!r}, now {current!r}")
        self.step_id = step_id
        self.recorded = recorded
        self.current = current


class ApprovalExpired(DotdoError):
    """What `wait_for_approval` raises in a workflow when its approval expired with no one
    left to escalate to (DOFull). The workflow may catch it and go on; uncaught, the run
    fails with its message. `code` is "approval_expired"; `approval_id` names the approval
    that expired last, `name` the approval's name."""

    code: ClassVar[str] = "approval_expired"

    def __init__(self, approval_id: str, name: str) -> None:
        super().__init__(f"{self.code}: approval {approval_id!r} ({name}) expired undecided")
        self.approval_id = approval_id
        self.name = name


class EventWaitExpired(DotdoError):
    """What `wait_for_event` raises in a workflow when no matching event came in time
    (DOFull); catchable like ApprovalExpired. `code` is "event_wait_expired"; `pattern`
    is the event pattern waited for."""

    code: ClassVar[str] = "event_wait_expired"

    def __init__(self, pattern: str) -> None:
        super().__init__(f"{self.code}: no {pattern} event came in time")
        self.pattern = pattern


class FanOutFailed(DotdoError):
    """A merge helper of a fan-out's result found no answer: `first` (no target
    succeeded), `quorum` (too few agreed), `gather(strict=True)` (some target failed).
    `result` is the whole `FanOutResult`, every target's outcome in it."""

    def __init__(self, message: str, result: Any) -> None:
        """`message` says what was missing; `result` is the fan-out it was missing from."""
        super().__init__(message)
        self.result = result


class RpcError(DotdoError):
    """An error answered by the server to the Python client (`dotdo.client`): its stable
    `code`, message, HTTP status and, for pipelines, the failing step."""

    def __init__(self, code: str, message: str, status: int | None = None, step: int | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.step = step


class LocalRuntimeError(DotdoError):
    """What stops the `dotdo` command or `dotdo.testing` from serving a project: Node missing or
    too old, an npm or vendoring failure, a Durable Object class bound without its migration, a
    server that did not start. The message is one line a user can act on."""


class PipelineFailure(DotdoError):
    """A pipeline that failed: the HttpError to answer (`error`) and the step that raised
    it (`step`, a 0-based index into the pipeline's steps; `None` before the first)."""

    def __init__(self, error: HttpError, step: int | None) -> None:
        super().__init__(error.message)
        self.error = error
        self.step = step

    def to_dict(self) -> dict[str, Any]:
        """The error object (not wrapped in `{"error": ...}`) with `step` when it is known."""
        body: dict[str, Any] = self.error.to_dict()["error"]
        if self.step is not None:
            body["step"] = self.step
        return body


class ProtocolError(DotdoError):
    """A Cap'n Web message the protocol does not allow: the session is aborted."""


class AppRaised(DotdoError):
    """(internal) An application's handler, step or workflow raised `original`, a
    `SystemExit`, `KeyboardInterrupt` or `GeneratorExit`: its failure, as an `Exception`
    the workflow components count (`dotdo.workflows.failures.call_app`)."""

    def __init__(self, original: BaseException) -> None:
        super().__init__(original)
        self.original = original


class HandlerTimeout(DotdoError, TimeoutError):
    """(internal) A handler ran past its `handler_timeout` (`seconds`); it was cancelled
    and abandoned."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"timed out after {seconds:g} s")
        self.seconds = seconds
