"""The verb registry: verbs with their English forms, kept in SQLite (`dotdo_verbs`, a
table of the `registry` component, `semantic.registry.REGISTRY_TABLES`), and the checks of a
verb an action names. Anything not registered still works with derived forms (`ship` ->
`shipped`); registering overrides them (`register_verb("lay", past="laid")`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from dotdo.core.sql import Sql
from dotdo.errors import BadRequest
from dotdo.semantic.inflection import (
    VerbForms,
    conjugate,
    participle_bases,
    past_tense_bases,
    third_person_bases,
)
from dotdo.semantic.names import MAX_DERIVED_VERB_LENGTH, check_unreserved_verb, validate_verb

__all__ = ["Verb", "Verbs", "unreserved"]


@dataclass(frozen=True)
class Verb:
    """A verb with any irregular forms; the rest are derived."""

    base: str
    past: str | None = None
    participle: str | None = None
    third_person: str | None = None

    def forms(self) -> VerbForms:
        """All four forms, the ones not given derived (`conjugate`); 400 `invalid_verb`
        when the base or any form is not a verb (`validate_verb`)."""
        validate_verb(self.base)
        derives = None in (self.past, self.participle, self.third_person)
        if derives and len(self.base) > MAX_DERIVED_VERB_LENGTH:
            raise BadRequest(
                f"Verb {self.base!r} is longer than {MAX_DERIVED_VERB_LENGTH} characters: register it "
                "with its past, participle and third-person forms (derived ones add up to 4)",
                code="invalid_verb",
            )
        derived = conjugate(self.base)
        forms = VerbForms(
            self.base,
            self.past or derived.past,
            self.participle or derived.participle,
            self.third_person or derived.third_person,
        )
        for form in (forms.past, forms.participle, forms.third_person):
            validate_verb(form)
        return forms


def _form_of(verb: str, registered: dict[str, VerbForms]) -> VerbForms | None:
    """The registered verb, other than `verb` itself, of which `verb` is an inflected form."""
    for known in registered.values():
        if verb != known.base and verb in (known.past, known.participle, known.third_person):
            return known
    return None


def _apart(forms: VerbForms, registered: dict[str, VerbForms]) -> None:
    """400 `invalid_verb` when the verb of `forms` and a registered one share a form."""
    known = _form_of(forms.base, registered)
    if known is not None:
        raise BadRequest(
            f"{forms.base!r} is a form of the registered verb {known.base!r}: register base forms",
            code="invalid_verb",
        )
    for form in (forms.past, forms.participle, forms.third_person):
        if form != forms.base and form in registered:
            raise BadRequest(
                f"{form!r}, a form of {forms.base!r}, is registered as a verb of its own",
                code="invalid_verb",
            )


def unreserved(forms: VerbForms) -> VerbForms:
    """`forms` unless one of them is a form of a reserved verb (400 `reserved_verb`): a
    registered `past="created"` would name `<Noun>.created`, a thing store event."""
    for form in (forms.base, forms.past, forms.participle, forms.third_person):
        check_unreserved_verb(form, "a registered verb")
    return forms


class Verbs:
    """The registered verbs in `dotdo_verbs`, read once and cached; `sql` the object's
    database, `clock` epoch milliseconds (for `registered_at`)."""

    def __init__(self, sql: Sql, clock: Callable[[], int]) -> None:
        self._sql = sql
        self._clock = clock
        self._registered: dict[str, VerbForms] | None = None

    def _load(self) -> dict[str, VerbForms]:
        if self._registered is None:
            self._registered = {
                str(r["base"]): VerbForms(
                    str(r["base"]), str(r["past"]), str(r["participle"]), str(r["third_person"])
                )
                for r in self._sql.exec("SELECT base, past, participle, third_person FROM dotdo_verbs")
            }
        return self._registered

    def register(
        self,
        base: str,
        past: str | None = None,
        participle: str | None = None,
        third_person: str | None = None,
        *,
        apart: bool = True,
    ) -> VerbForms:
        """Register (or re-register) a verb with the forms given, the others derived; its
        forms. 400 `invalid_verb` as `Verb.forms`; 400 `reserved_verb` when any form is a
        form of a verb the thing store's own events use (`create`, or `past="created"`:
        `check_unreserved_verb`, ADR 0044), refused here rather than when first used. With
        `apart` (all but a class's declared verbs, registered at each start), 400
        `invalid_verb` too when `base` is a form of another registered verb (`formatted`
        beside `format`) or one of its forms is registered as a verb (`format` beside
        `formatted`): actions would refuse it as that verb's form. A `past` given takes it
        all the same (`found` beside `find`, `register("see", past="saw")` beside `saw`):
        each registered verb is then a base in actions, and their events differ."""
        forms = unreserved(Verb(base, past, participle, third_person).forms())
        registered = self._load()
        if registered.get(base) == forms:
            return forms
        if apart and not past:
            _apart(forms, registered)
        self._sql.run(
            "INSERT INTO dotdo_verbs (base, past, participle, third_person, registered_at) "
            "VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT(base) DO UPDATE SET past = excluded.past, participle = excluded.participle, "
            "third_person = excluded.third_person",
            forms.base,
            forms.past,
            forms.participle,
            forms.third_person,
            self._clock(),
        )
        self._load()[base] = forms
        return forms

    def get(self, base: str) -> VerbForms:
        """The registered forms, or derived ones; 400 `invalid_verb` for a base that is no verb."""
        registered = self._load().get(validate_verb(base))
        return registered if registered is not None else Verb(base).forms()

    def for_action(self, verb: str) -> VerbForms:
        """The forms of `verb` as an action's verb (`record_action`), whose past tense names
        the event (`Customer.<past>`) and the edge.

        400 `reserved_verb` for a verb, or a past tense, that is a form of one the thing
        store's own events use (`create`, `created`, `update`, ...: `check_unreserved_verb`,
        the rule an edge's verb follows too; an action `Customer.updated` would reach
        `on.Customer.updated` handlers for a write that never happened); 400 `invalid_verb`
        for an inflected form of a registered verb (`ships`) that is no registered verb
        itself, which would be conjugated again (`Customer.shippeded`), and for a verb not
        registered that spelling reads as a past tense, a third person or a present
        participle (`moved`, `ran`, `contains`, `shipping`: `past_tense_bases`,
        `third_person_bases`, `participle_bases`; registering it makes it a base)."""
        forms = self.get(verb)
        check_unreserved_verb(verb, "an action")
        check_unreserved_verb(forms.past, "an action")
        registered = self._load()
        known = None if verb in registered else _form_of(verb, registered)
        if known is not None:
            raise BadRequest(
                f"{verb!r} is a form of the verb {known.base!r}: actions take the base form",
                code="invalid_verb",
            )
        for form, bases in (
            ("a past tense", past_tense_bases),
            ("a third person", third_person_bases),
            ("a present participle", participle_bases),
        ):
            found = () if verb in registered else bases(verb)
            if found:
                of = f" (of {found[0]!r})" if len(found) == 1 else ""
                raise BadRequest(
                    f"{verb!r} is {form}{of}: actions take the base form, whose past names the "
                    f"event (register {verb!r} as a verb if it is a base form)",
                    code="invalid_verb",
                )
        return forms

    def all(self) -> list[VerbForms]:
        """The registered verbs, sorted by base."""
        return sorted(self._load().values(), key=lambda v: v.base)
