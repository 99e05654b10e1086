"""dotdo: the semantic runtime for Cloudflare Durable Objects.

Names that need the Workers runtime (the Durable Object classes) load on first
use, so the pure-Python parts import under plain CPython too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dotdo.core.access import Access, request_access
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
from dotdo.remote.marks import RpcTarget, rpc
from dotdo.semantic.eventtypes import Event
from dotdo.semantic.graph import Hop, Ref
from dotdo.semantic.inflection import VerbForms, conjugate, pluralize, singularize
from dotdo.semantic.registry import Noun, Verb
from dotdo.semantic.sqlguard import validate_sql_query
from dotdo.semantic.where import matches, validate_where_clause
from dotdo.storage.tiers import TierOptions
from dotdo.wire.tokens import Capability
from dotdo.wire.tokens import attenuate as attenuate_token
from dotdo.wire.tokens import inspect as inspect_token
from dotdo.wire.tokens import mint as mint_token
from dotdo.wire.tokens import verify as verify_token
from dotdo.worker import forward_to_tenant, tenant_from_host
from dotdo.workflows.cron import parse_cron
from dotdo.workflows.every import every
from dotdo.workflows.handlers import on
from dotdo.workflows.steps import Attempt, RetryPolicy, ScheduleInfo, workflow

if TYPE_CHECKING:
    from dotdo.core.durable import AlarmInfo, DOCore
    from dotdo.full.durable import DOFull
    from dotdo.semantic.durable import DOSemantic
    from dotdo.storage.durable import DOStorage
    from dotdo.workflows.durable import DOWorkflow

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

_RUNTIME_NAMES = {
    "DOCore": "dotdo.core.durable",
    "DOFull": "dotdo.full.durable",
    "AlarmInfo": "dotdo.core.durable",
    "DOSemantic": "dotdo.semantic.durable",
    "DOStorage": "dotdo.storage.durable",
    "DOWorkflow": "dotdo.workflows.durable",
}


def __getattr__(name: str) -> Any:
    module_name = _RUNTIME_NAMES.get(name)
    if module_name is None:
        raise AttributeError(f"module 'dotdo' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value
    return value
