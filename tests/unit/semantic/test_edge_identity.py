"""An edge's ends are references, type and id (ADR 0041): `Customer/a -owns-> Order/p1` and
`Customer/a -owns-> Project/p1` are two edges, and relate, unrelate, a hard delete's
removal, the pages, traverse and the audit log's filter all name an edge by both."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dotdo.core.migrations import migrate
from dotdo.core.sql import Sql
from dotdo.errors import BadRequest
from dotdo.semantic.edge_pages import edge_cursor
from dotdo.semantic.graph import GRAPH_TABLES, Actions, Ref, Relationships
from dotdo.semantic.registry import REGISTRY_TABLES, Verbs
from tests.storage import Storage


class Clock:
    def __init__(self) -> None:
        self.now = 1_767_225_600_000

    def __call__(self) -> int:
        return self.now


def graph(clock: Clock | None = None) -> Relationships:
    sql = Sql(Storage())
    migrate(sql, [REGISTRY_TABLES, GRAPH_TABLES], 1)
    return Relationships(sql, clock or Clock())


def test_the_same_ids_under_other_types_are_another_edge() -> None:
    relationships = graph()
    assert relationships.relate("Customer/a", "owns", "Order/p1")
    assert relationships.relate("Customer/a", "owns", "Project/p1")  # was False: one row for both
    assert not relationships.relate("Customer/a", "owns", "Project/p1")
    assert relationships.relate("Person/a", "owns", "Order/p1")
    assert relationships.related("Customer/a", "owns") == [Ref("Order", "p1"), Ref("Project", "p1")]
    assert relationships.related("Order/p1", "owns", "in") == [Ref("Customer", "a"), Ref("Person", "a")]
    assert relationships.unrelate("Customer/a", "owns", "Project/p1")  # was False, the row left
    assert relationships.related("Customer/a", "owns") == [Ref("Order", "p1")]
    assert relationships.traverse("Customer/a", [{"verb": "owns"}]) == [Ref("Order", "p1")]


def test_a_hard_deletes_removal_takes_only_that_types_edges() -> None:
    relationships = graph()
    relationships.relate("Customer/a", "owns", "Order/p1")
    relationships.relate("Customer/a", "owns", "Project/p1")
    relationships.forget("Project", "p1")
    assert relationships.related("Customer/a", "owns") == [Ref("Order", "p1")]


def test_an_action_edge_of_another_type_is_its_own() -> None:
    sql = Sql(Storage())
    migrate(sql, [REGISTRY_TABLES, GRAPH_TABLES], 1)
    relationships = Relationships(sql, Clock())
    ids = iter(f"01j{n:023d}" for n in range(1, 1000))
    actions = Actions(
        sql, Verbs(sql, lambda: 1), lambda *event: next(ids), relationships, lambda: 1, lambda: next(ids)
    )
    actions.record("Customer/a", "own", "Order/p1")
    actions.record("Customer/a", "own", "Project/p1")
    assert relationships.related("Customer/a", "owned") == [Ref("Order", "p1"), Ref("Project", "p1")]
    assert [entry["object"] for entry in actions.list("Project/p1")] == [{"$type": "Project", "$id": "p1"}]


def test_a_bare_id_answers_each_other_end_once_at_its_oldest_edge() -> None:
    clock = Clock()
    relationships = graph(clock)
    relationships.relate("Customer/a", "owns", "Order/p1")
    clock.now += 1
    relationships.relate("Person/a", "owns", "Order/p1")
    relationships.relate("Person/a", "owns", "Order/p2")
    page = relationships.page("a", "owns", with_total=True)
    assert page["items"] == [Ref("Order", "p1"), Ref("Order", "p2")] and page["total"] == 2
    first = relationships.page("a", "owns", limit=1)
    assert first["items"] == [Ref("Order", "p1")] and first["has_more"]
    rest = relationships.page("a", "owns", limit=1, cursor=first["cursor"])
    assert rest["items"] == [Ref("Order", "p2")] and not rest["has_more"]


def test_a_cursor_names_the_last_ends_type_and_id() -> None:
    relationships = graph()  # one millisecond: the ends' ids, then their types, order the edges
    for end in ("Project/p1", "Order/p1", "Order/p2"):
        relationships.relate("Customer/a", "owns", end)
    first = relationships.page("Customer/a", "owns", limit=1)
    assert first["cursor"] == "1767225600000.Order/p1"
    second = relationships.page("Customer/a", "owns", limit=1, cursor=first["cursor"])
    assert second["items"] == [Ref("Project", "p1")]  # was unreachable: the cursor skipped the id
    third = relationships.page("Customer/a", "owns", limit=1, cursor=second["cursor"])
    assert third["items"] == [Ref("Order", "p2")] and third["cursor"] is None
    # A cursor of the form before types, from a listing paged across the upgrade: after that id.
    legacy = relationships.page("Customer/a", "owns", cursor="1767225600000.p1")
    assert legacy["items"] == [Ref("Order", "p2")]
    assert edge_cursor("5.Order/p1") == (5, "p1", "Order")
    for bad in ("5.order/p1", "5.Order/", "5./p1"):
        with pytest.raises(BadRequest) as raised:
            edge_cursor(bad)
        assert raised.value.code == "invalid_cursor"


@settings(max_examples=60, derandomize=True)
@given(
    edges=st.lists(
        st.tuples(
            st.integers(0, 2),
            st.sampled_from(["Customer", "Person"]),
            st.sampled_from(["Order", "Job"]),
            st.sampled_from("abc"),
        ),
        max_size=25,
    ),
    limit=st.integers(1, 4),
    bare=st.booleans(),
)
def test_pages_reach_every_end_once_whatever_ids_repeat_across_types(
    edges: list[tuple[int, str, str, str]], limit: int, bare: bool
) -> None:
    """Ends whose ids repeat across types, made at few distinct times: the pages, followed
    by cursor, are every other end once, oldest edge first (ties by id, then type)."""
    clock = Clock()
    relationships = graph(clock)
    first_at: dict[Ref, int] = {}
    for at, near, far, name in edges:
        clock.now = at
        if relationships.relate(f"{near}/x", "owns", f"{far}/{name}") and (bare or near == "Customer"):
            end = Ref(far, name)
            first_at[end] = min(first_at.get(end, at), at)
    expected = sorted(first_at, key=lambda ref: (first_at[ref], ref.id, ref.type))
    start = "x" if bare else "Customer/x"
    reached: list[Ref] = []
    cursor = None
    while True:
        page = relationships.page(start, "owns", limit=limit, cursor=cursor)
        reached.extend(page["items"])
        if not page["has_more"]:
            break
        cursor = page["cursor"]
    assert reached == expected
    assert relationships.page(start, "owns", with_total=True)["total"] == len(expected)
