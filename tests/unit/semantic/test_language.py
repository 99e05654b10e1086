"""Nouns and verbs: English forms, and the names that are allowed."""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from dotdo import BadRequest, conjugate, pluralize, singularize
from dotdo.semantic.inflection import _ED_BASES, _IRREGULAR_VERBS, past_tense_bases
from dotdo.semantic.names import (
    MAX_DERIVED_VERB_LENGTH,
    PLURAL_NAME,
    validate_field_path,
    validate_type_name,
    validate_verb,
)
from dotdo.semantic.registry import Noun, Verb


@pytest.mark.parametrize(
    ("singular", "plural"),
    [
        ("Customer", "Customers"),
        ("Person", "People"),
        ("Category", "Categories"),
        ("Box", "Boxes"),
        ("Match", "Matches"),
        ("Day", "Days"),
        ("Leaf", "Leaves"),
        ("Knife", "Knives"),
        ("Hero", "Heroes"),
        ("LineItem", "LineItems"),
        ("SalesPerson", "SalesPeople"),
        ("Child", "Children"),
        ("Series", "Series"),
        ("Address", "Addresses"),
    ],
)
def test_plural_and_back(singular: str, plural: str) -> None:
    assert pluralize(singular) == plural
    assert singularize(plural) == singular


@pytest.mark.parametrize(
    ("base", "past", "participle", "third"),
    [
        ("create", "created", "creating", "creates"),
        ("ship", "shipped", "shipping", "ships"),
        ("place", "placed", "placing", "places"),
        ("pay", "paid", "paying", "pays"),
        ("carry", "carried", "carrying", "carries"),
        ("play", "played", "playing", "plays"),
        ("watch", "watched", "watching", "watches"),
        ("visit", "visited", "visiting", "visits"),
        ("refer", "referred", "referring", "refers"),
        ("agree", "agreed", "agreeing", "agrees"),
        ("die", "died", "dying", "dies"),
        ("signUp", "signedUp", "signingUp", "signsUp"),
        ("send", "sent", "sending", "sends"),
        ("go", "went", "going", "goes"),
    ],
)
def test_verb_forms(base: str, past: str, participle: str, third: str) -> None:
    forms = conjugate(base)
    assert (forms.base, forms.past, forms.participle, forms.third_person) == (base, past, participle, third)


@pytest.mark.parametrize("name", ["customer", "Cust-omer", "Customer'", "", "A" * 65, "Ω", "Customer Order"])
def test_type_names_are_pascal_case(name: str) -> None:
    with pytest.raises(BadRequest) as caught:
        validate_type_name(name)
    assert caught.value.code == "invalid_type"


def test_field_paths_and_verbs() -> None:
    assert validate_field_path("address.city") == "address.city"
    assert validate_field_path("$created_at") == "$created_at"
    for bad in ["a b", "a..b", "a.", "1a", "a'--", "$secret", "a.b.c.d.e.f.g.h.i"]:
        with pytest.raises(BadRequest):
            validate_field_path(bad)
    assert validate_verb("signUp") == "signUp"
    for bad in ["Ship", "ship it", "ship;", ""]:
        with pytest.raises(BadRequest):
            validate_verb(bad)


WORDS = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=12)
IRREGULAR_ENDINGS = st.sampled_from(
    ["child", "person", "ox", "quiz", "knife", "box", "day", "y", "ship", "die"]
)


@given(st.lists(st.one_of(WORDS, IRREGULAR_ENDINGS), min_size=1, max_size=12))
def test_every_type_name_has_a_plural_a_noun_may_have(words: list[str]) -> None:
    name = "".join(word.capitalize() for word in words)[-64:]
    name = name[0].upper() + name[1:]
    noun = Noun(validate_type_name(name)).resolved()  # the plural is derived
    assert noun.plural is not None and PLURAL_NAME.fullmatch(noun.plural)


@given(st.lists(st.one_of(WORDS, IRREGULAR_ENDINGS), min_size=1, max_size=12))
def test_every_verb_short_enough_to_derive_has_forms_that_are_verbs(words: list[str]) -> None:
    verb = (words[0] + "".join(word.capitalize() for word in words[1:]))[:MAX_DERIVED_VERB_LENGTH]
    forms = Verb(validate_verb(verb)).forms()
    assert all(validate_verb(form) for form in (forms.past, forms.participle, forms.third_person))


def test_a_longer_verb_needs_its_forms_given() -> None:
    verb = "ship" + "Z" * (MAX_DERIVED_VERB_LENGTH - 3)
    with pytest.raises(BadRequest) as refused:
        Verb(verb).forms()
    assert refused.value.code == "invalid_verb" and "register it with" in refused.value.message
    given_forms = Verb(verb, past=verb[:-1] + "d", participle=verb[:-1] + "g", third_person=verb[:-1] + "s")
    assert given_forms.forms().past == verb[:-1] + "d"


# A word that is no irregular verb or past, and not spelt as a past (-ed) or as an -ee verb.
IRREGULAR = frozenset(_IRREGULAR_VERBS) | {past for past, _, _ in _IRREGULAR_VERBS.values()}
BASE_WORDS = WORDS.filter(lambda w: len(w) >= 2 and not w.endswith(("ed", "ee")) and w not in IRREGULAR)


@given(BASE_WORDS, st.sampled_from(["", "Up", "Out"]))
def test_the_past_tense_of_a_regular_verb_reads_as_one_of_a_base_with_that_past(word: str, tail: str) -> None:
    """`moved` is not a base to conjugate again (`Item.moveded`): spelling reads it as a past,
    and every base it names has that past; the word itself (no -ed) reads as a base."""
    past = conjugate(word + tail).past
    assume(conjugate(word).past not in _ED_BASES)  # `sl` -> `sled`, which is read as a base
    bases = past_tense_bases(past)
    assert bases and all(conjugate(base).past == past for base in bases), (word, past, bases)
    assert past_tense_bases(word + tail) == ()


@pytest.mark.parametrize(
    ("past", "base"),
    [
        ("moved", "move"),
        ("shipped", "ship"),
        ("carried", "carry"),
        ("died", "die"),
        ("filled", "fill"),
        ("referred", "refer"),
        ("agreed", "agree"),
        ("signedUp", "signUp"),
        ("ran", "run"),
        ("made", "make"),
        ("went", "go"),
    ],
)
def test_common_past_tenses_name_their_base(past: str, base: str) -> None:
    bases = past_tense_bases(past)
    assert bases == (base,) or (past, bases) == ("signedUp", ("signUp", "signeUp"))  # as `played`


@pytest.mark.parametrize(
    "base", ["need", "proceed", "embed", "shed", "wed", "put", "read", "set", "found", "saw", "move", "re"]
)
def test_base_forms_spelt_like_a_past_read_as_bases(base: str) -> None:
    assert past_tense_bases(base) == ()
