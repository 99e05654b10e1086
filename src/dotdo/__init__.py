"""dotdo: the semantic runtime for Cloudflare Durable Objects.

Names that need the Workers runtime (the Durable Object classes) load on first
use, so the pure-Python parts import under plain CPython too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dotdo.core.http import HttpRequest, HttpResponse, json_response
from dotdo.core.middleware import CorsPolicy, bearer_auth, cors, request_logger
from dotdo.core.migrations import Migration
from dotdo.core.router import Router
from dotdo.core.rpc import rpc
from dotdo.errors import (
    BadRequest,
    Conflict,
    DotdoError,
    Forbidden,
    HttpError,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    Unauthorized,
    UpgradeRequired,
)
from dotdo.worker import forward_to_tenant, tenant_from_host

if TYPE_CHECKING:
    from dotdo.core.durable import AlarmInfo, DOCore

__all__ = [
    "AlarmInfo",
    "BadRequest",
    "Conflict",
    "CorsPolicy",
    "DOCore",
    "DotdoError",
    "Forbidden",
    "HttpError",
    "HttpRequest",
    "HttpResponse",
    "MethodNotAllowed",
    "Migration",
    "NotFound",
    "PayloadTooLarge",
    "Router",
    "Unauthorized",
    "UpgradeRequired",
    "bearer_auth",
    "cors",
    "forward_to_tenant",
    "json_response",
    "request_logger",
    "rpc",
    "tenant_from_host",
]

_RUNTIME_NAMES = {"DOCore": "dotdo.core.durable", "AlarmInfo": "dotdo.core.durable"}


def __getattr__(name: str) -> Any:
    module_name = _RUNTIME_NAMES.get(name)
    if module_name is None:
        raise AttributeError(f"module 'dotdo' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value
    return value
