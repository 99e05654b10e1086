"""An action's verb is a base form that names no thing-store event: its past tense names
the event (`Customer.<past>`), so an inflected form would be conjugated again
(`created` -> `Customer.createded`) and a lifecycle verb would raise `Customer.updated`
for a write that never happened."""

from __future__ import annotations

import pytest

from dotdo.core.migrations import migrate
from dotdo.core.sql import Sql
from dotdo.errors import BadRequest
from dotdo.semantic.registry import REGISTRY_TABLES, Verbs
from tests.storage import Storage


def verbs() -> Verbs:
    sql = Sql(Storage())
    migrate(sql, [REGISTRY_TABLES], 1)
    return Verbs(sql, lambda: 1)


@pytest.mark.parametrize("verb", ["create", "update", "delete", "restore"])
def test_lifecycle_verbs_are_reserved(verb: str) -> None:
    with pytest.raises(BadRequest) as raised:
        verbs().for_action(verb)
    assert raised.value.code == "reserved_verb"


@pytest.mark.parametrize("verb", ["created", "creating", "creates", "updated", "deletes", "restoring"])
def test_inflected_lifecycle_verbs_are_refused(verb: str) -> None:
    with pytest.raises(BadRequest) as raised:
        verbs().for_action(verb)
    assert raised.value.code in ("invalid_verb", "reserved_verb")
    assert "createded" not in str(raised.value)


def test_an_inflected_registered_verb_names_its_base() -> None:
    registry = verbs()
    registry.register("ship")
    for form in ("shipped", "shipping", "ships"):
        with pytest.raises(BadRequest, match="'ship'") as raised:
            registry.for_action(form)
        assert raised.value.code == "invalid_verb"
    assert registry.for_action("ship").past == "shipped"


@pytest.mark.parametrize(("verb", "past"), [("place", "placed"), ("embed", "embedded"), ("need", "needed")])
def test_other_verbs_keep_their_forms(verb: str, past: str) -> None:
    assert verbs().for_action(verb).past == past
