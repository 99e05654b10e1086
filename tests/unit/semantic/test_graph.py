"""References in the graph: a thing named as a filter (`Actions.list`, `GET /actions?thing=`)
takes `Type/id` like every other reference, and a bare id; a traversal's hops have one
JSON shape, and what is not that shape is refused naming its keys."""

from __future__ import annotations

from typing import Any

import pytest

from dotdo.core.migrations import migrate
from dotdo.core.sql import Sql
from dotdo.errors import BadRequest
from dotdo.semantic.graph import GRAPH_TABLES, Actions, Hop, Ref, Relationships, thing_filter
from dotdo.semantic.registry import REGISTRY_TABLES, Verbs
from tests.storage import Storage


def graph() -> tuple[Actions, Relationships]:
    sql = Sql(Storage())
    migrate(sql, [REGISTRY_TABLES, GRAPH_TABLES], 1)
    relationships = Relationships(sql, lambda: 1)
    ids = iter(f"01j{n:023d}" for n in range(1, 10_000))
    actions = Actions(
        sql, Verbs(sql, lambda: 1), lambda *event: next(ids), relationships, lambda: 1, lambda: next(ids)
    )
    return actions, relationships


def subjects(entries: list[dict[str, Any]]) -> list[str]:
    return [f"{e['subject']['$type']}/{e['subject']['$id']}" for e in entries]


def test_a_thing_filter_is_type_and_id_or_a_bare_id() -> None:
    actions, _ = graph()
    actions.record("Task/t1", "start")
    actions.record("Person/ada", "assign", "Task/t1")
    actions.record("Task/t2", "start")
    both = ["Task/t1", "Person/ada"]
    assert subjects(actions.list("Task/t1")) == both  # was []: only the bare id matched
    assert subjects(actions.list({"$type": "Task", "$id": "t1"})) == both
    assert subjects(actions.list(Ref("Task", "t1"))) == both
    assert subjects(actions.list("t1")) == both
    assert actions.list("Project/t1") == []  # another type names another thing: no match
    assert subjects(actions.list("Person/ada")) == ["Person/ada"]


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("Task/", "invalid_id"),
        ("task/t1", "invalid_type"),
        ("bad id", "invalid_id"),
        ("", "invalid_id"),
        (7, "invalid_ref"),
    ],
)
def test_a_thing_filter_that_names_no_thing_is_refused(value: Any, code: str) -> None:
    actions, _ = graph()
    with pytest.raises(BadRequest) as raised:
        actions.list(value)
    assert raised.value.code == code
    with pytest.raises(BadRequest):
        thing_filter(value)


def test_a_hop_is_an_object_with_verb_direction_and_type() -> None:
    assert Hop.from_json({"verb": "placed"}) == Hop("placed", "out", None)
    assert Hop.from_json({"verb": "placed", "direction": "in", "type": "Order"}) == Hop(
        "placed", "in", "Order"
    )
    assert Hop.from_json({"verb": "placed", "type": None}) == Hop("placed")


@pytest.mark.parametrize(
    ("value", "code", "says"),
    [
        (["placed", "out"], "invalid_traversal", "got an array"),
        ("placed", "invalid_traversal", "got 'placed'"),
        ({"direction": "in"}, "invalid_traversal", '"verb"'),
        ({"verb": "placed", "dir": "in"}, "invalid_traversal", "'dir'"),
        ({"verb": "placed", "direction": "up"}, "invalid_direction", "'out' or 'in'"),
        ({"verb": "Placed"}, "invalid_verb", "verb"),
        ({"verb": "placed", "type": "order"}, "invalid_type", "type"),
    ],
)
def test_a_hop_of_another_shape_is_refused_naming_the_keys(value: Any, code: str, says: str) -> None:
    with pytest.raises(BadRequest) as raised:
        Hop.from_json(value, 1)
    assert raised.value.code == code
    assert says in str(raised.value)
    if code == "invalid_traversal":
        assert "hops[1]" in str(raised.value)
        assert all(key in str(raised.value) for key in ("verb", "direction", "type"))


def test_traverse_takes_hops_as_json_objects_or_hops() -> None:
    _, relationships = graph()
    relationships.relate("Customer/ada", "placed", "Order/o1")
    relationships.relate("Order/o1", "contains", "Product/p1")
    json_hops = [{"verb": "placed"}, {"verb": "contains", "type": "Product"}]
    assert relationships.traverse("Customer/ada", json_hops) == [Ref("Product", "p1")]
    assert relationships.traverse("Customer/ada", [Hop("placed"), Hop("contains")]) == [Ref("Product", "p1")]
    with pytest.raises(BadRequest) as raised:
        relationships.traverse("Customer/ada", [["placed"]])  # type: ignore[list-item]
    assert raised.value.code == "invalid_traversal"


