"""The names Durable Objects are addressed by (`idFromName`, `getByName`): a tenant (a host
name label, as `dotdo.worker` reads it from a request's host), a tenant's thing owner,
`"tenant/Type/id"` (ADR 0054), or a thing owner of the whole namespace, `"Type/id"` (ADR 0027).
The runtime creates an object on first use under whatever name it is given, so every name
derived from a client's or an app's id is checked here before an object is woken: one no
tenant or thing can have (`"T/a/b"`, a NUL, an id past 128 characters) would wake an object
no route reaches again."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from dotdo.core.tenants import is_tenant
from dotdo.errors import BadRequest, Forbidden
from dotdo.remote.names import OBJECT_NAME_RULE, object_tenant, thing_parts
from dotdo.semantic.names import validate_type_name
from dotdo.semantic.thingdata import validate_id

__all__ = ["object_name", "thing_object_name", "within_tenant"]


def thing_object_name(type_name: Any, thing_id: Any, tenant: str | None = None) -> str:
    """The name of the object that owns the thing `type_name`/`thing_id`: `"tenant/Type/id"`
    for a tenant's thing, `"Type/id"` for the namespace's own (`tenant` None), when both are
    a thing's (a PascalCase type name of at most 64 characters, an id of 1-128 letters,
    digits and `_.:-`); else 400 `invalid_type` / `invalid_id`. `tenant` is the caller's
    own, already a tenant's name."""
    owner = f"{validate_type_name(type_name)}/{validate_id(thing_id)}"
    return owner if tenant is None else f"{tenant}/{owner}"


def object_name(name: Any, what: str, code: str, check_noun: Callable[[str], object] | None = None) -> str:
    """`name` itself when it names an object: a tenant (1-63 lowercase letters, digits and
    hyphens, starting and ending with a letter or digit), a tenant's thing owner
    `"tenant/Type/id"` or a thing owner `"Type/id"` (`thing_object_name`). Else 400 `code`,
    the message naming `what` (the surface's own name for it: `owner` for
    `broadcast_to_room`). A thing owner's noun is then passed to `check_noun` (the noun
    policy's check: 404 `unknown_noun` with `strict_nouns`)."""
    if isinstance(name, str):
        if is_tenant(name):
            return name
        parts = thing_parts(name)
        if parts is not None:
            tenant, type_name, thing_id = parts
            try:
                owner = thing_object_name(type_name, thing_id, tenant)
            except BadRequest as error:
                raise BadRequest(f"{what} {name!r} names no thing: {error.message}", code=code) from None
            if check_noun is not None:
                check_noun(type_name)
            return owner
    raise BadRequest(
        f"{what} is {OBJECT_NAME_RULE}, not {name!r:.80}",
        code=code,
    )


def within_tenant(name: str, tenant: str | None, what: str) -> str:
    """The object a caller of tenant `tenant` reaches by the checked object name `name`
    (`object_name`): a thing owner `"Type/id"` is that tenant's, `"tenant/Type/id"`; the
    tenant itself and its own `"tenant/Type/id"` are as given. Another tenant, or another
    tenant's thing, is 403 `foreign_object` (ADR 0054: a tenant's code reaches its own
    objects only). With `tenant` None (`stub_scope = "namespace"`, or an object with no
    tenant) every name is as given."""
    if tenant is None:
        return name
    owner = object_tenant(name)
    if owner is None:
        return f"{tenant}/{name}"
    if owner != tenant:
        raise Forbidden(
            f"{what} {name!r} is an object of tenant {owner!r}; this object's tenant is {tenant!r}",
            code="foreign_object",
        )
    return name
