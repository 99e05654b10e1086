"""Nouns and verbs: English forms, and the names that are allowed."""

from __future__ import annotations

import pytest

from dotdo import BadRequest, conjugate, pluralize, singularize
from dotdo.semantic.names import validate_field_path, validate_type_name, validate_verb


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
