"""check_query_cost (through validate_sql_query) refuses, before anything runs, the queries
whose work the text multiplies, and admits the documented ones."""

from __future__ import annotations

import sqlite3

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dotdo import SqlSecurityError, validate_sql_query
from dotdo.semantic.sqlcost import MAX_FORMAT_WIDTH, MAX_QUERY_TABLES

DOCUMENTED = [  # the /query examples of docs/api.md, examples/ and the README
    "SELECT count(*) AS n FROM events",
    "SELECT type, subject, json_extract(data, '$.n') AS n FROM events ORDER BY id",
    "SELECT type, count(*) AS n FROM things GROUP BY type",
    "SELECT json_extract(data, '$.name') AS name FROM things WHERE type = ? ORDER BY 1",
    "SELECT id FROM things WHERE type = 'Customer' LIMIT 1000",
    "SELECT id, body FROM notes",
    "SELECT * FROM state WHERE key = ?",
    "SELECT step_id, name, status, attempts, error, next_at FROM action_log",
    "EXPLAIN QUERY PLAN SELECT id FROM things WHERE type = ? AND json_extract(data, '$.email') = ?",
    "SELECT * FROM notes JOIN things ON notes.thing_id = things.id",
    "SELECT t.id, j.value FROM things t, json_each(t.data, '$.tags') j",
    'SELECT t.id, j.key FROM things AS t JOIN json_tree("t".[data]) AS j',  # of a column: the data's rows
    "SELECT value AS n, ? AS s FROM json_each(?)",  # of a value, alone
    "SELECT id FROM things WHERE id IN (SELECT subject FROM events)",
    "SELECT * FROM (SELECT id FROM things)",
    "SELECT id, row_number() OVER (ORDER BY created_at) AS k FROM things",
    "SELECT count(*) FROM things a, things b",
    "SELECT a IS NOT DISTINCT FROM b, c FROM t",  # a comparison, not a source
    "SELECT 'FROM a, b JOIN c' AS s FROM things",  # words in a literal are data
    "SELECT a, b FROM t GROUP BY a, b ORDER BY a, b LIMIT 1, 2",
    "SELECT printf('%5.2f %-20s %% %d', 1.5, name, 3) FROM t",
    "SELECT value FROM json_each('[1, 2]')",
    f"SELECT printf('%{MAX_FORMAT_WIDTH}d', 1), format('%.{MAX_FORMAT_WIDTH}f', 1.0)",
    "SELECT replace(data, 'a', 'b'), substr(data, 1, 10) FROM things",
]


@pytest.mark.parametrize("sql", DOCUMENTED)
def test_the_documented_queries_pass(sql: str) -> None:
    assert validate_sql_query(sql) == sql


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("SELECT count(*) FROM things a, things b, things c, things d", "not 4: its work"),
        ("SELECT count(*) FROM things a, things b, things c", "at most 2 row sources"),
        ("SELECT 1 FROM things a JOIN things b ON a.id = b.id JOIN events e ON 1", "not 3"),
        ("SELECT 1 FROM things a JOIN things b ON a.id = b.id, events e", "not 3"),  # a comma after ON
        ("SELECT 1 FROM (things a JOIN things b) JOIN events", "not 3"),
        # a parenthesised join list: its `,` were counted only at the FROM's own depth
        ("SELECT count(*) FROM (things a, things b), things c", "not 3"),
        ("SELECT count(*) FROM (things a, things b, things c, things d)", "not 4"),
        ("SELECT count(*) FROM ((things a, things b), things c)", "not 3"),
        ("SELECT count(*) FROM things a JOIN (things b, things c) ON 1", "not 3"),
        ("SELECT count(*) FROM (json_each(?) a, json_each(?) b)", "not 4"),
        ("SELECT count(*) FROM (json_each(?) a), things b", "not 3"),
        # `window` is a name to SQLite but in a WINDOW clause: as an alias it ended the count
        ("SELECT count(*) FROM things window, things b, things c", "not 3"),
        ("SELECT count(*) FROM json_each(?) window, json_each(?) b", "not 4"),
        ("SELECT count(*) FROM things AS window, things b, things c", "not 3"),
        ("SELECT 1 FROM (SELECT 1 UNION ALL SELECT 2) a, (SELECT 1 UNION ALL SELECT 2) b", "not 4"),
        ("SELECT 1 FROM (VALUES (1), (2)) a, things b", "not 3"),
        ("SELECT (SELECT count(*) FROM things b WHERE b.id < a.id) FROM things a, events", "not 3"),
        ("SELECT 1 FROM things a, things b WHERE a.id IN things", "not 3"),
        ("SELECT 1 FROM things a, things b WHERE a.id NOT IN [events]", "not 3"),
        ("SELECT max(a.id) OVER (ROWS BETWEEN 9 PRECEDING AND 9 FOLLOWING) FROM things a, things b", "not 3"),
        ("SELECT 1 FROM things UNION ALL SELECT 1 FROM events", "not 3"),  # UNION makes rows too
        ("SELECT count(*) FROM json_each(?) a, json_each(?) b", "not 4"),  # a million rows each
        ("SELECT count(*) FROM things a, json_each(?) b", "not 3"),
        ("SELECT count(*) FROM things a JOIN main.json_tree('[1]') b", "not 3"),
        ("SELECT count(*) FROM things a, json_each(a.data || a.data) b", "not 3"),
        ("SELECT 1 FROM (SELECT ? AS v UNION ALL SELECT ?) s, json_each(s.v)", "not 3"),
        ("SELECT 1 FROM (VALUES (?), (?)) s, json_each(s.column1)", "not 3"),
        ("SELECT randomblob(2000000000)", "randomblob() not allowed"),
        ("SELECT hex(RandomBlob(16))", "randomblob() not allowed"),
        ('SELECT "randomblob"(16)', "randomblob() not allowed"),  # SQLite calls a quoted name too
        ("SELECT zeroblob(1000000000)", "zeroblob() not allowed"),
        ("SELECT length(zeroblob (10))", "zeroblob() not allowed"),
        ("SELECT printf('%.*c', 1000000000, 'x')", "printf() takes a format"),
        ("SELECT printf('%*d', 1000000000, 1)", "printf() takes a format"),
        (f"SELECT printf('%{MAX_FORMAT_WIDTH + 1}d', 1)", "printf() takes a format"),
        (f"SELECT format('%.{MAX_FORMAT_WIDTH + 1}c', 'x')", "format() takes a format"),
        ("SELECT printf('%1000000000c', 'x')", "printf() takes a format"),
        ("SELECT printf(?, 1)", "printf() takes a format"),  # a format the text does not show
        ("SELECT printf('%d' || '%.*c', 1, 1000000, 'x')", "printf() takes a format"),
        ("SELECT printf(data, 1) FROM things", "printf() takes a format"),
    ],
)
def test_a_query_that_multiplies_its_work_is_too_costly(sql: str, message: str) -> None:
    with pytest.raises(SqlSecurityError, match=message.replace("(", r"\(").replace(")", r"\)")) as caught:
        validate_sql_query(sql)
    assert (caught.value.status, caught.value.code) == (400, "query_too_costly")


