"""Validation of the names that reach SQL or routes: type names, field paths, verbs.

Everything here is checked against a strict pattern before it is used, so a
name can be embedded in a JSON path or an index name without quoting games.
"""

from __future__ import annotations

import re
from typing import Any

from dotdo.errors import BadRequest
from dotdo.remote.names import TYPE_NAME, VERB
from dotdo.semantic.inflection import conjugate

__all__ = [
    "FIELD_NAME",
    "MAX_DERIVED_VERB_LENGTH",
    "MAX_FIELD_DEPTH",
    "PLURAL_NAME",
    "QUERY_PARAMS",
    "RESERVED_VERBS",
    "SYSTEM_FIELDS",
    "TYPE_NAME",
    "check_unreserved_verb",
    "checked_name",
    "reserved_verb_base",
    "validate_field_path",
    "validate_type_name",
    "validate_verb",
]

QUERY_PARAMS = ("where", "order_by", "limit", "offset", "cursor", "select", "include_deleted", "total")
"""The URL query parameters of a thing list (`GET /:Noun`, `ThingQuery.from_params`): here,
not in `semantic.query`, because the route declares them when it is registered, before the
first list loads the query model (ADR 0036)."""

PLURAL_NAME = re.compile(r"[A-Z][A-Za-z0-9]{0,71}")
"""A noun's plural: PascalCase, at most 72 characters. A plural runs longer than its
noun (`Child` -> `Children` adds 3), so a 64-character type name still has one; it is
only ever shown, never used as a type name."""
MAX_DERIVED_VERB_LENGTH = 60
"""The longest verb whose forms dotdo derives: `ship` -> `shipping` adds 4, and every
form must stay a verb (at most 64 characters, as in an event type's `Noun.verb`)."""

FIELD_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
"""A property name, one segment of a field path (`address.city` has two) and a declared field:
letters, digits and underscores, not starting with a digit; at most 64 characters."""
RESERVED_VERBS = ("create", "update", "delete", "restore")
"""The verbs of the thing store's own write events (`semantic/things.py`: `<Noun>.created`,
`.updated`, `.deleted`, `.restored`)."""
_RESERVED_FORMS = {
    form: forms.base
    for forms in map(conjugate, RESERVED_VERBS)
    for form in (forms.base, forms.past, forms.participle, forms.third_person)
}
MAX_FIELD_DEPTH = 8
"""How many dotted names a field path may have (`a.b.c` has 3)."""

SYSTEM_FIELDS = {
    "$id": "id",
    "$type": "type",
    "$created_at": "created_at",
    "$updated_at": "updated_at",
    "$deleted_at": "deleted_at",
    "$version": "version",
}
"""The wire names of a thing's own fields and the columns that hold them."""


def checked_name(value: Any, pattern: re.Pattern[str], what: str, rule: str, code: str) -> str:
    """`value` when it is a string `pattern` matches whole; else 400 `code`, "Invalid <what> ...: <rule>"."""
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise BadRequest(f"Invalid {what} {value!r}: {rule}", code=code)
    return value


def validate_type_name(name: Any) -> str:
    """`name` itself when it matches TYPE_NAME (`Customer`, `LineItem`); else 400 `invalid_type`."""
    return checked_name(
        name,
        TYPE_NAME,
        "type name",
        "type names are PascalCase identifiers such as 'Customer', not None, True or False",
        "invalid_type",
    )


def field_path_error(path: Any) -> str | None:
    """Why `path` is not a usable field path, or None when it is."""
    if not isinstance(path, str):
        return f"Field names are strings, not {type(path).__name__}"
    if path in SYSTEM_FIELDS:
        return None
    segments = path.split(".")
    if len(segments) > MAX_FIELD_DEPTH:
        return f"Field path {path!r} is deeper than {MAX_FIELD_DEPTH} levels"
    for segment in segments:
        if not FIELD_NAME.fullmatch(segment):
            return (
                f"Invalid field name {path!r}: use letters, digits and underscores "
                "(not starting with a digit), dots between nested names"
            )
    return None


def validate_field_path(path: Any, code: str = "invalid_field") -> str:
    """`path` itself when it is a system field (`$id`, ...) or up to MAX_FIELD_DEPTH dotted
    names (`address.city`); else 400 `code` with `field_path_error`'s message."""
    error = field_path_error(path)
    if error is not None:
        raise BadRequest(error, code=code)
    return str(path)


def validate_verb(verb: Any) -> str:
    """`verb` itself when it is camelCase, at most 64 characters (`ship`, `signUp`); else
    400 `invalid_verb`."""
    return checked_name(
        verb, VERB, "verb", "verbs are camelCase identifiers such as 'ship' or 'signUp'", "invalid_verb"
    )


def reserved_verb_base(verb: str) -> str | None:
    """The verb of RESERVED_VERBS that `verb` is a form of (`created` -> `create`), or None."""
    return _RESERVED_FORMS.get(verb)


def check_unreserved_verb(verb: str, what: str = "a verb") -> str:
    """`verb` itself unless it is a form of a verb the thing store's own events use
    (RESERVED_VERBS, in any form: `create`, `created`, `creating`, `creates`); else 400
    `reserved_verb`, `what` naming where it was given ("an edge's verb"). The one rule for
    a name that a caller's verb becomes: an edge's verb (`relate`, `POST /:Noun/:id/:verb`)
    and an action's verb and past tense (`record_action`, whose event `<Noun>.<past>` would
    otherwise reach `on.<Noun>.updated` handlers for a write that never happened). Edges
    stored under such a verb before still read and delete: only writing is refused."""
    base = reserved_verb_base(verb)
    if base is not None:
        named = repr(verb) if verb == base else f"{verb!r} is a form of {base!r}, which"
        raise BadRequest(
            f"{named} names the thing store's own events (<Noun>.{conjugate(base).past}): "
            f"{what} needs another verb",
            code="reserved_verb",
        )
    return verb
