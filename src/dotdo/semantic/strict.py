"""Names a user got wrong: known nouns, declared fields, and the closest right name.

A class with `strict_nouns = True` refuses every thing, relationship and action
operation on a noun that is not in the registry (404 `unknown_noun`); a declared
noun with `fields` refuses property names outside them (400 `unknown_field`).
Both answers name the closest known name (`suggestion`), found case-insensitively
with `difflib.get_close_matches` (or one letter away), a noun's plural counting as the noun.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from dotdo.errors import BadRequest, NotFound
from dotdo.semantic.names import SYSTEM_FIELDS, validate_type_name
from dotdo.semantic.plurals import pluralize
from dotdo.semantic.registry import Noun, index_name

if TYPE_CHECKING:
    from dotdo.semantic.query import ThingQuery

__all__ = [
    "SUGGESTION_CUTOFF",
    "NounPolicy",
    "NounRegistry",
    "closest_field",
    "closest_noun",
    "declared_fields",
    "one_edit_apart",
    "unknown_field",
    "unknown_noun",
]

SUGGESTION_CUTOFF = 0.6
"""`difflib.SequenceMatcher.ratio()` a candidate needs to be suggested (difflib's own default);
a name one wrong, missing, extra or swapped letter away is suggested whatever its ratio."""
_LISTED = 20


def one_edit_apart(a: str, b: str) -> bool:
    """Whether one letter dropped, added, changed or swapped with its neighbour turns `a` into `b`."""
    if len(a) == len(b):
        diffs = [i for i in range(len(a)) if a[i] != b[i]]
        if len(diffs) == 2:
            i, j = diffs
            return j == i + 1 and a[i] == b[j] and a[j] == b[i]
        return len(diffs) <= 1
    if abs(len(a) - len(b)) != 1:
        return False
    short, long = (a, b) if len(a) < len(b) else (b, a)
    i = 0
    while i < len(short) and short[i] == long[i]:
        i += 1
    return short[i:] == long[i + 1 :]


def _closest(name: str, forms: Mapping[str, str], cutoff: float = SUGGESTION_CUTOFF) -> str | None:
    """The canonical name whose lower-cased form (a key of `forms`) is nearest to `name`."""
    lowered = name.lower()
    if lowered in forms:
        return forms[lowered]
    import difflib  # here, not at import: only a misspelt name needs it (cold start, item 7)

    matches = difflib.get_close_matches(lowered, list(forms), n=1, cutoff=cutoff)
    if not matches:
        # difflib's matcher is greedy and misses some single typos (`aaa` for `abaa`); one edit
        # away is always a suggestion, whatever the ratio.
        matches = sorted(form for form in forms if one_edit_apart(lowered, form))
    return forms[matches[0]] if matches else None


def closest_noun(name: str, nouns: Iterable[Noun], *, cutoff: float = SUGGESTION_CUTOFF) -> str | None:
    """The noun `name` most likely means, or None when none is close (`cutoff`: the ratio
    a candidate needs, `SUGGESTION_CUTOFF` by default).

    Case is ignored and a noun's plural (registered or derived) counts as the
    noun: `Tiket`, `ticket` and `Tickets` all give `Ticket`; `People` gives `Person`.
    """
    listed = list(nouns)
    forms: dict[str, str] = {}
    for noun in listed:  # names first: a name wins over another noun's plural of the same spelling
        forms.setdefault(noun.name.lower(), noun.name)
    for noun in listed:
        forms.setdefault((noun.plural or pluralize(noun.name)).lower(), noun.name)
    return _closest(name, forms, cutoff)


def closest_field(name: str, fields: Iterable[str]) -> str | None:
    """The declared field `name` most likely means (case ignored), or None."""
    forms: dict[str, str] = {}
    for field_name in fields:
        forms.setdefault(field_name.lower(), field_name)
    return _closest(name, forms)


def unknown_noun(name: str, nouns: Sequence[Noun]) -> NotFound:
    """404 `unknown_noun`: "No noun 'Tiket'; did you mean 'Ticket'?", with `suggestion`."""
    suggestion = closest_noun(name, nouns)
    if suggestion is not None:
        message = f"No noun {name!r}; did you mean {suggestion!r}?"
    else:
        message = f"No noun {name!r}: declare it in declared_nouns or register it (POST /nouns)"
    return NotFound(message, code="unknown_noun", details={"suggestion": suggestion})


def unknown_field(type_name: str, name: str, fields: Iterable[str]) -> BadRequest:
    """400 `unknown_field`: "No field 'stauts' on Ticket; did you mean 'status'?", with `suggestion`."""
    ordered = sorted(fields)
    suggestion = closest_field(name, ordered)
    if suggestion is not None:
        message = f"No field {name!r} on {type_name}; did you mean {suggestion!r}?"
    else:
        listed = ", ".join(ordered[:_LISTED]) + (", ..." if len(ordered) > _LISTED else "")
        message = f"No field {name!r} on {type_name} (its fields: {listed})"
    return BadRequest(message, code="unknown_field", details={"suggestion": suggestion})


def declared_fields(nouns: Iterable[Noun]) -> dict[str, frozenset[str]]:
    """`{noun name: its fields}` for the declared nouns that list `fields`; checked once,
    when the class is defined.

    Raises ValueError for a field that is not a top-level property name, a noun
    declared twice, or an index whose first segment is not among the fields.
    """
    result: dict[str, frozenset[str]] = {}
    names: set[str] = set()
    for noun in nouns:
        if not isinstance(noun, Noun):
            raise ValueError(f"declared_nouns holds Noun(...) values, not {noun!r}")
        if noun.name in names:
            raise ValueError(f"Noun {noun.name!r} is declared twice")
        names.add(noun.name)
        if noun.fields is None:
            continue
        fields = noun.checked_fields()
        for index in noun.indexes:
            if index.split(".")[0] not in fields:
                raise ValueError(f"Noun {noun.name!r} indexes {index!r}, which is not among its fields")
        result[noun.name] = fields
    return result


class NounRegistry(Protocol):
    """What the policy needs of `Nouns`: the registered nouns, declared or registered at run time."""

    def is_registered(self, name: str) -> bool:
        """Is `name` a registered noun?"""

    def all(self) -> list[Noun]:
        """Every registered noun (for the closest-name suggestion)."""

    def indexes(self, name: str) -> tuple[str, ...]:
        """The indexed property paths of the registered noun `name`; () when not registered."""

    def has_index(self, name: str, path: str) -> bool:
        """Does SQLite hold the index of `name` on `path` (`Nouns.has_index`)?"""


class NounPolicy:
    """The check every thing, relationship and action operation makes on the nouns it names.

    `strict`: a noun must be registered (declared on the class, or registered with
    `POST /nouns` / `register_noun` / `nouns.register`), else 404 `unknown_noun`.
    `fields`: the declared fields of some nouns; any other property name of those
    nouns (in writes, where, order_by, select) is a 400 `unknown_field`.
    `registry` is where registered nouns are looked up (`Nouns`). `reserved`: nouns whose
    events only the framework raises (DOFull: `Approval`), which no write names (`check_written`).
    """

    def __init__(
        self,
        registry: NounRegistry,
        strict: bool = False,
        fields: Mapping[str, frozenset[str]] | None = None,
        reserved: Iterable[str] = (),
    ) -> None:
        self.registry = registry
        self.strict = strict
        self.fields = dict(fields or {})
        self.reserved = frozenset(reserved)

    def check(self, type_name: Any) -> str:
        """`type_name` when it is a valid, known noun; 400 `invalid_type` / 404 `unknown_noun` otherwise."""
        name = validate_type_name(type_name)
        if self.strict and not self.registry.is_registered(name):
            raise unknown_noun(name, self.registry.all())
        return name

    def check_written(self, type_name: Any) -> str:
        """`check`, for a write that raises an event of the noun (a thing's `<Noun>.created`,
        an action's `<Noun>.<past>`): 400 `reserved_event_type` for a reserved noun, whose
        events handlers and waits take for the framework's own (an approval's decision)."""
        name = self.check(type_name)
        if name in self.reserved:
            raise BadRequest(
                f"{name} events are raised by the framework only (`{name}.*`): no thing or action "
                f"of the noun {name} is written",
                code="reserved_event_type",
            )
        return name

    def check_fields(self, type_name: str, paths: Iterable[str]) -> None:
        """400 `unknown_field` for the first path whose top-level name is not a declared field
        (nouns without declared fields, and the thing's own `$` fields, always pass)."""
        fields = self.fields.get(type_name)
        if fields is None:
            return
        for path in paths:
            if path in SYSTEM_FIELDS or path.startswith("$"):
                continue
            top = path.split(".")[0]
            if top not in fields:
                raise unknown_field(type_name, top, fields)

    def check_query(self, type_name: str, query: ThingQuery) -> ThingQuery:
        """400 `unknown_field` (`check_fields`) for a path `query` names (where, order_by,
        select) outside the declared fields; else `query`, read by the index of the noun on
        the first property its clause seeks by (`seek_index`, `ThingQuery.index`)."""
        order = [name for name, _ in query.order]
        self.check_fields(type_name, [*sorted(query.where.paths), *order, *(query.select or ())])
        index = self.seek_index(type_name, query.where.seeks)
        return query if index is None else dataclasses.replace(query, index=index)

    def seek_index(self, type_name: str, seeks: Sequence[str]) -> str | None:
        """The quoted name (`registry.index_name`) of the index of the registered noun
        `type_name` on the first of `seeks` (`Pushdown.seeks`) that has one; None when none
        does. SQLite, without statistics, would read such a query's type in list order by
        the table's key rather than seek through the index (ADR 0039)."""
        indexed = self.registry.indexes(type_name) if seeks else ()
        if indexed:
            for path in seeks:
                if path in indexed and self.registry.has_index(type_name, path):
                    return index_name(type_name, path)
        return None
