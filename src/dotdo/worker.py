"""The passthrough worker: each tenant subdomain goes to its own Durable Object.

`acme.api.example.com` -> `acme`, `acme.localhost` -> `acme`; a bare host name
or an IP address -> `default`. Tenant names are host name labels (RFC 1123, section 2.1):
1-63 of a-z, 0-9 and `-`, starting and ending with a letter or digit.

In development only (`ENVIRONMENT=development`, as the local runtime sets it), a
path prefix names the tenant for clients that cannot resolve `*.localhost` (Node,
most HTTP libraries): `http://127.0.0.1:8787/@acme/health` is `/health` of `acme`.
Elsewhere such a path is refused (400 `tenant_prefix_refused`), so a deployed app
never answers one tenant's data under another's host name.

`get_object(namespace, name)` is the stub of one object by name (Cloudflare's
`getByName`, the Agents SDK's `getAgentByName`).
"""

from __future__ import annotations

import ipaddress
import json
import logging
from typing import Any
from urllib.parse import urlsplit

from dotdo.core.tenants import DEV_TENANT_PREFIX, TENANT_RULE, is_tenant
from dotdo.errors import BadRequest, InvalidTenant, internal_error

__all__ = [
    "CODE_FAILED_LOG",
    "DEFAULT_TENANT",
    "DEV_TENANT_PREFIX",
    "InvalidTenant",
    "dev_tenant_path",
    "forward_to_tenant",
    "get_object",
    "object_unavailable_body",
    "tenant_from_host",
]

logger = logging.getLogger("dotdo.worker")

CODE_FAILED_LOG = "failed with an exception of its code: "
"""What the passthrough logs, after the tenant, before the traceback of an object whose code
raised (`dotdo.testing` reads the traceback after it)."""

DEFAULT_TENANT = "default"


def _is_ip(host: str) -> bool:
    if ":" not in host and not host[-1:].isdigit():
        # An IPv4 literal ends in a digit and an IPv6 one holds a colon: a host name needs
        # no parse (ipaddress tries both forms and raises twice for every name, per request).
        return False
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
    if not is_tenant(tenant):
        raise InvalidTenant(f"Invalid tenant {tenant!r}: {TENANT_RULE}")
    return tenant


def dev_tenant_path(path: str) -> tuple[str, str] | None:
    """`/@acme/health` -> `("acme", "/health")`, `/@acme` -> `("acme", "/")`; None for a path
    without the prefix; InvalidTenant when the name after `/@` is not a valid tenant."""
    if not path.startswith(DEV_TENANT_PREFIX):
        return None
    tenant, slash, rest = path[len(DEV_TENANT_PREFIX) :].partition("/")
    if not is_tenant(tenant):
        raise InvalidTenant(f"Invalid tenant {tenant!r}: {TENANT_RULE}")
    return tenant, slash + rest if slash else "/"


def get_object(namespace: Any, name: str) -> Any:
    """The stub of the Durable Object called `name` in `namespace` (a binding such as
    `env.DOTDO`): the same object for the same name, created on first use. Calls on the
    stub are Workers RPC (`await stub.greet("Ada")`) or `await stub.fetch(request)`.

    `name` is a tenant or a thing's owner, `"Customer/c-1"` (the names dotdo addresses
    objects by, `dotdo.semantic.object_names`); ValueError otherwise, before any object is
    woken under a name no route reaches again. The namespace's `getByName(name)` when it has
    one (one call into the runtime instead of `get(idFromName(name))`'s two; the same stub,
    named the same way:
    https://developers.cloudflare.com/durable-objects/api/namespace/#getbyname)."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"An object name is a non-empty string, not {name!r}")
    if not is_tenant(name):  # a tenant (each request's) costs no import; the rest is checked
        from dotdo.semantic.object_names import object_name

        try:
            object_name(name, "An object name", "invalid_object_name")
        except BadRequest as error:
            raise ValueError(error.message) from None
    by_name = getattr(namespace, "getByName", None)
    if by_name is not None:
        return by_name(name)
    return namespace.get(namespace.idFromName(name))


def _development(env: Any) -> bool:
    return _env_text(env, "ENVIRONMENT") == "development"


async def forward_to_tenant(request: Any, namespace: Any, *, env: Any = None) -> Any:
    """Send `request` to the object named by its tenant, or answer 400 for an invalid tenant.

    With `env` whose `ENVIRONMENT` is `development`, a `/@<tenant>` path prefix names the
    tenant (and is stripped); without it, such a path is a 400 `tenant_prefix_refused`. Its
    own answers (that 400, a 503 `object_unavailable`) carry the object's CORS headers, by
    `env`'s `ALLOWED_ORIGINS` and `ENVIRONMENT`."""
    parts = urlsplit(request.url)
    try:
        tenant = tenant_from_host(parts.hostname or "")
        prefixed = dev_tenant_path(parts.path)
        if prefixed is not None:
            if not _development(env):
                raise InvalidTenant(
                    "A /@tenant/ path prefix names a tenant only in development (ENVIRONMENT=development); "
                    "use the tenant's host name",
                    code="tenant_prefix_refused",
                )
            tenant, path = prefixed
            request = _with_path(request, parts._replace(path=path).geturl())
    except InvalidTenant as error:
        from dotdo.core.bodies import discard_body, has_body

        if has_body({k.lower(): v for k, v in request.headers.items()}):
            await discard_body(request, request.headers.get("content-length"))
        body = json.dumps(error.to_dict(), separators=(",", ":"))
        return await _own_answer(request, env, error.status, body, {"content-type": "application/json"})
    try:
        return await get_object(namespace, tenant).fetch(request)
    except Exception as error:
        # dotdo's object answers each of its own errors (a 500 `internal_error` at worst), so
        # what reaches here is the object failing as a whole: reset past its memory or CPU
        # limit, overloaded, its code replaced under the request (Cloudflare's Durable
        # Objects "Error handling" page), where a retry may succeed; or an exception of the
        # app's code before dotdo could answer (its constructor's), where it fails the same.
        failed = _code_failed(error)
        if failed:
            logger.error("the object of tenant %r " + CODE_FAILED_LOG + "%s", tenant, error)
        else:
            logger.warning("the object of tenant %r did not answer: %s", tenant, error)
        body = json.dumps(
            object_unavailable_body(tenant, error, named=_development(env)), separators=(",", ":")
        )
        headers = {"content-type": "application/json"}
        if not failed:
            headers["retry-after"] = "1"
        return await _own_answer(request, env, 503, body, headers)


