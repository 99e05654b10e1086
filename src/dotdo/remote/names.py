"""The grammar of the names Durable Objects are addressed by: a tenant (a host name label) or
a thing's owner, `"Type/id"` (ADR 0027). Here, below every layer that names an object, so
that the object-name checks (`dotdo.semantic.object_names`), the tenant rule
(`dotdo.core.tenants`) and a capability token's target (`dotdo.wire.tokens`) read one
grammar."""

from __future__ import annotations

import re

__all__ = ["OBJECT_NAME_RULE", "TENANT", "THING_ID", "TYPE_NAME", "is_object_name"]

TENANT = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
"""A tenant: 1-63 of a-z, 0-9 and `-`, starting and ending with a letter or digit (RFC 1123,
section 2.1)."""
TYPE_NAME = re.compile(r"[A-Z][A-Za-z0-9]{0,63}")
"""PascalCase: an upper-case letter, then letters and digits; at most 64 characters."""
THING_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}")
"""A thing's id: 1-128 letters, digits and `_.:-`, starting with a letter or digit."""

OBJECT_NAME_RULE = (
    "a tenant (a host name label: lowercase letters, digits and hyphens) or a thing's 'Type/id'"
)
"""What an object name is, as an error message says it."""


def is_object_name(name: object) -> bool:
    """Whether `name` is a string naming an object: a tenant, or `"Type/id"` (the first `/`
    splits them; an id holds no `/`)."""
    if not isinstance(name, str):
        return False
    if TENANT.fullmatch(name):
        return True
    type_name, slash, thing_id = name.partition("/")
    return bool(slash) and bool(TYPE_NAME.fullmatch(type_name)) and bool(THING_ID.fullmatch(thing_id))


THING_ID_RULE = "1-128 letters, digits and '_.:-', starting with a letter or digit"
"""What `THING_ID` takes, as an error message says it (a thing's id, a run's chosen id)."""
VERB = re.compile(r"[a-z][A-Za-z0-9]{0,63}")
"""camelCase: a lower-case letter, then letters and digits; at most 64 characters (the verb
of an event type's `Noun.verb`). Here, with the other patterns, so that no module restates
one: the verb check, the event types and the keyset cursor read these."""
