"""The passthrough worker: each tenant subdomain goes to its own Durable Object.

`acme.api.example.com` -> `acme`, `acme.localhost` -> `acme`; a bare host name
or an IP address -> `default`. Tenant names are 1-63 of a-z, 0-9 and `-`.
"""

from __future__ import annotations

import ipaddress
import json
import re
from typing import Any
from urllib.parse import urlsplit

from dotdo.errors import InvalidTenant

__all__ = ["DEFAULT_TENANT", "InvalidTenant", "forward_to_tenant", "tenant_from_host"]

DEFAULT_TENANT = "default"
_TENANT = re.compile(r"^[a-z0-9-]{1,63}$")


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def tenant_from_host(host: str) -> str:
    """The tenant a request's host name addresses; InvalidTenant when the label is not a valid name."""
    host = host.strip().rstrip(".").lower()
    if not host:
        return DEFAULT_TENANT
    if _is_ip(host):
        return DEFAULT_TENANT
    labels = host.split(".")
    if len(labels) < 2:
        return DEFAULT_TENANT
    tenant = labels[0]
    if not _TENANT.match(tenant):
        raise InvalidTenant(f"Invalid tenant {tenant!r}: use 1-63 lowercase letters, digits and hyphens")
    return tenant


async def forward_to_tenant(request: Any, namespace: Any) -> Any:
    """Send `request` to the object named by its tenant, or answer 400 for an invalid tenant."""
    from workers import Response

    hostname = urlsplit(request.url).hostname or ""
    try:
        tenant = tenant_from_host(hostname)
    except InvalidTenant as error:
        from dotdo.core.bodies import discard_body, has_body

        if has_body({k.lower(): v for k, v in request.headers.items()}):
            await discard_body(request, request.headers.get("content-length"))
        body = json.dumps(error.to_dict())
        return Response(body, status=error.status, headers={"content-type": "application/json"})
    stub = namespace.get(namespace.idFromName(tenant))
    return await stub.fetch(request)
