"""A thing's edges a page at a time (`Relationships.page`): oldest edge first, by cursor,
every edge reachable whatever its count; `total` exact or None, as a list of things
answers it (ADR 0028); a cursor no page answered is refused."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dotdo.core.migrations import migrate
from dotdo.core.sql import Sql
from dotdo.errors import BadRequest
from dotdo.semantic.graph import GRAPH_TABLES, Ref, Relationships
from dotdo.semantic.registry import REGISTRY_TABLES
from tests.storage import Storage


class Clock:
    def __init__(self) -> None:
        self.now = 1_767_225_600_000

    def __call__(self) -> int:
        return self.now


def graph(clock: Clock) -> Relationships:
    sql = Sql(Storage())
    migrate(sql, [REGISTRY_TABLES, GRAPH_TABLES], 1)
    return Relationships(sql, clock)


def pages(relationships: Relationships, limit: int, **options: Any) -> list[dict[str, Any]]:
    """Every page of User/hub's incoming `follows` edges, following the cursors."""
    answered = [relationships.page("User/hub", "follows", "in", limit=limit, **options)]
    while answered[-1]["has_more"]:
        cursor = answered[-1]["cursor"]
        answered.append(
            relationships.page("User/hub", "follows", "in", limit=limit, cursor=cursor, **options)
        )
    return answered


def test_every_one_of_1500_edges_is_reached_a_page_at_a_time() -> None:
    clock = Clock()
    relationships = graph(clock)
    for n in range(1500):
        clock.now += n % 2  # two edges a millisecond: the id orders those
        relationships.relate(f"User/u{n:04d}", "follows", "User/hub")
    first = relationships.page("User/hub", "follows", "in", limit=10)
    assert len(first["items"]) == 10 and first["has_more"]
    assert first["total"] is None  # was 10: the page's length
    assert relationships.page("User/hub", "follows", "in", limit=10, with_total=True)["total"] == 1500
    answered = pages(relationships, 1000)
    assert [len(page["items"]) for page in answered] == [1000, 500]  # edges past 1,000 were unreachable
    assert [page["total"] for page in answered] == [None, None]
    assert answered[-1]["cursor"] is None
    reached = [ref for page in answered for ref in page["items"]]
    assert reached == [Ref("User", f"u{n:04d}") for n in range(1500)]
    assert [page["total"] for page in pages(relationships, 1000, with_total=True)] == [1500, 1500]
    assert relationships.related("User/hub", "follows", "in", limit=1000) == answered[0]["items"]


def test_a_page_that_holds_every_edge_counts_itself() -> None:
    relationships = graph(Clock())
    relationships.relate("User/a", "follows", "User/hub")
    relationships.relate("User/b", "follows", "User/hub")
    page = relationships.page("User/hub", "follows", "in")
    assert page == {
        "items": [Ref("User", "a"), Ref("User", "b")],
        "total": 2,
        "has_more": False,
        "cursor": None,
    }
    assert relationships.page("User/nobody", "follows") == {
        "items": [],
        "total": 0,
        "has_more": False,
        "cursor": None,
    }


def test_a_cursor_continues_after_its_edge_whatever_changed_meanwhile() -> None:
    clock = Clock()
    relationships = graph(clock)
    for name in ("a", "b", "c", "d"):
        clock.now += 1
        relationships.relate("User/hub", "follows", f"User/{name}")
    first = relationships.page("User/hub", "follows", limit=2)
    assert first["items"] == [Ref("User", "a"), Ref("User", "b")]
    relationships.unrelate("User/hub", "follows", "User/b")  # the cursor's own edge, gone
    clock.now += 1
    relationships.relate("User/hub", "follows", "User/e")
    rest = relationships.page("User/hub", "follows", limit=2, cursor=first["cursor"])
    assert rest["items"] == [Ref("User", "c"), Ref("User", "d")] and rest["has_more"]
    last = relationships.page("User/hub", "follows", limit=2, cursor=rest["cursor"])
    assert last["items"] == [Ref("User", "e")] and not last["has_more"] and last["cursor"] is None


@pytest.mark.parametrize(
    "cursor",
    [
        *("x", "", "12", "12.", ".u1", "a.u1", "1.bad id", "1.-u1", "99999999999999999999.u1", 7, ["1", "u"]),
        # a time past 64 bits: SQLite refused it as a parameter (400 `invalid_value`)
        *("9999999999999999999.User/b", "9223372036854775808.User/a", "-9223372036854775809.u1"),
    ],
)
def test_a_cursor_no_page_answered_is_refused(cursor: Any) -> None:
    relationships = graph(Clock())
    relationships.relate("User/a", "follows", "User/hub")
    with pytest.raises(BadRequest) as raised:
        relationships.page("User/hub", "follows", "in", cursor=cursor)
    assert (raised.value.status, raised.value.code) == (400, "invalid_cursor")


@pytest.mark.parametrize(
    ("options", "code"),
    [
        ({"limit": 0}, "invalid_limit"),
        ({"limit": 1001}, "invalid_limit"),
        ({"limit": True}, "invalid_limit"),
        ({"direction": "up"}, "invalid_direction"),
        ({"type_name": "user"}, "invalid_type"),
        ({"verb": "Follows"}, "invalid_verb"),
        ({"thing": "User/"}, "invalid_id"),
    ],
)
def test_a_page_of_bad_arguments_is_refused(options: dict[str, Any], code: str) -> None:
    arguments: dict[str, Any] = {"thing": "User/hub", "verb": "follows", **options}
    with pytest.raises(BadRequest) as raised:
        graph(Clock()).page(**arguments)
    assert raised.value.code == code


@settings(max_examples=60, derandomize=True)
@given(
    edges=st.lists(st.tuples(st.integers(0, 3), st.sampled_from("abcdefgh")), max_size=30),
    limit=st.integers(1, 7),
    in_type=st.sampled_from([None, "User", "Bot"]),
)
def test_the_pages_together_are_the_listing_in_order(
    edges: list[tuple[int, str]], limit: int, in_type: str | None
) -> None:
    """Edges made at few distinct times (ties broken by id), some of them to another type:
    the pages, followed by cursor, are the whole listing, oldest edge first, once each."""
    clock = Clock()
    relationships = graph(clock)
    made: dict[str, tuple[int, str]] = {}
    for at, name in edges:
        clock.now = at
        noun = "Bot" if name in "gh" else "User"
        if relationships.relate("User/hub", "likes", f"{noun}/{name}"):
            made[name] = (at, noun)
    expected = [
        Ref(noun, name) for name, (at, noun) in sorted(made.items(), key=lambda kv: (kv[1][0], kv[0]))
    ]
    expected = [ref for ref in expected if in_type is None or ref.type == in_type]
    reached: list[Ref] = []
    cursor = None
    while True:
        page = relationships.page("User/hub", "likes", type_name=in_type, limit=limit, cursor=cursor)
        assert len(page["items"]) <= limit
        reached.extend(page["items"])
        if not page["has_more"]:
            break
        cursor = page["cursor"]
    assert reached == expected
    assert relationships.related("User/hub", "likes", type_name=in_type, limit=1000) == expected
