"""References to things: `Ref`, and the forms a caller writes one in (`"Type/id"`, a thing,
`{"$type", "$id"}`; a bare id where a filter takes one). Edges, actions and the audit log's
filter read them here, so every surface takes the same forms."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dotdo.errors import BadRequest
from dotdo.semantic.names import validate_type_name
from dotdo.semantic.thingdata import validate_id

__all__ = ["Ref", "as_ref", "thing_filter"]


@dataclass(frozen=True)
class Ref:
    """A reference to a thing: its type and id."""

    type: str
    id: str

    def to_dict(self) -> dict[str, str]:
        """`{"$type", "$id"}`, as edges and actions answer their ends."""
        return {"$type": self.type, "$id": self.id}


def as_ref(value: Any, role: str = "thing") -> Ref:
    """A Ref from a thing (`{"$type", "$id", ...}`), a Ref, or a `"Type/id"` string; 400
    `invalid_ref` for anything else (`role` names it in the message), `invalid_type`,
    `invalid_id`."""
    if isinstance(value, Ref):
        return value
    if isinstance(value, Mapping):
        type_name, thing_id = value.get("$type"), value.get("$id")
    elif isinstance(value, str) and "/" in value:
        type_name, _, thing_id = value.partition("/")
    else:
        raise BadRequest(f"The {role} is a thing, {{'$type', '$id'}} or 'Type/id'", code="invalid_ref")
    return Ref(validate_type_name(type_name), validate_id(thing_id))


def thing_filter(value: Any, role: str = "thing") -> Ref | str:
    """A thing named to filter by (`GET /actions?thing=`): `"Type/id"`, a thing or
    `{"$type", "$id"}`, or a Ref, as `as_ref` takes them, and also a bare id (ids are unique
    across the types of one object, so it names one thing). A Ref, or the bare id (a str).
    400 `invalid_ref` for a value of another kind, `invalid_type`, `invalid_id`."""
    if isinstance(value, str) and "/" not in value:
        return validate_id(value)
    return as_ref(value, role)
