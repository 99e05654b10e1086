"""The noun and verb registries: names with their English forms, kept in SQLite
(`dotdo_nouns`, `dotdo_verbs`: the `registry` component, `REGISTRY_TABLES`).

Anything not registered still works with derived forms (`Spaceship` ->
`Spaceships`, `ship` -> `shipped`); registering overrides them (`Person` ->
`People`) and, for nouns, declares indexed properties. The verbs' registry is
`semantic/verbs.py` (`Verb`, `Verbs`, re-exported here).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from dotdo.core.migrations import Component, Migration
from dotdo.core.sql import Sql
from dotdo.errors import BadRequest
from dotdo.semantic.inflection import VerbForms, participle_bases, past_tense_bases, third_person_bases
from dotdo.semantic.names import FIELD_NAME, PLURAL_NAME, validate_field_path, validate_type_name
from dotdo.semantic.plurals import pluralize
from dotdo.semantic.verbs import Verb, Verbs, unreserved

__all__ = [
    "MAX_INDEXES",
    "MAX_OBJECT_INDEXES",
    "REGISTRY_TABLES",
    "Noun",
    "Nouns",
    "Verb",
    "Verbs",
    "check_declarations",
    "index_name",
]

REGISTRY_TABLES = Component(
    "registry",
    (
        Migration(
            1,
            (
                """CREATE TABLE IF NOT EXISTS nouns (
  name TEXT PRIMARY KEY,
  plural TEXT NOT NULL,
  indexes TEXT NOT NULL,
  registered_at INTEGER NOT NULL
)""",
                """CREATE TABLE IF NOT EXISTS verbs (
  base TEXT PRIMARY KEY,
  past TEXT NOT NULL,
  participle TEXT NOT NULL,
  third_person TEXT NOT NULL,
  registered_at INTEGER NOT NULL
)""",
            ),
        ),
        # Plumbing carries the dotdo_ prefix, hidden from the read-only query (ADR 0013).
        Migration(2, ("ALTER TABLE nouns RENAME TO dotdo_nouns", "ALTER TABLE verbs RENAME TO dotdo_verbs")),
    ),
    formerly=(("semantic", 1),),  # one `semantic` track created these tables with the others
)

MAX_INDEXES = 16
"""How many distinct properties one noun may index."""
MAX_OBJECT_INDEXES = 64
"""How many indexes the registered nouns of one object hold together (distinct paths a
noun, summed over its nouns).