def test_a_plan_of_a_costly_query_is_answered() -> None:
    # EXPLAIN QUERY PLAN runs nothing: it shows which of the sources an index serves.
    sql = "EXPLAIN QUERY PLAN SELECT count(*) FROM things a, things b, things c"
    assert validate_sql_query(sql) == sql


@pytest.mark.parametrize(
    "sql", ["SELECT 1 FROM", "SELECT 1 FROM t,", "SELECT 1 FROM t JOIN", "SELECT 1 FROM x."]
)
def test_a_query_cut_short_is_left_to_sqlite(sql: str) -> None:
    assert validate_sql_query(sql) == sql  # SQLite's syntax error: a 400 `query_failed`


def test_the_cheaper_rules_come_first() -> None:
    # A hidden table or a write is named as such, whatever the query would cost.
    with pytest.raises(SqlSecurityError) as caught:
        validate_sql_query("SELECT 1 FROM dotdo_nouns a, things b, things c")
    assert caught.value.code == "invalid_sql"


_TABLES = ["things", "events"]


@st.composite
def _source(draw: st.DrawFn, depth: int = 0) -> str:
    kinds = ["table", "json", "values", "subquery", "union", "group"] if depth < 2 else ["table", "json"]
    kind = draw(st.sampled_from(kinds))
    if kind == "group":  # a parenthesised join list: `(a g1, b h1)`, `(a g1 JOIN b h1)`
        first, second = draw(_source(depth + 1)), draw(_source(depth + 1))
        joiner = draw(st.sampled_from([", ", " JOIN ", " CROSS JOIN "]))
        return f"({first} g{depth}{joiner}{second} h{depth})"
    if kind == "table":
        return draw(st.sampled_from(_TABLES))
    if kind == "json":
        return "json_each('[1, 2, 3]')"
    if kind == "values":
        return "(VALUES (1), (2))"
    if kind == "union":
        return "(SELECT 1 AS id, 2 AS value UNION ALL SELECT 3, 4)"
    return f"(SELECT * FROM {draw(_source(depth + 1))})"


@st.composite
def _query(draw: st.DrawFn) -> str:
    sources = draw(st.lists(_source(), min_size=1, max_size=3))
    text = f"SELECT count(*) FROM {sources[0]} s0"
    for index, source in enumerate(sources[1:], start=1):
        if draw(st.booleans()):
            source = f"json_each(s{index - 1}.{draw(st.sampled_from(['id', 'value']))})"  # of a column
        joiner = draw(st.sampled_from([", ", " JOIN ", " LEFT JOIN ", " CROSS JOIN "]))
        text += f"{joiner}{source} s{index}" + (" ON 1" if "LEFT" in joiner else "")
    if draw(st.integers(0, 3)) == 0:
        text += f" WHERE 1 IN (SELECT 1 FROM {draw(_source())})"
    if draw(st.integers(0, 3)) == 0:
        text += " AND 1 IN ids" if "WHERE" in text else " WHERE 1 IN ids"  # a one-column table
    return text


def _loops(db: sqlite3.Connection, sql: str) -> int:
    """How many loops over rows SQLite's plan of `sql` runs (its SCAN and SEARCH steps)."""
    plan = db.execute(f"EXPLAIN QUERY PLAN {sql}").fetchall()
    return sum(1 for row in plan if row[3].startswith(("SCAN", "SEARCH")) and row[3] != "SCAN CONSTANT ROW")


@settings(max_examples=300)
@given(_query())
def test_an_admitted_query_loops_over_at_most_the_allowed_sources(sql: str) -> None:
    # The count is read from the text; SQLite's own plan of every admitted query runs no
    # more loops than it allows, whatever the sources are (tables, subqueries, VALUES,
    # table-valued functions) and however they are joined.
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE things (id TEXT PRIMARY KEY, value TEXT)")
    db.execute("CREATE TABLE events (id INTEGER PRIMARY KEY, value TEXT)")
    db.execute("CREATE TABLE ids (id INTEGER PRIMARY KEY)")
    try:
        validate_sql_query(sql)
    except SqlSecurityError as refused:
        assert refused.code == "query_too_costly"
        return
    try:
        loops = _loops(db, sql)
    except sqlite3.OperationalError as error:  # json_each of a column VALUES does not have
        assert "no such column" in str(error)
        return
    assert loops <= MAX_QUERY_TABLES, sql
