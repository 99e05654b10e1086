"""The noun registry's bounds: indexes counted once duplicates are gone, at most
MAX_INDEXES a noun and MAX_OBJECT_INDEXES an object's nouns together (each index is on the
whole `things` table: a row on every write of every type), and a re-registration leaves
SQLite holding the indexes the noun lists, not the ones it listed before."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from typing import Any

import pytest

from dotdo.core.http import HttpRequest
from dotdo.core.migrations import migrate
from dotdo.core.router import Router
from dotdo.core.sql import Sql
from dotdo.errors import BadRequest
from dotdo.remote.calls import invoke
from dotdo.semantic.durable import DOSemantic
from dotdo.semantic.registry import MAX_INDEXES, MAX_OBJECT_INDEXES, REGISTRY_TABLES, Noun, Nouns
from dotdo.semantic.routes import SemanticRoutes
from dotdo.semantic.store import THING_TABLES
from tests.storage import Clock, Storage


def registry() -> tuple[Nouns, Sql]:
    sql = Sql(Storage())
    migrate(sql, [THING_TABLES, REGISTRY_TABLES], 1_000)
    return Nouns(sql, Clock(1_000)), sql


def held(sql: Sql) -> int:
    """The declared-property indexes SQLite holds on `things`."""
    row = sql.first(
        "SELECT count(*) AS n FROM sqlite_master WHERE type = 'index' AND sql LIKE '%json_extract%'"
    )
    assert row is not None
    return int(row["n"])


def paths(n: int, prefix: str = "p") -> list[str]:
    return [f"{prefix}{i}" for i in range(n)]


def test_a_repeated_path_is_one_index() -> None:
    nouns, sql = registry()
    assert nouns.register("Item", indexes=["a"] * (MAX_INDEXES + 1)).indexes == ("a",)
    assert held(sql) == 1
    with pytest.raises(BadRequest) as refused:
        nouns.register("Item", indexes=paths(MAX_INDEXES + 1))
    assert refused.value.code == "invalid_noun"


def test_an_objects_nouns_hold_at_most_the_bound_together_and_a_refusal_changes_nothing() -> None:
    nouns, sql = registry()
    per_noun = MAX_OBJECT_INDEXES // MAX_INDEXES
    for n in range(per_noun):
        nouns.register(f"Noun{n}", indexes=paths(MAX_INDEXES))
    with pytest.raises(BadRequest, match=f"at most {MAX_OBJECT_INDEXES} indexes") as refused:
        nouns.register("OneMore", indexes=["a"])
    assert refused.value.code == "invalid_noun"
    nouns.register("Noun0", indexes=[*paths(MAX_INDEXES - 1), "q"])  # the same count: no growth
    assert not nouns.is_registered("OneMore") and held(sql) == MAX_OBJECT_INDEXES
    assert nouns.register("OneMore").indexes == ()  # a noun without indexes costs nothing
    nouns.register("Noun0", indexes=paths(4))  # fewer: always allowed, and room is made
    assert held(sql) == MAX_OBJECT_INDEXES - MAX_INDEXES + 4
    assert nouns.register("OneMore", indexes=paths(MAX_INDEXES - 4)).indexes == tuple(paths(MAX_INDEXES - 4))


def test_registering_again_with_other_paths_leaves_only_the_listed_indexes() -> None:
    """Otherwise the bound is no bound: each re-registration would add 16 indexes SQLite
    keeps while the registry lists 16."""
    nouns, sql = registry()
    for round in range(6):
        nouns.register("Item", indexes=paths(MAX_INDEXES, prefix=f"r{round}_"))
    assert held(sql) == MAX_INDEXES
    assert all(nouns.has_index("Item", path) for path in paths(MAX_INDEXES, prefix="r5_"))
    assert not nouns.has_index("Item", "r0_0")


def test_dropping_a_path_keeps_an_index_of_the_same_name_to_sqlite_that_another_path_made() -> None:
    """SQLite's index names ignore case: `things_Item_g` is `things_Item_G`, so dropping
    `G`'s (which never got an index of its own) must not drop `g`'s."""
    nouns, sql = registry()
    nouns.register("Item", indexes=["g", "G"])
    nouns.register("Item", indexes=["g"])
    assert nouns.has_index("Item", "g") and held(sql) == 1


def test_a_class_whose_nouns_index_past_the_bound_fails_when_defined() -> None:
    nouns = tuple(Noun(f"Noun{n}", indexes=tuple(paths(MAX_INDEXES))) for n in range(5))
    with pytest.raises(TypeError, match=f"at most {MAX_OBJECT_INDEXES} indexes"):
        type("TooMany", (DOSemantic,), {"declared_nouns": nouns})
    fits = type("Fits", (DOSemantic,), {"declared_nouns": (*nouns[:3], Noun("Dup", indexes=("a",) * 20))})
    assert len(fits.declared_nouns) == 4


@pytest.mark.parametrize("indexes", [None, "status"])
def test_indexes_that_are_no_array_are_refused_and_keep_the_nouns(indexes: Any) -> None:
    """A registration states the noun's indexes: what is not an array of property names (a
    null included) is refused and changes nothing; an empty array is "none" on purpose."""
    nouns, _ = registry()
    nouns.register("Lead", indexes=["status"])
    with pytest.raises(BadRequest) as refused:
        nouns.register("Lead", indexes=indexes)
    assert refused.value.code == "invalid_noun" and "[] for none" in refused.value.message
    assert nouns.indexes("Lead") == ("status",)
    assert nouns.register("Lead", indexes=[]).indexes == ()


class NounHost:
    """The one method `POST /nouns` calls on its object, over a registry."""

    def __init__(self, nouns: Nouns) -> None:
        self.nouns = nouns

    def register_noun(
        self, name: str, plural: str | None = None, indexes: Sequence[str] = ()
    ) -> dict[str, Any]:
        return self.nouns.register(name, plural, indexes).to_dict()


@pytest.mark.parametrize("indexes", [None, "status", 5])
def test_post_nouns_refuses_indexes_that_are_no_array_as_rpc_does(indexes: Any) -> None:
    """The route had a check of its own (`invalid_noun`) before the argument check that
    RPC answers with: HTTP and RPC now answer alike, and the indexes stay."""
    nouns, _ = registry()
    nouns.register("Lead", indexes=["status"])
    host = NounHost(nouns)
    router = Router()
    SemanticRoutes(host).routes(router)  # type: ignore[arg-type]  # only register_noun is called
    body = {"name": "Lead", "indexes": indexes}
    request = HttpRequest(
        "POST", "http://t.localhost/nouns", {"content-type": "application/json"}, json.dumps(body).encode()
    )
    answer = json.loads(asyncio.run(router.handle(request)).body or b"{}")["error"]
    with pytest.raises(BadRequest) as by_rpc:
        asyncio.run(invoke(host.register_noun, body))
    assert answer["code"] == by_rpc.value.code == "invalid_params"
    assert answer["message"].startswith("Body field 'indexes' takes an array of strings, not ")
    assert nouns.indexes("Lead") == ("status",)
