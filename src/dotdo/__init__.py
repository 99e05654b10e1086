"""dotdo: the semantic runtime for Cloudflare Durable Objects.

Every public name loads on first use (PEP 562's module `__getattr__`): an isolate imports
only the modules of the names its app uses, which under Pyodide is most of what an import
costs at a cold start (docs/architecture/decisions/0036-cold-start-imports.md), and the names
that need the Workers runtime (the Durable Object classes) leave the pure-Python parts
importable under plain CPython too. `from dotdo import X` works as before.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dotdo.core.access import Access, request_access
    from dotdo.core.durable import AlarmInfo, DOCore
    from dotdo.core.http import HttpRequest, HttpResponse, json_response
    from dotdo.core.middleware import CorsPolicy, bearer_auth, cors, request_logger
    from dotdo.core.migrations import Component, Migration
    from dotdo.core.namespace import override
    from dotdo.core.router import Router
    from dotdo.errors import (
        ApprovalExpired,
        BadRequest,
        Conflict,
        CronError,
        DotdoError,
        EventWaitExpired,
        FanOutFailed,
        Forbidden,
        Gone,
        HttpError,
        InvalidTenant,
        LocalRuntimeError,
        MethodNotAllowed,
        NotFound,
        PayloadTooLarge,
        PreconditionFailed,
        QueryValidationError,
        RpcError,
        ServiceUnavailable,
        SqlSecurityError,
        StepFailed,
        StepMismatch,
        TokenError,
        TooManyRequests,
        Unauthorized,
        UpgradeRequired,
    )
    from dotdo.full.durable import DOFull
    from dotdo.remote.marks import RpcTarget, rpc
    from dotdo.semantic.durable import DOSemantic
    from dotdo.semantic.eventtypes import Event
    from dotdo.semantic.graph import Hop, Ref
    from dotdo.semantic.inflection import VerbForms, conjugate, pluralize, singularize
    from dotdo.semantic.registry import Noun, Verb
    from dotdo.semantic.sqlguard import validate_sql_query
    from dotdo.semantic.where import matches, validate_where_clause
    from dotdo.storage.durable import DOStorage
    from dotdo.storage.tiers import TierOptions
    from dotdo.wire.tokens import Capability
    from dotdo.wire.tokens import attenuate as attenuate_token
    from dotdo.wire.tokens import inspect as inspect_token
    from dotdo.wire.tokens import mint as mint_token
    from dotdo.wire.tokens import verify as verify_token
    from dotdo.worker import forward_to_tenant, tenant_from_host
    from dotdo.workflows.cron import parse_cron
    from dotdo.workflows.durable import DOWorkflow
    from dotdo.workflows.every import every
    from dotdo.workflows.handlers import on
    from dotdo.workflows.steps import Attempt, RetryPolicy, ScheduleInfo, workflow

__all__ = [
    "Access",
    "AlarmInfo",
    "ApprovalExpired",
    "Attempt",
    "BadRequest",
    "Capability",
    "Component",
    "Conflict",
    "CorsPolicy",
    "CronError",
    "DOCore",
    "DOFull",
    "DOSemantic",
    "DOStorage",
    "DOWorkflow",
    "DotdoError",
    "Event",
    "EventWaitExpired",
    "FanOutFailed",
    "Forbidden",
    "Gone",
    "Hop",
    "HttpError",
    "HttpRequest",
    "HttpResponse",
    "InvalidTenant",
    "LocalRuntimeError",
    "MethodNotAllowed",
    "Migration",
    "NotFound",
    "Noun",
    "PayloadTooLarge",
    "PreconditionFailed",
    "QueryValidationError",
    "Ref",
    "RetryPolicy",
    "Router",
    "RpcError",
    "RpcTarget",
    "ScheduleInfo",
    "ServiceUnavailable",
    "SqlSecurityError",
    "StepFailed",
    "StepMismatch",
    "TierOptions",
    "TokenError",
    "TooManyRequests",
    "Unauthorized",
    "UpgradeRequired",
    "Verb",
    "VerbForms",
    "attenuate_token",
    "bearer_auth",
    "conjugate",
    "cors",
    "every",
    "forward_to_tenant",
    "inspect_token",
    "json_response",
    "matches",
    "mint_token",
    "on",
    "override",
    "parse_cron",
    "pluralize",
    "request_access",
    "request_logger",
    "rpc",
    "singularize",
    "tenant_from_host",
    "validate_sql_query",
    "validate_where_clause",
    "verify_token",
    "workflow",
]

_LAZY: dict[str, tuple[str, str]] = {
    "Access": ("dotdo.core.access", "Access"),
    "AlarmInfo": ("dotdo.core.durable", "AlarmInfo"),
    "ApprovalExpired": ("dotdo.errors", "ApprovalExpired"),
    "Attempt": ("dotdo.workflows.steps", "Attempt"),
    "BadRequest": ("dotdo.errors", "BadRequest"),
    "Capability": ("dotdo.wire.tokens", "Capability"),
    "Component": ("dotdo.core.migrations", "Component"),
    "Conflict": ("dotdo.errors", "Conflict"),
    "CorsPolicy": ("dotdo.core.middleware", "CorsPolicy"),
    "CronError": ("dotdo.errors", "CronError"),
    "DOCore": ("dotdo.core.durable", "DOCore"),
    "DOFull": ("dotdo.full.durable", "DOFull"),
    "DOSemantic": ("dotdo.semantic.durable", "DOSemantic"),
    "DOStorage": ("dotdo.storage.durable", "DOStorage"),
    "DOWorkflow": ("dotdo.workflows.durable", "DOWorkflow"),
    "DotdoError": ("dotdo.errors", "DotdoError"),
    "Event": ("dotdo.semantic.eventtypes", "Event"),
    "EventWaitExpired": ("dotdo.errors", "EventWaitExpired"),
    "FanOutFailed": ("dotdo.errors", "FanOutFailed"),
    "Forbidden": ("dotdo.errors", "Forbidden"),
    "Gone": ("dotdo.errors", "Gone"),
    "Hop": ("dotdo.semantic.graph", "Hop"),
    "HttpError": ("dotdo.errors", "HttpError"),
    "HttpRequest": ("dotdo.core.http", "HttpRequest"),
    "HttpResponse": ("dotdo.core.http", "HttpResponse"),
    "InvalidTenant": ("dotdo.errors", "InvalidTenant"),
    "LocalRuntimeError": ("dotdo.errors", "LocalRuntimeError"),
    "MethodNotAllowed": ("dotdo.errors", "MethodNotAllowed"),
    "Migration": ("dotdo.core.migrations", "Migration"),
    "NotFound": ("dotdo.errors", "NotFound"),
    "Noun": ("dotdo.semantic.registry", "Noun"),
    "PayloadTooLarge": ("dotdo.errors", "PayloadTooLarge"),
    "PreconditionFailed": ("dotdo.errors", "PreconditionFailed"),
    "QueryValidationError": ("dotdo.errors", "QueryValidationError"),
    "Ref": ("dotdo.semantic.graph", "Ref"),
    "RetryPolicy": ("dotdo.workflows.steps", "RetryPolicy"),
    "Router": ("dotdo.core.router", "Router"),
    "RpcError": ("dotdo.errors", "RpcError"),
    "RpcTarget": ("dotdo.remote.marks", "RpcTarget"),
    "ScheduleInfo": ("dotdo.workflows.steps", "ScheduleInfo"),
    "ServiceUnavailable": ("dotdo.errors", "ServiceUnavailable"),
    "SqlSecurityError": ("dotdo.errors", "SqlSecurityError"),
    "StepFailed": ("dotdo.errors", "StepFailed"),
    "StepMismatch": ("dotdo.errors", "StepMismatch"),
    "TierOptions": ("dotdo.storage.tiers", "TierOptions"),
    "TokenError": ("dotdo.errors", "TokenError"),
    "TooManyRequests": ("dotdo.errors", "TooManyRequests"),
    "Unauthorized": ("dotdo.errors", "Unauthorized"),
    "UpgradeRequired": ("dotdo.errors", "UpgradeRequired"),
    "Verb": ("dotdo.semantic.registry", "Verb"),
    "VerbForms": ("dotdo.semantic.inflection", "VerbForms"),
    "attenuate_token": ("dotdo.wire.tokens", "attenuate"),
    "bearer_auth": ("dotdo.core.middleware", "bearer_auth"),
    "conjugate": ("dotdo.semantic.inflection", "conjugate"),
    "cors": ("dotdo.core.middleware", "cors"),
    "every": ("dotdo.workflows.every", "every"),
    "forward_to_tenant": ("dotdo.worker", "forward_to_tenant"),
    "inspect_token": ("dotdo.wire.tokens", "inspect"),
    "json_response": ("dotdo.core.http", "json_response"),
    "matches": ("dotdo.semantic.where", "matches"),
    "mint_token": ("dotdo.wire.tokens", "mint"),
    "on": ("dotdo.workflows.handlers", "on"),
    "override": ("dotdo.core.namespace", "override"),
    "parse_cron": ("dotdo.workflows.cron", "parse_cron"),
    "pluralize": ("dotdo.semantic.inflection", "pluralize"),
    "request_access": ("dotdo.core.access", "request_access"),
    "request_logger": ("dotdo.core.middleware", "request_logger"),
    "rpc": ("dotdo.remote.marks", "rpc"),
    "singularize": ("dotdo.semantic.inflection", "singularize"),
    "tenant_from_host": ("dotdo.worker", "tenant_from_host"),
    "validate_sql_query": ("dotdo.semantic.sqlguard", "validate_sql_query"),
    "validate_where_clause": ("dotdo.semantic.where", "validate_where_clause"),
    "verify_token": ("dotdo.wire.tokens", "verify"),
    "workflow": ("dotdo.workflows.steps", "workflow"),
}
"""Each public name -> (the module that defines it, its name there)."""


def __getattr__(name: str) -> Any:
    """A public name's value, imported on first use and kept in the module's namespace
    (AttributeError for any other name, as for a module without `__getattr__`)."""
    where = _LAZY.get(name)
    if where is None:
        raise AttributeError(f"module 'dotdo' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(where[0]), where[1])
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """The names imported so far and every public name (for `dir()` and completion)."""
    return sorted({*globals(), *__all__})
