"""Tenant names: each tenant is one Durable Object, addressed by a host name label (RFC 1123,
section 2.1): 1-63 of a-z, 0-9 and `-`, starting and ending with a letter or digit. The
passthrough worker reads one from a request's host (`dotdo.worker`), and every object name
derived from an id is checked against it before an object is woken
(`dotdo.semantic.object_names`), so every tenant is reachable by its subdomain once deployed."""

from __future__ import annotations

from dotdo.remote.names import TENANT as _TENANT

__all__ = ["DEV_TENANT_PREFIX", "TENANT_RULE", "is_tenant"]

DEV_TENANT_PREFIX = "/@"
"""A path starting with `/@<tenant>` names the tenant in development (`dotdo.worker`)."""

TENANT_RULE = "use 1-63 lowercase letters, digits and hyphens, starting and ending with a letter or digit"
"""What a tenant name is, as an error message says it."""


def is_tenant(name: str) -> bool:
    """Whether `name` is a tenant's name (a host name label, RFC 1123, section 2.1)."""
    return _TENANT.fullmatch(name) is not None