Every index is on the whole `things` table, so each costs a row written on every write of
every type: a thing's create checkpoints as 4 rows plus one a declared index, 68 at this
bound (`bench/index_cost.py`, measured on the local runtime). The same measurement finds
the checkpoint's upsert failing with `SQLITE_NOMEM` on workerd between 960 and 1,024
indexes, for good (every flush and query after it answers 500), so the bound keeps an
object far from that too."""


@dataclass(frozen=True)
class Noun:
    """A type of thing: its name, plural, the properties to index and, optionally, its fields.

    `fields` (top-level property names; None: any) is a class declaration only
    (the registry does not store it): property names outside it, in writes and in
    `where`, `order_by` and `select`, are refused with 400 `unknown_field`.
    """

    name: str
    plural: str | None = None
    indexes: tuple[str, ...] = field(default=())
    fields: tuple[str, ...] | None = None

    def resolved(self) -> Noun:
        """This noun checked, with its plural derived when not given and its indexes
        deduplicated (`fields` dropped: it is not stored); 400 `invalid_type` for the
        name, `invalid_noun` for a plural, too many indexes (MAX_INDEXES) or a bad or `$` path."""
        validate_type_name(self.name)
        plural = self.plural or pluralize(self.name)
        if not PLURAL_NAME.fullmatch(plural):
            raise BadRequest(
                f"Invalid plural {plural!r}: plurals are PascalCase too, at most 72 characters",
                code="invalid_noun",
            )
        indexes = tuple(dict.fromkeys(validate_field_path(f, code="invalid_noun") for f in self.indexes))
        if len(indexes) > MAX_INDEXES:  # counted once duplicates are gone: `["a"] * 17` is one index
            raise BadRequest(f"A noun indexes at most {MAX_INDEXES} distinct properties", code="invalid_noun")
        if any(f.startswith("$") for f in indexes):
            raise BadRequest("The $ fields are indexed already", code="invalid_noun")
        return Noun(self.name, plural, indexes)

    def checked_fields(self) -> frozenset[str]:
        """The declared fields, each a top-level property name; ValueError otherwise."""
        if isinstance(self.fields, str) or not isinstance(self.fields, tuple | list):
            raise ValueError(f"Noun {self.name!r}: fields is a tuple of property names")
        for name in self.fields:
            if not isinstance(name, str) or not FIELD_NAME.fullmatch(name):
                raise ValueError(
                    f"Noun {self.name!r}: field {name!r} is not a top-level property name "
                    "(letters, digits and underscores, not starting with a digit)"
                )
        return frozenset(self.fields)

    def to_dict(self) -> dict[str, Any]:
        """`{"name", "singular", "plural", "indexes"}`, as `GET /nouns` lists it."""
        return {
            "name": self.name,
            "singular": self.name,
            "plural": self.plural,
            "indexes": list(self.indexes),
        }


def check_declarations(owner: str, nouns: Sequence[Noun], verbs: Sequence[Verb]) -> None:
    """Refuse a class (`owner`) when it is defined: a `TypeError` when its `declared_nouns`
    index more than MAX_OBJECT_INDEXES distinct paths together; a `ValueError` for a
    `declared_verbs` entry that `Verbs.register` would refuse (no verb, or a form of a verb
    the thing store's own events use: `check_unreserved_verb`), which would otherwise fail
    every start of the object, and for one that `_check_declared_verb` refuses."""
    declared = sum(len(dict.fromkeys(noun.indexes)) for noun in nouns)
    if declared > MAX_OBJECT_INDEXES:
        raise TypeError(
            f"{owner}.declared_nouns index {declared} properties together: an object's nouns "
            f"hold at most {MAX_OBJECT_INDEXES} indexes (each costs a row on every write of every type)"
        )
    seen: dict[str, VerbForms] = {}
    given: set[str] = set()  # the bases declared with a form spelled out
    for verb in verbs:
        try:
            forms = unreserved(verb.forms())
        except BadRequest as error:
            raise ValueError(f"{owner}.declared_verbs: {error.message}") from None
        _check_declared_verb(owner, verb, forms, seen, given)
        seen[forms.base] = forms
        if (verb.past, verb.participle, verb.third_person) != (None, None, None):
            given.add(forms.base)


def _check_declared_verb(
    owner: str, verb: Verb, forms: VerbForms, seen: dict[str, VerbForms], given: set[str]
) -> None:
    """A `ValueError` naming the fix for a declared verb that clashes with one declared before it
    (`format` and `formatted`: `POST /verbs` refuses the second, and actions of `formatted`
    would be refused as a form of `format`; or the same base twice with other forms), or whose
    base, its forms left to be derived, reads as an inflected form (`escalated`: its actions
    would raise `Ticket.escalateded`, and `on.Ticket.escalated` would never be called). A
    verb that spelling misreads as inflected is declared with its forms given
    (`Verb("shred", past="shredded")`): declaring it is how a base is told apart, so one whose
    author spelled out a form is taken as a base, and so is a pair of which one is declared so
    (`Verb("find", past="found")` beside `Verb("found")`), as `register_verb` with a `past`
    takes it beside a registered verb (`given`: the bases declared with a form spelled out)."""
    named = f"{owner}.declared_verbs: "
    if forms.base in seen and seen[forms.base] != forms:
        raise ValueError(f"{named}{forms.base!r} is declared twice, with other forms: declare it once")
    explicit = (verb.past, verb.participle, verb.third_person) != (None, None, None)
    for other in seen.values():
        if explicit or other.base in given:
            continue
        if forms.base != other.base and forms.base in (other.past, other.participle, other.third_person):
            raise ValueError(
                f"{named}{forms.base!r} is a form of the declared verb {other.base!r}, whose actions "
                f"raise <Noun>.{other.past}: declare {other.base!r} alone"
            )
        clash = next(
            (f for f in (forms.past, forms.participle, forms.third_person) if f == other.base != forms.base),
            None,
        )
        if clash is not None:
            raise ValueError(
                f"{named}{clash!r}, a form of {forms.base!r}, is declared as a verb of its own: "
                f"declare {forms.base!r} alone"
            )
    if (verb.past, verb.participle, verb.third_person) != (None, None, None):
        return
    for form, bases in (
        ("a past tense", past_tense_bases(forms.base)),
        ("a present participle", participle_bases(forms.base)),
        ("a third person", third_person_bases(forms.base)),
    ):
        if bases:
            # Spelling cannot always tell which base (`escalated`: `escalat` or `escalate`).
            declare = " or ".join(f"Verb({base!r})" for base in bases)
            raise ValueError(
                f"{named}{forms.base!r} reads as {form} of {' or '.join(map(repr, bases))}, so its "
                f"actions would raise <Noun>.{forms.past}: declare the base form, {declare}, whose "
                f"past names the event; if {forms.base!r} is a base form, give its forms: "
                f"Verb({forms.base!r}, past=...)"
            )


def index_name(type_name: str, path: str) -> str:
    """The quoted SQL name of the index on one property path of one type
    (`"things_Customer_email"`). Both parts are validated identifiers (dots aside),
    so quoting makes the name safe."""
    return f'"things_{type_name}_{path}"'


def index_statement(type_name: str, path: str) -> str:
    """`CREATE INDEX IF NOT EXISTS` for one indexed property: `(type, the property,
    created_at, id)`, so an equality lookup also comes out in the default order."""
    return (
        f"CREATE INDEX IF NOT EXISTS {index_name(type_name, path)} "
        f"ON things (type, json_extract(data, '$.{path}'), created_at, id)"
    )


class Nouns:
    """The registered nouns in `dotdo_nouns`, read once and cached; `sql` the object's
    database, `clock` epoch milliseconds (for `registered_at`)."""

    def __init__(self, sql: Sql, clock: Callable[[], int]) -> None:
        self._sql = sql
        self._clock = clock
        self._registered: dict[str, Noun] | None = None
        self._index_sql: dict[str, str] | None = None
        """Each index of `things` as SQLite holds it: its name in lower case, its CREATE text."""

    def _load(self) -> dict[str, Noun]:
        if self._registered is None:
            self._registered = {
                str(r["name"]): Noun(str(r["name"]), str(r["plural"]), tuple(json.loads(str(r["indexes"]))))
                for r in self._sql.exec("SELECT name, plural, indexes FROM dotdo_nouns")
            }
        return self._registered

    def _forget(self) -> None:
        """Read both caches from SQLite again (a transaction that registered rolled back)."""
        self._registered = None
        self._index_sql = None

    def has_index(self, name: str, path: str) -> bool:
        """Whether SQLite holds the index `index_statement(name, path)` names, on that path.

        Not always so for a path `indexes(name)` lists: SQLite's names ignore case
        (https://sqlite.org/lang_createindex.html: an index's name is unique regardless of
        case), so `things_Item_G` is `things_Item_g` and indexing `G` beside `g` created
        nothing; such a path is read without an index rather than through another path's.
        The indexes of `things` are read once, on the first call."""
        found = self._held_indexes().get(index_name(name, path).strip('"').lower())
        return found is not None and f"'$.{path}')" in found

    def _held_indexes(self) -> dict[str, str]:
        if self._index_sql is None:
            self._index_sql = {
                str(r["name"]).lower(): str(r["sql"])
                for r in self._sql.exec(
                    "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'things' "
                    "AND sql IS NOT NULL"
                )
            }
        return self._index_sql

    def register_declared(self, nouns: Sequence[Noun]) -> None:
        """Register a class's declared nouns. They were held to MAX_OBJECT_INDEXES with the
        class (`check_declarations`), so not again here: nouns registered at run time
        before a deploy declared more may take an object past the bound, never twice past."""
        for noun in nouns:
            self.register(noun.name, noun.plural, noun.indexes, bounded=False)

    def register(
        self, name: str, plural: str | None = None, indexes: Sequence[str] = (), *, bounded: bool = True
    ) -> Noun:
        """Register (or re-register) a noun and create an index for each of `indexes`
        (property paths), in one transaction, dropping those a re-registration no longer
        lists; the noun as stored. 400 as `Noun.resolved`, and `invalid_noun` when the
        object's nouns would hold more than MAX_OBJECT_INDEXES indexes together (unless
        not `bounded`: a class's declared nouns, checked with the class)."""
        # RPC and HTTP refuse these in the argument check; a Python caller (or a Workers
        # RPC one, which calls the method directly) reaches this one.
        if isinstance(indexes, str) or indexes is None:
            raise BadRequest("indexes is an array of property names ([] for none)", code="invalid_noun")
        noun = Noun(name, plural, tuple(indexes)).resolved()
        registered = self._load()
        before = registered.get(noun.name)
        if before == noun:
            return noun
        held = sum(len(n.indexes) for n in registered.values() if n.name != noun.name)
        if (
            bounded
            and held + len(noun.indexes) > MAX_OBJECT_INDEXES
            and len(noun.indexes) > (0 if before is None else len(before.indexes))
        ):
            raise BadRequest(
                f"An object's nouns hold at most {MAX_OBJECT_INDEXES} indexes together (each costs a "
                f"row on every write of every type): {held} are held by other nouns, {noun.name} asks "
                f"for {len(noun.indexes)}",
                code="invalid_noun",
            )
        dropped = [] if before is None else [path for path in before.indexes if path not in noun.indexes]
        held_sql = self._held_indexes() if dropped else {}

        def work() -> None:
            # An enclosing transaction that fails takes the indexes and the row back: so do
            # the caches (a query would name an index SQLite no longer has).
            self._sql.on_rollback(self._forget)
            for path in dropped:
                # Only the index this noun's path created: another name differing in case only
                # is the same name to SQLite, and may be another noun's or path's index.
                found = held_sql.get(index_name(noun.name, path).strip('"').lower(), "")
                if (
                    found.startswith(f"CREATE INDEX {index_name(noun.name, path)} ")
                    and f"'$.{path}')" in found
                ):
                    self._sql.run(f"DROP INDEX IF EXISTS {index_name(noun.name, path)}")
            for path in noun.indexes:
                self._sql.run(index_statement(noun.name, path))
            self._sql.run(
                "INSERT INTO dotdo_nouns (name, plural, indexes, registered_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(name) DO UPDATE SET plural = excluded.plural, indexes = excluded.indexes",
                noun.name,
                noun.plural,
                json.dumps(list(noun.indexes)),
                self._clock(),
            )

        self._sql.transaction(work)
        self._load()[noun.name] = noun
        self._index_sql = None  # read again: IF NOT EXISTS may have created nothing
        return noun

    def get(self, name: str) -> Noun:
        """The registered noun, or one with derived forms and no indexes; 400 `invalid_type`."""
        registered = self._load().get(validate_type_name(name))
        return registered if registered is not None else Noun(name).resolved()

    def is_registered(self, name: str) -> bool:
        """Was `name` registered (declared, or by `register` at run time)?"""
        return name in self._load()

    def indexes(self, name: str) -> tuple[str, ...]:
        """The property paths of the registered noun `name` that have an index
        (`index_statement`, created with the noun's row); () for a noun not registered."""
        noun = self._load().get(name)
        return () if noun is None else noun.indexes

    def all(self) -> list[Noun]:
        """The registered nouns, sorted by name."""
        return sorted(self._load().values(), key=lambda n: n.name)
