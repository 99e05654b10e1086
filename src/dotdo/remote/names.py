"""The grammar of the names Durable Objects are addressed by: a tenant (a host name label), a
tenant's thing owner, `"tenant/Type/id"` (ADR 0054), or a thing owner of the whole namespace,
`"Type/id"` (ADR 0027, the layout of `stub_scope = "namespace"`). Here, below every layer that
names an object, so that the object-name checks (`dotdo.semantic.object_names`), the tenant
rule (`dotdo.core.tenants`) and a capability token's target (`dotdo.wire.tokens`) read one
grammar."""

from __future__ import annotations

import re

__all__ = [
    "OBJECT_NAME_RULE",
    "TENANT",
    "THING_ID",
    "THING_ID_RULE",
    "TYPE_NAME",
    "VERB",
    "covers",
    "is_object_name",
    "object_tenant",
    "thing_parts",
]

TENANT = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
"""A tenant: 1-63 of a-z, 0-9 and `-`, starting and ending with a letter or digit (RFC 1123,
section 2.1)."""
TYPE_NAME = re.compile(r"(?!(?:None|True|False)(?![A-Za-z0-9]))[A-Z][A-Za-z0-9]{0,63}")
"""PascalCase: an upper-case letter, then letters and digits; at most 64 characters; not
`None`, `True` or `False`, Python's capitalised keywords: no class or attribute is so named,
and a remote caller's `None` finds the method `None_` as `return` finds `return_`
(`dotdo.remote.targets`). Whole (`fullmatch`), or inside a larger pattern (event types)."""
THING_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}")
"""A thing's id: 1-128 letters, digits and `_.:-`, starting with a letter or digit."""

OBJECT_NAME_RULE = (
    "a tenant (a host name label: lowercase letters, digits and hyphens), a tenant's thing "
    "'tenant/Type/id' or a thing's 'Type/id'"
)
"""What an object name is, as an error message says it."""


def thing_parts(name: str) -> tuple[str | None, str, str] | None:
    """How `name` reads as a thing owner, its type and id unchecked: `(tenant, type, id)` for
    `"tenant/Type/id"` (a tenant, then two `/`), `(None, type, id)` for `"Type/id"`; None
    with no `/`. The one reading of the forms, for the check below and for the messages
    that say which part is wrong (`dotdo.semantic.object_names`)."""
    head, slash, rest = name.partition("/")
    if not slash:
        return None
    if TENANT.fullmatch(head) and "/" in rest:  # a type name is PascalCase, never a tenant
        type_name, _, thing_id = rest.partition("/")
        return head, type_name, thing_id
    return None, head, rest


def is_object_name(name: object) -> bool:
    """Whether `name` is a string naming an object: a tenant, `"tenant/Type/id"` or
    `"Type/id"` (a tenant starts lower-case and a type name upper-case, and an id holds no
    `/`, so the forms never overlap)."""
    if not isinstance(name, str):
        return False
    if TENANT.fullmatch(name):
        return True
    parts = thing_parts(name)
    return parts is not None and bool(TYPE_NAME.fullmatch(parts[1])) and bool(THING_ID.fullmatch(parts[2]))


def object_tenant(name: str | None) -> str | None:
    """The tenant an object of this name belongs to: the name itself for a tenant, the first
    part of `"tenant/Type/id"`; None for `"Type/id"` (the namespace's own), for None (an
    object never addressed by name) and for anything that is no object name."""
    if name is None or not is_object_name(name):
        return None
    head, _, _ = name.partition("/")
    return head if TENANT.fullmatch(head) else None


def covers(target: str, name: str | None) -> bool:
    """Whether a capability for `target` (an object name, or "*" for every object) is one
    for the object named `name` (None: an object whose name is not known): "*" covers every
    object, a name itself, and a tenant its own thing objects too, `"tenant/Type/id"` (they
    belong to it: ADR 0054). A thing's `"Type/id"` belongs to no tenant."""
    if target == "*" or target == name:
        return True
    return name is not None and "/" in name and object_tenant(name) == target


THING_ID_RULE = "1-128 letters, digits and '_.:-', starting with a letter or digit"
"""What `THING_ID` takes, as an error message says it (a thing's id, a run's chosen id)."""
VERB = re.compile(r"[a-z][A-Za-z0-9]{0,63}")
"""camelCase: a lower-case letter, then letters and digits; at most 64 characters (the verb
of an event type's `Noun.verb`). Here, with the other patterns, so that no module restates
one: the verb check, the event types and the keyset cursor read these."""
