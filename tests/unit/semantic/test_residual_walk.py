"""A query with a residual (a `$regex`, checked in Python on the candidates SQLite selects)
reads at most MAX_WALK_BYTES of candidates a request (`list_pages.Walk`): a page stops
there with `has_more` and a cursor after the last candidate read, matched or not, so
following cursors finds every match once; a total, a count, `find_first`, an `offset` or
`limit` 0 that needs the rest of the walk is a 400 `query_too_costly`. Before, one
request walked the whole type: `total=exact` with a `$regex` over 1 MB things held the
object 196 s on the local runtime."""

from __future__ import annotations

from typing import Any

import pytest

from dotdo.errors import QueryValidationError
from dotdo.semantic import list_pages
from dotdo.semantic.query import ThingQuery
from tests.inprocess import T0
from tests.storage import Clock, Storage
from tests.unit.storage.test_tiers import Node

PAD = "v" * 1_000
HITS = ["i03", "i11", "i17"]  # the things the `$regex` matches
WHERE = {"name": {"$regex": "^hit"}}


@pytest.fixture(params=[False, True], ids=["direct", "tiered"])
def node(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Node:
    # Four candidates of ~2,046 bytes (their text and WALK_ROW_BYTES) a request; the fifth passes.
    monkeypatch.setattr(list_pages, "MAX_WALK_BYTES", 4 * 2_100)
    node = Node(Storage(), Clock(T0), tiered=request.param)
    for n in range(20):
        node.clock.advance(1)
        name = "hit" if f"i{n:02d}" in HITS else "miss"
        node.things.create("Item", {"$id": f"i{n:02d}", "name": name, "pad": PAD})
    return node


def _list(node: Node, **options: Any) -> dict[str, Any]:
    return node.things.list("Item", ThingQuery.build(where=WHERE, order_by="$id", **options))


def test_pages_stop_where_the_walk_does_and_their_cursors_find_every_match_once(node: Node) -> None:
    pages: list[list[str]] = []
    cursor = None
    for _ in range(10):
        page = _list(node, limit=10, cursor=cursor)
        pages.append([thing["$id"] for thing in page["items"]])
        if not page["has_more"]:
            assert page["cursor"] is None
            break
        assert page["cursor"] and page["total"] is None
        cursor = page["cursor"]
    # four candidates a request: i00-i03, i04-i07 (none match: an empty page), ...
    assert pages == [["i03"], [], ["i11"], [], ["i17"]]


def test_a_page_that_fills_before_the_walk_stops_is_exact(node: Node) -> None:
    page = _list(node, limit=1)
    assert [t["$id"] for t in page["items"]] == ["i03"] and page["has_more"]
    after = _list(node, limit=1, cursor=page["cursor"])
    assert [t["$id"] for t in after["items"]] == [] and after["has_more"]  # i04-i07 read


@pytest.mark.parametrize(
    "options",
    [{"with_total": True}, {"offset": 2}, {"limit": 10, "with_total": True, "cursor": "first"}],
)
def test_what_needs_the_rest_of_the_walk_is_refused(node: Node, options: dict[str, Any]) -> None:
    if options.get("cursor") == "first":
        options["cursor"] = _list(node, limit=10)["cursor"]
    with pytest.raises(QueryValidationError) as refused:
        _list(node, **options)
    assert (refused.value.status, refused.value.code) == (400, "query_too_costly")
    assert "condition SQLite runs" in str(refused.value)


def test_limit_zero_answers_whether_the_walk_found_a_match(node: Node) -> None:
    assert _list(node, limit=0)["has_more"] is True  # i03, within the walk
    late = {"$id": {"$gte": "i08"}, "name": {"$regex": "^hit"}}  # i08-i11 read: i11
    assert node.things.list("Item", ThingQuery.build(where=late, limit=0, order_by="$id"))["has_more"]
    none = {"$id": {"$gte": "i18"}, "name": {"$regex": "^hit"}}
    assert node.things.list("Item", ThingQuery.build(where=none, limit=0))["has_more"] is False
    later = {"$id": {"$gte": "i12"}, "name": {"$regex": "^hit"}}  # i12-i15 read, i17 not reached
    with pytest.raises(QueryValidationError, match="reaching the page"):
        node.things.list("Item", ThingQuery.build(where=later, limit=0, order_by="$id"))


def test_count_and_find_first_past_the_walk_are_refused_and_within_it_answer(node: Node) -> None:
    query = ThingQuery.build(where=WHERE)
    with pytest.raises(QueryValidationError, match="counting the matches") as refused:
        node.things.count("Item", query)
    assert refused.value.code == "query_too_costly"
    first = node.things.find_first("Item", query)
    assert first is not None and first["$id"] == "i03"  # found within the walk
    late = ThingQuery.build(where={"$id": {"$gte": "i04"}, "name": {"$regex": "^hit"}})
    with pytest.raises(QueryValidationError):  # i04-i07 read, then the walk stops
        node.things.find_first("Item", late)
    narrow = ThingQuery.build(where={"$id": {"$gte": "i16"}, "name": {"$regex": "^hit"}}, with_total=True)
    assert node.things.count("Item", narrow) == 1  # a condition SQLite runs narrows the walk
    assert node.things.list("Item", narrow)["total"] == 1


def test_a_walk_always_reads_its_first_candidate(node: Node, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(list_pages, "MAX_WALK_BYTES", 1)
    pages = []
    cursor = None
    while True:
        page = _list(node, limit=10, cursor=cursor)
        pages.append([t["$id"] for t in page["items"]])
        if not page["has_more"]:
            break
        cursor = page["cursor"]
    assert len(pages) == 20 and [i for p in pages for i in p] == HITS  # one candidate a page


@pytest.mark.parametrize("tiered", [False, True])
def test_a_walk_that_stops_has_read_little_past_where_it_stopped(
    tiered: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The scan under a walk read each later batch of 256 records whole before the walk saw
    one: with 1 MB things a page that stopped after 33 candidates had read 256 MB (20-25 s a
    page on the local runtime, the objects' workerd past 2.9 GB). Now it reads a page's
    bytes at a time, and no more ids than a walk can reach."""
    from dotdo.semantic.store import ThingRecord

    big = "v" * 300_000
    node = Node(Storage(), Clock(T0), tiered=tiered)
    for n in range(300):  # past the first batch of 256
        node.clock.advance(1)
        node.things.create("Item", {"$id": f"i{n:03d}", "name": "miss", "pad": big if n >= 256 else "v"})
    if tiered:
        node.tiers.flush()
    read: list[int] = []
    parse = ThingRecord.from_json.__func__  # type: ignore[attr-defined]
    counted = classmethod(lambda cls, text: read.append(len(text)) or parse(cls, text))
    monkeypatch.setattr(ThingRecord, "from_json", counted)
    monkeypatch.setattr(list_pages, "MAX_WALK_BYTES", 256 * 1200 + 1_000_000)  # the small ones, then ~3 big
    page = node.things.list("Item", ThingQuery.build(where={"name": {"$regex": "^hit"}}, order_by="$id"))
    assert page["items"] == [] and page["has_more"]
    assert sum(read) < 256 * 1200 + 4 * 1024 * 1024 + 600_000  # not the 44 big ones: ~13 MB
