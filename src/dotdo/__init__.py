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
    from dotdo.core.sdk import WorkerEntrypoint
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
    from dotdo.semantic.inflection import VerbForms, conjugate
    from dotdo.semantic.plurals import pluralize, singularize
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
    "WorkerEntrypoint",
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

_LAZY: dict[str, str] = {
    "Access": "dotdo.core.access",
    "AlarmInfo": "dotdo.core.durable",
    "ApprovalExpired": "dotdo.errors",
    "Attempt": "dotdo.workflows.steps",
    "BadRequest": "dotdo.errors",
    "Capability": "dotdo.wire.tokens",
    "Component": "dotdo.core.migrations",
    "Conflict": "dotdo.errors",
    "CorsPolicy": "dotdo.core.middleware",
    "CronError": "dotdo.errors",
    "DOCore": "dotdo.core.durable",
    "DOFull": "dotdo.full.durable",
    "DOSemantic": "dotdo.semantic.durable",
    "DOStorage": "dotdo.storage.durable",
    "DOWorkflow": "dotdo.workflows.durable",
    "DotdoError": "dotdo.errors",
    "Event": "dotdo.semantic.eventtypes",
    "EventWaitExpired": "dotdo.errors",
    "FanOutFailed": "dotdo.errors",
    "Forbidden": "dotdo.errors",
    "Gone": "dotdo.errors",
    "Hop": "dotdo.semantic.graph",
    "HttpError": "dotdo.errors",
    "HttpRequest": "dotdo.core.http",
    "HttpResponse": "dotdo.core.http",
    "InvalidTenant": "dotdo.errors",
    "LocalRuntimeError": "dotdo.errors",
    "MethodNotAllowed": "dotdo.errors",
    "Migration": "dotdo.core.migrations",
    "NotFound": "dotdo.errors",
    "Noun": "dotdo.semantic.registry",
    "PayloadTooLarge": "dotdo.errors",
    "PreconditionFailed": "dotdo.errors",
    "QueryValidationError": "dotdo.errors",
    "Ref": "dotdo.semantic.graph",
    "RetryPolicy": "dotdo.workflows.steps",
    "Router": "dotdo.core.router",
    "RpcError": "dotdo.errors",
    "RpcTarget": "dotdo.remote.marks",
    "ScheduleInfo": "dotdo.workflows.steps",
    "ServiceUnavailable": "dotdo.errors",
    "SqlSecurityError": "dotdo.errors",
    "StepFailed": "dotdo.errors",
    "StepMismatch": "dotdo.errors",
    "TierOptions": "dotdo.storage.tiers",
    "TokenError": "dotdo.errors",
    "TooManyRequests": "dotdo.errors",
    "Unauthorized": "dotdo.errors",
    "UpgradeRequired": "dotdo.errors",
    "Verb": "dotdo.semantic.registry",
    "VerbForms": "dotdo.semantic.inflection",
    "WorkerEntrypoint": "dotdo.core.sdk",
    "attenuate_token": "dotdo.wire.tokens",
    "bearer_auth": "dotdo.core.middleware",
    "conjugate": "dotdo.semantic.inflection",
    "cors": "dotdo.core.middleware",
    "every": "dotdo.workflows.every",
    "forward_to_tenant": "dotdo.worker",
    "inspect_token": "dotdo.wire.tokens",
    "json_response": "dotdo.core.http",
    "matches": "dotdo.semantic.where",
    "mint_token": "dotdo.wire.tokens",
    "on": "dotdo.workflows.handlers",
    "override": "dotdo.core.namespace",
    "parse_cron": "dotdo.workflows.cron",
    "pluralize": "dotdo.semantic.plurals",
    "request_access": "dotdo.core.access",
    "request_logger": "dotdo.core.middleware",
    "rpc": "dotdo.remote.marks",
    "singularize": "dotdo.semantic.plurals",
    "tenant_from_host": "dotdo.worker",
    "validate_sql_query": "dotdo.semantic.sqlguard",
    "validate_where_clause": "dotdo.semantic.where",
    "verify_token": "dotdo.wire.tokens",
    "workflow": "dotdo.workflows.steps",
}
"""Each public name -> the module that defines it."""
_RENAMED = {
    "attenuate_token": "attenuate",
    "inspect_token": "inspect",
    "mint_token": "mint",
    "verify_token": "verify",
}
"""Public names spelt otherwise in their module (`attenuate_token` is `tokens.attenuate`)."""


def __getattr__(name: str) -> Any:
    """A public name's value, imported on first use and kept in the module's namespace
    (AttributeError for any other name, as for a module without `__getattr__`)."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'dotdo' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), _RENAMED.get(name, name))
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """The names imported so far and every public name (for `dir()` and completion)."""
    return sorted({*globals(), *__all__})
