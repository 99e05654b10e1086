"""A thing deleted for good takes its edges with it, in both directions and in the delete's
transaction: a thing created again under its id inherits none of them, and a delete that
is refused (a stale version) removes none. Soft deletes keep them (the thing comes back)."""

from __future__ import annotations

import pytest

from dotdo.core.migrations import migrate
from dotdo.core.sql import Sql
from dotdo.errors import Conflict
from dotdo.semantic.graph import GRAPH_TABLES, Ref, Relationships
from dotdo.semantic.registry import REGISTRY_TABLES
from dotdo.semantic.store import THING_TABLES, SqliteThingStore
from dotdo.semantic.things import Things
from tests.storage import Storage


class NoEvents:
    def emit(
        self, event_type: str, data: object = None, subject: str | None = None, object: str | None = None
    ) -> str:
        return "event"


def world() -> tuple[Things, Relationships]:
    sql = Sql(Storage())
    migrate(sql, [THING_TABLES, REGISTRY_TABLES, GRAPH_TABLES], 1)
    relationships = Relationships(sql, lambda: 1)
    things = Things(SqliteThingStore(sql), NoEvents(), lambda: 1, on_erase=relationships.forget)
    return things, relationships


def follows(relationships: Relationships, thing: str, direction: str = "out") -> list[str]:
    return [f"{r.type}/{r.id}" for r in relationships.related(thing, "follows", direction)]


def test_a_hard_delete_removes_the_things_edges_both_ways() -> None:
    things, relationships = world()
    for thing_id in ("u1", "u2", "u3"):
        things.create("User", {"$id": thing_id})
    relationships.relate("User/u1", "follows", "User/u2")
    relationships.relate("User/u2", "follows", "User/u3")
    relationships.relate("User/u2", "likes", "User/u2")  # an edge to itself
    relationships.relate("User/u1", "follows", "User/u3")
    relationships.relate("User/u1", "ordered", "Order/u2")  # the same id, another type: another thing
    assert things.delete("User", "u2")
    things.create("User", {"$id": "u2", "name": "NEW u2"})
    assert follows(relationships, "User/u1") == ["User/u3"]  # listed the new u2
    assert follows(relationships, "User/u2", "in") == []
    assert follows(relationships, "User/u2") == []
    assert relationships.related("User/u2", "likes") == []
    assert follows(relationships, "User/u3", "in") == ["User/u1"]
    assert relationships.related("User/u1", "ordered") == [Ref("Order", "u2")]


def test_a_soft_deleted_thing_keeps_its_edges_and_loses_them_when_deleted_for_good() -> None:
    things, relationships = world()
    things.create("User", {"$id": "u1"})
    things.create("User", {"$id": "u2"})
    relationships.relate("User/u1", "follows", "User/u2")
    things.soft_delete("User", "u2")
    things.restore("User", "u2")
    assert follows(relationships, "User/u1") == ["User/u2"]
    things.soft_delete("User", "u2")
    assert things.delete("User", "u2")  # a soft-deleted thing, deleted for good
    assert follows(relationships, "User/u1") == []


def test_a_refused_hard_delete_keeps_the_edges() -> None:
    things, relationships = world()
    things.create("User", {"$id": "u1"})
    things.create("User", {"$id": "u2"})
    relationships.relate("User/u1", "follows", "User/u2")
    with pytest.raises(Conflict):
        things.delete("User", "u2", expected_version=7)
    assert relationships.related("User/u1", "follows") == [Ref("User", "u2")]
    assert not things.delete("User", "nobody")  # nothing there: nothing else removed either
    assert relationships.related("User/u1", "follows") == [Ref("User", "u2")]
