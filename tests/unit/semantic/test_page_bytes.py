"""Every list is cut by its bytes as well as by its `limit` (`dotdo.core.page_bytes`): a
page of large items stops before the one that would take it past MAX_PAGE_BYTES, always
keeps its first, says `has_more`, and its cursor walks on to every item exactly once, in
order. Before, a page read all of its `limit` rows at once: a thousand 1 MB events ended
the local runtime's workerd."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from dotdo.core.migrations import Component, migrate
from dotdo.core.page_bytes import MAX_PAGE_BYTES, measure, text_bytes, value_bytes
from dotdo.core.page_rows import PageColumns
from dotdo.core.sql import Sql
from dotdo.core.state import STATE_MIGRATIONS, StateStore
from dotdo.semantic.query import ThingQuery
from dotdo.storage.archive import ArchiveOptions, events_page
from dotdo.storage.buckets import MemoryBucket
from tests.inprocess import T0, App, InProcess, run
from tests.storage import Clock, Storage
from tests.unit.semantic.test_graph import graph
from tests.unit.storage.test_archive import Node as ArchiveNode
from tests.unit.storage.test_tiers import Node

BIG = 600_000  # bytes: six fit a page (4 MiB), the seventh does not
COUNT = 15


def _walk(read: Callable[[str | None], dict[str, Any]], key: str = "id") -> list[list[Any]]:
    """Every page `read(cursor)` answers, from the first until `has_more` is false."""
    pages: list[list[Any]] = []
    cursor = None
    for _ in range(COUNT + 2):
        page = read(cursor)
        pages.append([item[key] for item in page["items"]])
        if not page["has_more"]:
            assert page["cursor"] is None
            return pages
        cursor = page["cursor"]
    raise AssertionError("the pages never end")


def _check(pages: list[list[Any]], expected: list[Any]) -> None:
    assert [item for page in pages for item in page] == expected  # each once, in order
    assert max(len(page) for page in pages) == MAX_PAGE_BYTES // BIG  # cut by bytes, not limit
    assert len(pages) > 1


def test_sql_page_reads_rows_while_they_fit_and_always_the_first() -> None:
    storage = Storage()
    sql = Sql(storage)
    sql.run("CREATE TABLE t (id INTEGER PRIMARY KEY, s TEXT, b BLOB)")
    for n, size in enumerate([10, 3_000_000, 2_000_000, 10, 5_000_000]):
        sql.run("INSERT INTO t VALUES (?, ?, ?)", n, "é" * (size // 2), b"x" * (size % 2))
    size = PageColumns(
        ("id", "s", "b"),
        key="id",
        by_key="SELECT id, s, b FROM t WHERE id IN (SELECT value FROM json_each(?))",
    )
    statement = "SELECT id, s, b FROM t WHERE id >= ? ORDER BY id"
    rows, cut = sql.page(statement, 0, columns=size, rows=5)
    assert [r["id"] for r in rows] == [0, 1] and cut  # 10 + 3,000,000 fit; + 2,000,000 does not
    assert rows[1]["s"] == "é" * 1_500_000
    assert "json_each" in storage.sql.statements[-1]  # the large one that fits, by key
    rows, cut = sql.page(statement, 4, columns=size, rows=5)
    assert [r["id"] for r in rows] == [4] and not cut  # alone past the budget: kept
    rows, cut = sql.page(statement, 2, columns=size, rows=3, max_bytes=2_000_010)
    assert [r["id"] for r in rows] == [2, 3] and cut  # exactly at the budget: kept
    rows, cut = sql.page(statement, 2, columns=size, rows=3, used=MAX_PAGE_BYTES - 100)
    assert rows == [] and cut  # with bytes used elsewhere, even the first may not fit
    assert value_bytes({"a": "é", "b": b"xy", "c": 7, "d": None}) == 4
    assert sql.first(
        f"SELECT {measure('a', 'b', 'c', 'd')} AS n FROM (SELECT 'é' AS a, x'0102' AS b, 7 AS c, NULL AS d)"
    ) == {"n": 4}
    assert text_bytes("\ud800") == 3  # a lone surrogate counts, never raises


def test_state_pages() -> None:
    sql = Sql(Storage())
    migrate(sql, [Component("core", STATE_MIGRATIONS)], 1)
    state = StateStore(sql)
    keys = [f"k{n:02d}" for n in range(COUNT)]
    for key in keys:
        state.set(key, "v" * BIG)

    def read(cursor: str | None) -> dict[str, Any]:
        page = state.list(limit=1000, cursor=cursor)
        return {
            "items": [{"id": k} for k, _ in page.items],
            "has_more": page.cursor is not None,
            "cursor": page.cursor,
        }

    _check(_walk(read), keys)
    reverse = state.list(limit=1000, reverse=True)
    assert [k for k, _ in reverse.items] == keys[::-1][:6]


@pytest.mark.parametrize("tiered", [False, True])
@pytest.mark.parametrize("where", [None, {"pad": {"$regex": "^v"}}])  # in SQL; left to Python
def test_thing_pages(tiered: bool, where: dict[str, Any] | None) -> None:
    node = Node(Storage(), Clock(T0), tiered=tiered)
    ids = [f"i{n:02d}" for n in range(COUNT)]
    for thing_id in ids:
        node.clock.advance(1)
        node.things.create("Item", {"$id": thing_id, "pad": "v" * BIG})

    def read(cursor: str | None) -> dict[str, Any]:
        query = ThingQuery.build(where=where, order_by="$id", limit=1000, cursor=cursor)
        page = node.things.list("Item", query)
        return {**page, "items": [{"id": t["$id"]} for t in page["items"]]}

    _check(_walk(read), ids)
    first = node.things.list("Item", ThingQuery.build(where=where, limit=1000, with_total=True))
    assert first["total"] == COUNT and first["has_more"]
    # `offset` paging goes on from the items a cut page holds
    offset = node.things.list("Item", ThingQuery.build(where=where, order_by="$id", limit=1000, offset=4))
    assert [t["$id"] for t in offset["items"]] == ids[4:10]


def test_a_page_of_small_things_is_one_statement_and_large_ones_are_read_once_they_fit() -> None:
    """A thing page measured its matches, then read their records by key: two statements,
    each a round of crossings under Pyodide. A record within a page's share (MAX_PAGE_BYTES
    over `limit`) now comes with its size; a larger one is read by key once it fits."""
    node = Node(Storage(), Clock(T0), tiered=False)
    for n in range(30):
        node.clock.advance(1)
        node.things.create("Item", {"$id": f"i{n:02d}", "pad": "v" * (BIG if n in (3, 4) else 10)})
    statements = node.storage.sql.statements
    before = len(statements)
    page = node.things.list("Item", ThingQuery.build(order_by="$id", limit=3))
    assert [t["$id"] for t in page["items"]] == ["i00", "i01", "i02"]
    assert len(statements) - before == 1  # one statement: sizes and records together
    before = len(statements)
    page = node.things.list("Item", ThingQuery.build(order_by="$id", limit=10))
    assert [t["$id"] for t in page["items"]] == [f"i{n:02d}" for n in range(10)]
    assert page["items"][3]["pad"] == "v" * BIG
    fetched = statements[before:]
    assert len(fetched) == 2 and "json_each" in fetched[1]  # the two large ones, by key


@pytest.mark.parametrize("tiered", [False, True])
def test_event_pages(tiered: bool) -> None:
    node = Node(Storage(), Clock(T0), tiered=tiered)
    made = [node.events.record("Order.placed", f"o{n}", {"pad": "v" * BIG}) for n in range(COUNT)]
    if tiered:  # some in segments, the rest pending in memory: the page merges them
        node.tiers.flush()
        made += [node.events.record("Order.placed", f"p{n}", {"pad": "v" * BIG}) for n in range(4)]

    def read(cursor: str | None) -> dict[str, Any]:
        return node.events.list(pattern="Order.*", cursor=cursor, limit=1000)

    _check(_walk(read), made)  # the pending ones measured with the stored ones


@pytest.mark.parametrize("tiered", [False, True])
def test_an_event_page_sorts_no_rows(tiered: bool) -> None:
    """A page read the events `ORDER BY id` by the type index (or, on DOStorage, over the
    `events` VIEW): SQLite sorted every matching event, its data too, before the first row
    (on workerd, SQLITE_NOMEM at a hundred 1 MB events). Now it sorts ids at most."""
    node = Node(Storage(), Clock(T0), tiered=tiered)
    for n in range(40):
        node.events.record(f"T{n % 4}.placed", f"o{n}", {"n": n})
        if tiered:
            node.tiers.flush()
    node.storage.sql.db.execute("ANALYZE")
    first = node.events.list(pattern="T1.*", limit=5)
    node.events.list(pattern="T1.*", cursor=first["cursor"], limit=5)
    listing = "(SELECT id, type, data, timestamp, subject, object"
    statement = next(s for s in reversed(node.storage.sql.statements) if listing in s)
    plan = list(node.storage.sql.db.execute(f"EXPLAIN QUERY PLAN {statement}", ["x"] * statement.count("?")))
    ids = {row[0] for row in plan if row[3].startswith("LIST SUBQUERY")}  # the ids' own sort
    assert not [row for row in plan if "TEMP B-TREE" in row[3] and row[1] not in ids], plan


def test_action_pages() -> None:
    actions, _ = graph()
    made = [actions.record(f"Task/t{n}", "start", None, {"pad": "v" * BIG})["id"] for n in range(COUNT)]
    _check(_walk(lambda cursor: actions.page(None, 1000, cursor)), made)


def test_scheduled_send_pages() -> None:
    obj = InProcess(App)
    made = [run(obj.bus.send("Order.placed", {"pad": "v" * BIG}, delay=60 + n)) for n in range(COUNT)]
    _check(_walk(lambda cursor: obj.bus.scheduled(1000, cursor)), made)


def test_archived_event_pages() -> None:
    archived = ArchiveNode(Storage(), MemoryBucket(), Clock(T0), ArchiveOptions(after_ms=0))
    made = [archived.log.record("Order.placed", f"o{n}", {"pad": "v" * BIG}) for n in range(COUNT)]
    archived.clock.advance(1)
    run(archived.archive.run(before=archived.clock()))
    made += [archived.log.record("Order.placed", f"p{n}", {"pad": "v" * BIG}) for n in range(COUNT)]
    assert archived.archive.segments  # the first events are in the archive, the rest in SQLite

    def read(cursor: str | None) -> dict[str, Any]:
        return run(events_page(archived.log, archived.archive, None, None, None, None, cursor, 1000))

    _check(_walk(read), made)