def test_related_and_traverse_start_from_type_and_id_or_a_bare_id() -> None:
    _, relationships = graph()
    relationships.relate("Task/t4", "partOf", "Project/p1")
    relationships.relate("Project/p1", "ownedBy", "Team/core")
    assert relationships.related("Task/t4", "partOf") == [Ref("Project", "p1")]
    assert relationships.related("t4", "partOf") == [Ref("Project", "p1")]  # was 400 invalid_ref
    assert relationships.related("Order/t4", "partOf") == []  # was Task t4's edges: the type was ignored
    assert relationships.related("Project/p1", "partOf", "in") == [Ref("Task", "t4")]
    assert relationships.related("Team/p1", "partOf", "in") == []
    hops = [{"verb": "partOf"}, {"verb": "ownedBy"}]
    assert relationships.traverse("Task/t4", hops) == [Ref("Team", "core")]
    assert relationships.traverse("t4", hops) == [Ref("Team", "core")]
    assert relationships.traverse("Order/t4", hops) == []


def test_unrelate_removes_only_the_edge_between_those_types() -> None:
    _, relationships = graph()
    relationships.relate("Task/t4", "partOf", "Project/p1")
    assert relationships.unrelate("Task/t4", "partOf", "Order/p1") is False  # was True: removed Project/p1's
    assert relationships.unrelate("Order/t4", "partOf", "Project/p1") is False
    assert relationships.related("Task/t4", "partOf") == [Ref("Project", "p1")]
    assert relationships.unrelate("Task/t4", "partOf", "Project/p1") is True
    assert relationships.related("Task/t4", "partOf") == []


def test_every_action_is_reached_a_page_at_a_time() -> None:
    """`GET /actions` was capped at 1,000 with no cursor: the entries past it were unreachable."""
    actions, _ = graph()
    for n in range(1200):
        actions.record(f"Task/t{n % 3}", "start")
    first = actions.page(limit=1000)
    assert len(first["items"]) == 1000 and first["has_more"] and first["cursor"] == first["items"][-1]["id"]
    rest = actions.page(limit=1000, cursor=first["cursor"])
    assert len(rest["items"]) == 200 and not rest["has_more"] and rest["cursor"] is None
    ids = [entry["id"] for entry in first["items"] + rest["items"]]
    assert ids == sorted(set(ids)) and len(ids) == 1200
    assert actions.list(limit=1000) == first["items"]


@pytest.mark.parametrize("thing", ["Task/t1", "t1", None])
@pytest.mark.parametrize("limit", [1, 2, 5])
def test_the_pages_of_a_filtered_log_are_the_whole_filtered_log(thing: str | None, limit: int) -> None:
    actions, _ = graph()
    for n in range(7):
        actions.record(f"Task/t{n % 2}", "start")
        actions.record("Person/ada", "assign", f"Task/t{n % 2}")
    whole = actions.page(thing, limit=1000)["items"]
    reached: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = actions.page(thing, limit=limit, cursor=cursor)
        assert len(page["items"]) <= limit
        reached.extend(page["items"])
        if not page["has_more"]:
            break
        cursor = page["cursor"]
    assert reached == whole and len(whole) == (14 if thing is None else 6)


def test_an_action_cursor_in_upper_case_gives_the_same_next_page() -> None:
    """`GET /actions?cursor=` with the ULID upper-cased was a 400: Crockford base32 is
    case-insensitive on input (the ULID spec), so it is the same cursor."""
    actions, _ = graph()
    for n in range(5):
        actions.record(f"Task/t{n}", "start")
    first = actions.page(limit=2)
    assert actions.page(limit=2, cursor=first["cursor"].upper()) == actions.page(
        limit=2, cursor=first["cursor"]
    )


@pytest.mark.parametrize("cursor", ["x", "12", "01j", 7, "01J" + "U" * 23])
def test_an_action_cursor_no_page_answered_is_refused(cursor: Any) -> None:
    actions, _ = graph()
    with pytest.raises(BadRequest) as raised:
        actions.page(cursor=cursor)
    assert (raised.value.status, raised.value.code) == (400, "invalid_cursor")
