"""Noun registration (`semantic/registry.py`): a registration states the noun's indexes,
so what is not an array of property names (a null included) is refused and changes
nothing, where an empty array is "none" on purpose."""

from __future__ import annotations

from typing import Any

import pytest

from dotdo.core.migrations import migrate
from dotdo.core.sql import Sql
from dotdo.errors import BadRequest
from dotdo.semantic.registry import REGISTRY_TABLES, Nouns
from dotdo.semantic.store import THING_TABLES
from tests.storage import Storage


@pytest.mark.parametrize("indexes", [None, "status"])
def test_indexes_that_are_no_array_are_refused_and_keep_the_nouns(indexes: Any) -> None:
    sql = Sql(Storage())
    migrate(sql, [THING_TABLES, REGISTRY_TABLES], 1)
    nouns = Nouns(sql, lambda: 1)
    nouns.register("Lead", indexes=["status"])
    with pytest.raises(BadRequest) as refused:
        nouns.register("Lead", indexes=indexes)
    assert refused.value.code == "invalid_noun" and "[] for none" in refused.value.message
    assert nouns.indexes("Lead") == ("status",)
    assert nouns.register("Lead", indexes=[]).indexes == ()