_CORS_REQUEST_HEADERS = ("origin", "access-control-request-method", "access-control-request-headers")


async def _own_answer(request: Any, env: Any, status: int, body: str, headers: dict[str, str]) -> Any:
    """The passthrough's own answer (`status`, `body`, `headers`) to `request`, with the CORS
    the object's answers carry (`ALLOWED_ORIGINS`, `ENVIRONMENT`: DOCore's `cors` middleware,
    run here on the same policy): a browser reads the 400 or 503 as it reads the object's
    404, and a preflight to a tenant that cannot answer is answered as the object would."""
    from workers import Response

    from dotdo.core.http import HttpRequest, HttpResponse
    from dotdo.core.middleware.cors import CorsPolicy, cors

    policy = CorsPolicy.from_env(_env_text(env, "ALLOWED_ORIGINS"), _env_text(env, "ENVIRONMENT"))
    given = {name: request.headers.get(name) for name in _CORS_REQUEST_HEADERS}
    plain = HttpRequest(request.method, request.url, {k: v for k, v in given.items() if v is not None})

    async def own(_: HttpRequest) -> HttpResponse:
        return HttpResponse(status, body, headers)

    answer = await cors(policy)(plain, own)
    return Response(answer.body, status=answer.status, headers=answer.headers)


def _env_text(env: Any, name: str) -> str | None:
    value = getattr(env, name, None)
    return value if isinstance(value, str) else None


def _code_failed(error: BaseException) -> bool:
    """Whether an object's failure is a Python exception of its code (Pyodide words one as its
    traceback), not the runtime's reset or overload."""
    from dotdo.tracebacks import is_traceback

    try:
        return is_traceback(str(error))
    except Exception:  # an error whose own __str__ fails says nothing of its cause
        return False


def object_unavailable_body(
    tenant: str, error: BaseException | None = None, *, named: bool = False
) -> dict[str, Any]:
    """The 503 answer when the object of `tenant` failed as a whole (`object_unavailable`)
    with `error`.

    Reset or overloaded, a retry may succeed; an exception of the app's code (a Python
    traceback in the error's text: its constructor raised, say) fails every retry the same
    way until the code is fixed, and the message says so. With `named` (only in
    development: an exception's text may hold data) it also names the error, a traceback
    by its exception and the app's frame that raised it (`dotdo.tracebacks.summary`)."""
    if error is not None and _code_failed(error):
        message = (
            f"The object of tenant {tenant!r} failed: its code raised an exception before it "
            "answered (its constructor, say); a retry most likely fails the same way until the code is fixed"
        )
    else:
        message = (
            f"The object of tenant {tenant!r} did not answer (it was reset or is overloaded); "
            "the request may or may not have taken effect: retry if it is safe to"
        )
    if error is not None and named:
        message = internal_error(error, named=True, message=message)
    return {"error": {"code": "object_unavailable", "message": message}}


def _with_path(request: Any, url: str) -> Any:
    """The same request (method, headers, body) for another URL."""
    import js
    from workers import Request

    return Request(js.Request.new(url, request.js_object))
