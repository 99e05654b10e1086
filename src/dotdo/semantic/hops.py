"""One hop of a traversal (`Hop`) and the checks a hop and a page of edges share: a verb,
a direction (`out` or `in`), a type, a limit. `graph.py` (traversals) and `edge_pages.py`
(pages of one thing's edges) both check their arguments here, so each refuses a bad one
with the same code and words."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from dotdo.errors import BadRequest
from dotdo.remote.fields import unknown_field
from dotdo.semantic.names import validate_type_name, validate_verb

__all__ = ["Hop", "checked_limit"]


def checked_limit(limit: Any, high: int) -> int:
    """`limit` when it is an integer from 1 to `high` (not a bool); else 400 `invalid_limit`."""
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= high:
        raise BadRequest(f"limit is an integer from 1 to {high}", code="invalid_limit")
    return limit


@dataclass(frozen=True)
class Hop:
    """One step of a traversal: follow `verb` edges out of (or into) the current things."""

    verb: str
    direction: str = "out"
    type: str | None = None

    KEYS: ClassVar[tuple[str, ...]] = ("verb", "direction", "type")
    """The keys of a hop's JSON form."""

    @classmethod
    def from_json(cls, value: Any, index: int = 0) -> Hop:
        """A hop from its JSON form, `{"verb": "placed", "direction": "out", "type": "Order"}`
        (`verb` required; `direction` `"out"` (the default) or `"in"`; `type` a noun, or
        null for any), checked (`checked`). `index` is its place in the traversal, named in
        errors: 400 `invalid_traversal` for a value that is not such an object (an array
        `["placed", "out"]` included) or has another key; `invalid_verb`,
        `invalid_direction`, `invalid_type`."""
        shape = '{"verb": <verb>, "direction": "out" (default) or "in", "type": <noun> or null (any)}'
        if not isinstance(value, Mapping) or "verb" not in value:
            got = "an array" if isinstance(value, list | tuple) else f"{value!r:.60}"
            raise BadRequest(f"hops[{index}] is an object {shape}; got {got}", code="invalid_traversal")
        extra = unknown_field(value, cls.KEYS, f"hops[{index}]")
        if extra is not None:
            raise BadRequest(extra, code="invalid_traversal")
        return cls(value["verb"], value.get("direction", "out"), value.get("type")).checked()

    def checked(self) -> Hop:
        """This hop, when its parts are valid; 400 `invalid_verb`, `invalid_direction`
        (`out` or `in`), `invalid_type`."""
        validate_verb(self.verb)
        if self.direction not in ("out", "in"):
            raise BadRequest("direction is 'out' or 'in'", code="invalid_direction")
        if self.type is not None:
            validate_type_name(self.type)
        return self
