"""Cross-object stubs: which object owns a thing, and the namespace it is called in.

`self.Customer("c1").notify()`, a fan-out to `"Customer/c1"` and a room's owner name the
object owning a thing by type and id. Whose object that is depends on the class's
`stub_scope` (ADR 0054):

- `"tenant"` (the default): the caller's tenant's, `"acme/Customer/c1"`, so two tenants'
  code never reaches one object through these names. The tenant is the calling object's
  own (`dotdo.remote.names.object_tenant` of its name): a tenant's object and its tenant's
  thing objects share it; an object with no tenant (one named `"Type/id"`, or never named)
  reaches the namespace's `"Type/id"`.
- `"namespace"`: the one object `"Customer/c1"` every tenant shares, the layout before
  ADR 0054; an app whose objects live there keeps them by setting it.

The calls are Workers RPC, where the binding is the capability and no token is checked
(https://developers.cloudflare.com/durable-objects/best-practices/create-durable-object-stubs-and-send-requests/).
"""

from __future__ import annotations

from typing import Any

from dotdo.remote.names import object_tenant

__all__ = ["STUB_SCOPES", "stub_namespace", "stub_tenant", "validate_stub_scope"]

STUB_SCOPES = ("tenant", "namespace")


def validate_stub_scope(scope: object, class_name: str) -> None:
    """ValueError naming the class unless `scope` is one of `STUB_SCOPES` (checked when the
    class is created, so a typo never reaches a tenant's data)."""
    if not isinstance(scope, str) or scope not in STUB_SCOPES:
        raise ValueError(f"{class_name}.stub_scope is 'tenant' or 'namespace', not {scope!r}")


def stub_tenant(scope: str, object_name: str | None) -> str | None:
    """The tenant whose thing objects a caller named `object_name` reaches: its own under
    `"tenant"` (None when it has none), None (the namespace's) under `"namespace"`."""
    return object_tenant(object_name) if scope == "tenant" else None


def stub_namespace(env: Any, binding: str, class_name: str) -> Any:
    """The Durable Object namespace `env` binds as `binding`. LookupError naming the option
    when there is no such binding (a project whose class is bound under another name than
    "DOTDO" sets `stub_binding` to it)."""
    namespace = getattr(env, binding, None)
    if namespace is None or not callable(getattr(namespace, "idFromName", None)):
        raise LookupError(
            f"{class_name}.stub_binding is {binding!r}, which is no Durable Object binding of "
            "this Worker: set stub_binding to the binding wrangler.toml gives the objects to call"
        )
    return namespace
