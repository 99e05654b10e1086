"""A thing list pages by cursor (`keyset`): the pages a cursor walks, joined, are the one big
list, in any order (`order_by` on properties holding nothing, null, numbers, booleans,
strings, arrays and objects, ties), with a where clause in SQL or partly in Python, on rows
in `things` and on records still in DOStorage's overlay; a page starts after the previous
one's last thing whatever was created or deleted meanwhile; a cursor is its own query's."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dotdo.errors import BadRequest
from dotdo.semantic.query import ThingQuery
from tests.inprocess import T0
from tests.storage import Clock, Storage
from tests.unit.storage.test_tiers import Node

_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.sampled_from([0, 1, -2, 0.5, 1.0, 2**60, -(2**63), 1e300, -0.0]),
    st.integers(-3, 3),
    st.sampled_from(["", "a", "B", "10", "é", "[1,2]", '{"a":1}', "z\u00e9\u20ac", "\x01"]),
)
_VALUES = st.one_of(
    _SCALARS,
    st.lists(_SCALARS, max_size=2),
    st.dictionaries(st.sampled_from(["a", "b"]), _SCALARS, max_size=2),
)
_PROPERTIES = st.dictionaries(
    st.sampled_from(["a", "b", "s"]), _VALUES | st.dictionaries(st.sampled_from(["b"]), _VALUES), max_size=3
)
_FIELDS = ["a", "b", "a.b", "s", "$updated_at", "$deleted_at", "$id", "$version"]
_ORDERS = st.lists(st.tuples(st.sampled_from(_FIELDS), st.sampled_from(["asc", "desc"])), max_size=3)
_WHERES = st.sampled_from(
    [
        None,
        {"b": {"$ne": None}},
        {"s": {"$regex": "a|^$"}},  # left to Python: the residual walk
        {"a": {"$gte": 0}},  # a seek by the index on `a`, when there is one
    ]
)


def _node(indexed: bool) -> Node:
    node = Node(Storage(), Clock(T0), tiered=True)
    if indexed:  # the list may read by the index on `a` (its order, or a seek)
        node.nouns.register("Customer", indexes=["a"])
    return node


def _walk(node: Node, limit: int, **options: Any) -> list[str]:
    ids: list[str] = []
    cursor = None
    for _ in range(200):
        page = node.things.list("Customer", ThingQuery.build(limit=limit, cursor=cursor, **options))
        ids += [thing["$id"] for thing in page["items"]]
        assert (page["cursor"] is None) == (not page["has_more"])
        if not page["has_more"]:
            return ids
        cursor = page["cursor"]
    raise AssertionError("the walk did not end")


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(
    things=st.lists(_PROPERTIES, max_size=14),
    flush_after=st.integers(0, 14),
    order=_ORDERS,
    where=_WHERES,
    limit=st.integers(1, 5),
    indexed=st.booleans(),
    data=st.data(),
)
def test_pages_by_cursor_are_the_one_big_list(
    things: list[dict[str, Any]],
    flush_after: int,
    order: list[tuple[str, str]],
    where: dict[str, Any] | None,
    limit: int,
    indexed: bool,
    data: st.DataObject,
) -> None:
    node = _node(indexed)
    for index, properties in enumerate(things):
        if index == flush_after:
            node.tiers.flush()  # the rows before are in `things`, the rest in the overlay
        node.things.create("Customer", {"$id": f"c{index:02}", **properties})
        node.clock.advance(data.draw(st.sampled_from([0, 0, 1])))  # creation times tie too
    for index in data.draw(st.sets(st.integers(0, max(len(things) - 1, 0)))) if things else ():
        node.things.soft_delete("Customer", f"c{index:02}")
    include_deleted = data.draw(st.booleans())
    options = {"order_by": order, "where": where, "include_deleted": include_deleted}
    everything = node.things.list("Customer", ThingQuery.build(limit=1000, **options))
    assert _walk(node, limit, **options) == [thing["$id"] for thing in everything["items"]]


def _customers(n: int, clock_step: int = 1) -> Node:
    node = _node(indexed=False)
    for index in range(n):
        node.things.create("Customer", {"$id": f"c{index:02}", "n": index % 3})
        node.clock.advance(clock_step)
    return node


def test_a_page_starts_after_the_last_thing_whatever_was_created_or_deleted() -> None:
    """Offset paging skips a thing when one before the page is deleted and repeats one when
    one is created before it; a cursor names the last thing itself."""
    node = _customers(10)
    first = node.things.list("Customer", ThingQuery.build(limit=4, order_by="n"))
    assert [t["$id"] for t in first["items"]] == ["c00", "c03", "c06", "c09"]
    node.things.delete("Customer", "c00")
    node.things.delete("Customer", "c03")
    node.things.create("Customer", {"$id": "a-new", "n": -1})  # sorts before the cursor: not seen
    node.things.create("Customer", {"$id": "b-new", "n": 1})
    rest = _walk_from(node, first["cursor"], order_by="n")
    assert rest == ["c01", "c04", "c07", "b-new", "c02", "c05", "c08"]


def _walk_from(node: Node, cursor: str, **options: Any) -> list[str]:
    ids: list[str] = []
    while cursor is not None:
        page = node.things.list("Customer", ThingQuery.build(limit=2, cursor=cursor, **options))
        ids += [thing["$id"] for thing in page["items"]]
        cursor = page["cursor"]
    return ids


def test_the_default_order_s_cursor_is_the_table_s_key() -> None:
    node = _customers(3)
    page = node.things.list("Customer", ThingQuery.build(limit=2))
    _, created_at, last = page["cursor"].split("~")
    assert (int(created_at), last) == (T0 + 1, "c01")


def test_total_after_a_cursor_counts_every_match_only_when_asked() -> None:
    node = _customers(7)
    first = node.things.list("Customer", ThingQuery.build(limit=3, with_total=False))
    assert (first["total"], first["has_more"]) == (None, True)
    for with_total, total in ((True, 7), (False, None)):
        last = node.things.list(
            "Customer", ThingQuery.build(limit=10, cursor=first["cursor"], with_total=with_total)
        )
        assert (len(last["items"]), last["has_more"], last["cursor"], last["total"]) == (
            4,
            False,
            None,
            total,
        )
    residual = {"$id": {"$regex": "^c"}}
    first = node.things.list("Customer", ThingQuery.build(where=residual, limit=3, with_total=True))
    assert first["total"] == 7
    after = first["cursor"]
    last = node.things.list(
        "Customer", ThingQuery.build(where=residual, limit=3, with_total=True, cursor=after)
    )
    assert ([t["$id"] for t in last["items"]], last["total"]) == (["c03", "c04", "c05"], 7)


def test_limit_zero_answers_the_cursor_it_was_given() -> None:
    node = _customers(4)
    first = node.things.list("Customer", ThingQuery.build(limit=1))
    empty = node.things.list("Customer", ThingQuery.build(limit=0, cursor=first["cursor"]))
    assert (empty["items"], empty["has_more"], empty["cursor"]) == ([], True, first["cursor"])


def _code(call: Any) -> str:
    with pytest.raises(BadRequest) as raised:
        call()
    assert raised.value.status == 400
    return raised.value.code


@pytest.mark.parametrize(
    "other",
    [
        {"where": {"n": 1}},
        {"order_by": "-n"},
        {"order_by": "n,$id"},
        {"include_deleted": True},
        {"type_name": "Order"},
        {"order_by": None},
    ],
)
def test_a_cursor_of_another_list_is_refused(other: dict[str, Any]) -> None:
    node = _customers(5)
    options: dict[str, Any] = {"where": {"n": {"$gte": 0}}, "order_by": "n"}
    cursor = node.things.list("Customer", ThingQuery.build(limit=2, **options))["cursor"]
    assert cursor is not None
    type_name = other.pop("type_name", "Customer")
    query = (
        ThingQuery.build(limit=2, **{**options, **other}) if other else ThingQuery.build(limit=2, **options)
    )
    assert _code(lambda: node.things.list(type_name, query.after(cursor))) == "invalid_cursor"
    # The same query with another limit, projection or count takes it.
    same = ThingQuery.build(limit=5, select=["n"], with_total=False, cursor=cursor, **options)
    assert [t["$id"] for t in node.things.list("Customer", same)["items"]] == ["c01", "c04", "c02"]


@pytest.mark.parametrize(
    "cursor",
    [
        "nope",
        "0123456789ab~1~c01~",
        "0123456789ab~x~c01",
        "0123456789ab~1~c 01",
        "0123456789ab~1~c01~!!",
        "0123456789ab~1~c01~" + "W1tbW1tb" * 200,
        "0123456789ab~1~c01~e30",  # `{}`: no array of the order's values
        "0123456789ab~1~c01~WzEsMl0",  # two values for one term
        "0123456789ab~1~abc~WzFlOTk5XQ",  # `[1e999]`: infinity to Python's `json` (it was a 500)
        "0123456789ab~1~abc~Wy0xZTk5OV0",  # `[-1e999]`
        "0123456789ab~1~abc~W1sxZTk5OV1d",  # `[[1e999]]`
        "0123456789ab~1~abc~WzkyMjMzNzIwMzY4NTQ3NzU4MDhd",  # `[9223372036854775808]`: past 64 bits
        "0123456789ab~9999999999999999999~abc~WzFd",  # a `created_at` past 64 bits
        7,
    ],
    ids=lambda cursor: str(cursor)[:32],
)
def test_a_garbled_cursor_is_refused(cursor: Any) -> None:
    node = _customers(2)
    assert _code(lambda: ThingQuery.build(order_by="n", cursor=cursor)) == "invalid_cursor"
    assert _code(lambda: ThingQuery.from_params({"order_by": "n", "cursor": str(cursor)})) == "invalid_cursor"
    assert node.things.count("Customer", ThingQuery.build()) == 2


def test_a_cursor_with_an_offset_is_refused() -> None:
    node = _customers(3)
    cursor = node.things.list("Customer", ThingQuery.build(limit=1))["cursor"]
    assert _code(lambda: ThingQuery.build(offset=1, cursor=cursor)) == "invalid_query"
    assert _code(lambda: ThingQuery.from_params({"offset": "1", "cursor": cursor})) == "invalid_query"
    # an offset of 0 skips nothing: a client sending `offset: 0` with every page (it was refused)
    assert ThingQuery.build(offset=0, cursor=cursor) == ThingQuery.build(cursor=cursor)
    assert ThingQuery.from_params({"offset": "0", "cursor": cursor}) == ThingQuery.from_params(
        {"cursor": cursor}
    )
    assert ThingQuery.from_params({"cursor": ""}) == ThingQuery.from_params({})  # empty: absent


def test_a_url_s_cursor_keeps_the_parsed_query() -> None:
    node = _customers(5)
    params = {"where": json.dumps({"n": {"$gte": 0}}), "limit": "2"}
    first = node.things.list_text("Customer", ThingQuery.from_params(params))
    cursor = json.loads(first)["cursor"]
    after = ThingQuery.from_params({**params, "cursor": cursor})
    assert after.where is ThingQuery.from_params(params).where  # the cached compile
    page = json.loads(node.things.list_text("Customer", after))
    assert [t["$id"] for t in page["items"]] == ["c02", "c03"]
    assert page == json.loads(json.dumps(node.things.list("Customer", after)))
