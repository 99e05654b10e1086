"""`Sql.page` reads a page in one statement while its rows are within their share of its
bytes (`dotdo.core.page_rows`), as a thing page does: each row beside its size, a larger
one read by key after, once the sizes say it fits. Before, every page ran its statement
twice, once for its rows' sizes and once for the rows that fit: two statements, each a
round of crossings under Pyodide. The answers are the two-statement ones: same rows, same
order, same cut."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dotdo.core.page_bytes import MAX_PAGE_BYTES, fitting_count, measure
from dotdo.core.page_rows import PageColumns, in_order, share
from dotdo.core.sql import Sql
from dotdo.types import Row
from tests.storage import Storage

COLUMNS = PageColumns(
    ("k", "a", "b", "n", "c"),
    key="k",
    by_key="SELECT k, a, b, n, c FROM t WHERE k IN (SELECT value FROM json_each(?))",
    measured=("k", "a", "b"),  # `c` is text the cut does not count
)
QUERY = "SELECT k, a, b, n, c FROM t WHERE k >= ? ORDER BY k LIMIT ?"


def two_statements(
    sql: Sql,
    query: str,
    *params: Any,
    columns: PageColumns,
    rows: int,
    max_bytes: int = MAX_PAGE_BYTES,
    used: int = 0,
) -> tuple[list[Row], bool]:
    """`Sql.page` as it read a page before: the statement's sizes, then the rows that fit."""
    size = measure(*(columns.measured or columns.names))
    sizes = [int(row["n"] or 0) for row in sql.exec(f"SELECT {size} AS n FROM ({query})", *params)]
    fitting = fitting_count(sizes, used, max_bytes)
    cut = fitting < len(sizes)
    if fitting == 0:
        return [], cut
    return sql.exec(f"SELECT * FROM ({query}) LIMIT {fitting}" if cut else query, *params), cut


def table(sizes: list[tuple[int, int | None, bool]]) -> tuple[Storage, Sql]:
    """`t` with a row per (text bytes, blob bytes or NULL, text not ASCII) of `sizes`."""
    storage = Storage()
    sql = Sql(storage)
    sql.run("CREATE TABLE t (k TEXT PRIMARY KEY, a TEXT, b BLOB, n INTEGER, c TEXT) WITHOUT ROWID")
    for i, (text, blob, wide) in enumerate(sizes):
        a = "é" * (text // 2) + "v" * (text % 2) if wide else "v" * text
        b = None if blob is None else b"\x00" * blob
        sql.run("INSERT INTO t VALUES (?, ?, ?, ?, ?)", f"k{i:03d}", a, b, i * 7, "c" * (i % 3))
    return storage, sql


def test_a_page_within_its_share_is_one_statement_and_a_larger_row_is_read_by_key() -> None:
    storage, sql = table([(10, None, False)] * 5 + [(300_000, 4, True)] + [(10, 1, False)] * 5)
    statements = storage.sql.statements
    before = len(statements)
    rows, cut = sql.page(QUERY, "k000", 5, columns=COLUMNS, rows=5)
    assert [row["k"] for row in rows] == [f"k{i:03d}" for i in range(5)] and not cut
    assert len(statements) - before == 1  # sizes and rows together
    before = len(statements)
    rows, cut = sql.page(QUERY, "k000", 11, columns=COLUMNS, rows=11)  # share: 381,300 bytes
    assert len(rows) == 11 and len(statements) - before == 1  # the large row is within it
    before = len(statements)
    rows, cut = sql.page(QUERY, "k000", 100, columns=COLUMNS, rows=100)  # share: 41,943 bytes
    assert len(statements) - before == 2 and "json_each" in statements[-1]  # read by key, once
    assert rows == sql.exec(QUERY, "k000", 100) and not cut  # in its place, whole
    assert list(rows[5]) == ["k", "a", "b", "n", "c"]  # the columns in the statement's order
    before = len(statements)
    rows, cut = sql.page(QUERY, "k000", 100, columns=COLUMNS, rows=100, max_bytes=200_000)
    assert [row["k"] for row in rows] == [f"k{i:03d}" for i in range(5)] and cut
    assert len(statements) - before == 1  # past the cut: never read


def test_the_first_row_comes_whatever_its_size_unless_bytes_are_used() -> None:
    _, sql = table([(5_000_000, None, False), (10, None, False)])
    rows, cut = sql.page(QUERY, "k000", 2, columns=COLUMNS, rows=2)
    assert [row["k"] for row in rows] == ["k000"] and cut and len(rows[0]["a"]) == 5_000_000
    rows, cut = sql.page(QUERY, "k001", 2, columns=COLUMNS, rows=2, used=MAX_PAGE_BYTES - 13)
    assert rows == [] and cut  # its 14 bytes (key and text) one past what the page has left
    rows, cut = sql.page(QUERY, "k001", 2, columns=COLUMNS, rows=2, used=MAX_PAGE_BYTES - 14)
    assert [row["k"] for row in rows] == ["k001"] and not cut  # exactly at the budget


def test_share_and_order() -> None:
    assert share(20) == MAX_PAGE_BYTES // 20 and share(0) == MAX_PAGE_BYTES
    assert share(10, max_bytes=1000, used=400) == 60 and share(3, max_bytes=10, used=20) == 0
    held = {"a": 1, "b": None, "d": 4}
    assert in_order(["a", "b", "c", "d", "e"], held, {"c": 3, "b": 9}) == [1, 3, 4]  # b is gone
    with pytest.raises(ValueError, match="not among"):
        PageColumns(("k", "v"), key="id", by_key="")
    with pytest.raises(ValueError, match="not among"):
        PageColumns(("k", "v"), key="k", by_key="", measured=("w",))


ROW = st.tuples(
    st.sampled_from([0, 1, 7, 40, 99, 100, 101, 250, 600, 1_000, 2_500]),
    st.none() | st.integers(min_value=0, max_value=300),
    st.booleans(),
)


@settings(max_examples=300, deadline=None)
@given(
    sizes=st.lists(ROW, max_size=30),
    start=st.integers(min_value=0, max_value=5),
    limit=st.integers(min_value=1, max_value=40),
    max_bytes=st.integers(min_value=0, max_value=3_000),
    used=st.sampled_from([0, 0, 1, 50, 500, 2_999, 4_000]),
)
def test_a_page_answers_what_two_statements_answered(
    sizes: list[tuple[int, int | None, bool]], start: int, limit: int, max_bytes: int, used: int
) -> None:
    storage, sql = table(sizes)
    params = (f"k{start:03d}", limit)
    old = two_statements(sql, QUERY, *params, columns=COLUMNS, rows=limit, max_bytes=max_bytes, used=used)
    before = len(storage.sql.statements)
    rows, cut = sql.page(QUERY, *params, columns=COLUMNS, rows=limit, max_bytes=max_bytes, used=used)
    assert (rows, cut) == old
    within = share(limit, max_bytes, used)
    measured = [(row["k"], len(row["a"].encode()) + len(row["b"] or b"")) for row in rows]
    larger = [k for k, size in measured if size + len(k) > within]
    assert len(storage.sql.statements) - before == (2 if larger else 1)
