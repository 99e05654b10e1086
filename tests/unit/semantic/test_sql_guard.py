"""validate_sql_query admits one read-only SELECT and names what it refuses."""

from __future__ import annotations

import sqlite3

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dotdo import SqlSecurityError, validate_sql_query
from dotdo.semantic.sqlguard import is_query_plan


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM things WHERE type = ?",
        "select id from things;",
        "SELECT 'a; DROP TABLE x' AS s",
        'SELECT "delete" FROM t',
        "SELECT [update] FROM t",
        "SELECT 'it''s -- fine' AS s",
        "SELECT CASE WHEN 1 THEN 'a' ELSE 'b' END, replace('ab', 'a', 'c')",
        "SELECT count(*) FROM things GROUP BY type HAVING count(*) > 1",
    ],
)
def test_read_only_selects_pass(sql: str) -> None:
    assert validate_sql_query(sql) == sql


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("SELECT * FROM users; DROP TABLE users;", "Multiple statements not allowed"),
        ("SELECT 1; SELECT 2", "Multiple statements not allowed"),
        ("SELECT 1 -- comment", "Comments not allowed"),
        ("SELECT /* c */ 1", "Comments not allowed"),
        ("INSERT INTO t VALUES (1)", "Only SELECT statements are allowed"),
        ("UPDATE things SET data = '{}'", "Only SELECT statements are allowed"),
        ("DELETE FROM things", "Only SELECT statements are allowed"),
        ("DROP TABLE things", "Only SELECT statements are allowed"),
        ("CREATE TABLE x (a)", "Only SELECT statements are allowed"),
        ("PRAGMA table_info(things)", "Only SELECT statements are allowed"),
        ("ATTACH DATABASE 'a' AS b", "Only SELECT statements are allowed"),
        ("BEGIN", "Only SELECT statements are allowed"),
        ("WITH x AS (SELECT 1) DELETE FROM t", "WITH not allowed"),
        # a leading CTE, as in a plain SELECT: its own rule, not "Only SELECT"
        ("WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n+1 FROM r) SELECT * FROM r", "WITH not allowed"),
        ("with c AS (SELECT 1) SELECT * FROM c", "WITH not allowed"),
        ("EXPLAIN QUERY PLAN WITH c AS (SELECT 1) SELECT * FROM c", "WITH not allowed"),
        ("SELECT * FROM t WHERE id IN (DELETE FROM t RETURNING id)", "DELETE not allowed"),
        # a CTE nested anywhere in a SELECT: recursive by self-reference, RECURSIVE or not
        (
            "SELECT (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c) SELECT count(*) FROM c)",
            "WITH not allowed",
        ),
        ("SELECT (with c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c) SELECT count(*) FROM c)", "WITH not"),
        ("SELECT * FROM t WHERE a IN (WITH c AS (SELECT 1) SELECT * FROM c)", "WITH not allowed"),
        ("SELECT * FROM (WITH c AS (SELECT 1) SELECT * FROM c)", "WITH not allowed"),
        ("EXPLAIN QUERY PLAN SELECT (WITH c AS (SELECT 1) SELECT 1)", "WITH not allowed"),
        ("SELECT 'unterminated", "Unterminated"),
        ("", "Query is empty"),
        ("   ", "Query is empty"),
        ("SELECT 1\x00", "NUL"),
        ("SELECT " + "1," * 6000 + "1", "longer than"),
    ],
)
def test_everything_else_is_refused(sql: str, message: str) -> None:
    with pytest.raises(SqlSecurityError, match=message) as caught:
        validate_sql_query(sql)
    assert caught.value.code == "invalid_sql" and caught.value.status == 400


def test_with_inside_a_literal_or_a_quoted_identifier_is_data() -> None:
    for sql in ("SELECT 'WITH x AS (SELECT 1)' AS a", 'SELECT 1 AS "with"', "SELECT 1 AS [with]"):
        assert validate_sql_query(sql) == sql


def test_non_strings_are_refused() -> None:
    with pytest.raises(SqlSecurityError):
        validate_sql_query(None)


# -- hidden tables: dotdo's plumbing, Cloudflare's and SQLite's tables (ADR 0013) --------

HIDDEN = [
    "dotdo_nouns",
    "dotdo_relationships",
    "dotdo_schema",
    "dotdo_deliveries",
    "_dotdo_schema",
    "_dotdo_rows",
    "_cf_KV",
    "_cf_METADATA",
    "sqlite_master",
    "sqlite_schema",
    "sqlite_temp_master",
    "sqlite_sequence",
    "sqlite_dbpage",
    "pragma_table_list",
    "pragma_table_info",
    "dbstat",
]


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM dotdo_nouns",
        "SELECT * FROM DOTDO_NOUNS",
        "SELECT * FROM Dotdo_Nouns",
        'SELECT * FROM "dotdo_nouns"',
        "SELECT * FROM [dotdo_nouns]",
        "SELECT * FROM `dotdo_nouns`",
        "SELECT * FROM 'dotdo_nouns'",
        "SELECT * FROM main.dotdo_nouns",
        "SELECT * FROM main . dotdo_nouns",
        'SELECT * FROM "main"."dotdo_nouns"',
        "SELECT * FROM main.'dotdo_nouns'",
        "SELECT * FROM (dotdo_nouns)",
        "SELECT * FROM ('dotdo_nouns')",
        "SELECT * FROM things, dotdo_nouns",
        "SELECT * FROM things t,dotdo_nouns n",
        "SELECT * FROM things JOIN dotdo_nouns ON 1",
        "SELECT * FROM things NATURAL LEFT OUTER JOIN dotdo_nouns",
        "SELECT * FROM things CROSS JOIN (SELECT * FROM dotdo_verbs)",
        "SELECT 1 WHERE 'Customer' IN dotdo_nouns",
        "SELECT 1 WHERE 'Customer' IN 'dotdo_nouns'",
        "SELECT (SELECT count(*) FROM dotdo_actions)",
        "SELECT 1 WHERE EXISTS (SELECT 1 FROM dotdo_relationships)",
        "SELECT id FROM things UNION ALL SELECT name FROM dotdo_nouns",
        "SELECT * FROM sqlite_master",
        "SELECT * FROM SQLITE_SCHEMA",
        "SELECT * FROM temp.sqlite_master",
        "SELECT * FROM sqlite_temp_master",
        "SELECT * FROM pragma_table_list",
        "SELECT * FROM pragma_table_list()",
        "SELECT * FROM 'pragma_table_info'('things')",
        "SELECT * FROM PRAGMA_TABLE_INFO('things')",
        "SELECT name FROM dbstat",
        "SELECT * FROM _cf_KV",
        "SELECT * FROM _CF_kv",
        "SELECT * FROM _dotdo_schema",
        "SELECT * FROM dotdo_schema",
        "SELECT * FROM dotdo_deliveries",
        "SELECT dotdo_nouns.name FROM things",
        "SELECT :dotdo_nouns",
    ],
)
def test_hidden_tables_are_refused_however_they_are_named(sql: str) -> None:
    with pytest.raises(SqlSecurityError, match="is internal and not readable through query") as caught:
        validate_sql_query(sql)
    assert caught.value.code == "invalid_sql" and caught.value.status == 400


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM state",
        "SELECT * FROM things",
        "SELECT * FROM events",
        "SELECT * FROM schedules",
        "SELECT * FROM action_log",
        "SELECT * FROM main.things",
        "SELECT * FROM notes JOIN things ON notes.thing_id = things.id",  # an app's own table
        'SELECT * FROM "my dotdo_table"',  # not the prefix: a name that merely contains it
        "SELECT * FROM mydotdo_log",
        "SELECT sqlite_version(), SQLITE_SOURCE_ID()",
        "SELECT value FROM json_each('[1, 2]')",
        "SELECT * FROM things WHERE json_extract(data, '$.plan') = 'pro'",
    ],
)
def test_the_documents_and_the_apps_tables_are_readable(sql: str) -> None:
    assert validate_sql_query(sql) == sql


def test_a_hidden_looking_value_is_bound_not_written() -> None:
    with pytest.raises(SqlSecurityError, match="bound as a parameter"):
        validate_sql_query("SELECT * FROM state WHERE key = 'sqlite_settings'")
    assert validate_sql_query("SELECT * FROM state WHERE key = ?")


def _cased(draw: st.DrawFn, name: str) -> str:
    flips = draw(st.lists(st.booleans(), min_size=len(name), max_size=len(name)))
    return "".join(c.upper() if flip else c for c, flip in zip(name, flips, strict=True))


_QUOTES = [("", ""), ('"', '"'), ("[", "]"), ("`", "`"), ("'", "'")]
_SPACE = st.sampled_from([" ", "  ", "\t", "\n", " \r\n "])
_POSITIONS = [
    "SELECT * FROM {t}",
    "SELECT * FROM things,{w}{t}",
    "SELECT * FROM things{w}JOIN{w}{t}{w}ON 1",
    "SELECT * FROM things LEFT JOIN {t} USING (id)",
    "SELECT * FROM things{w}CROSS JOIN{w}{t}",
    "SELECT * FROM ({t})",
    "SELECT * FROM (things{w}JOIN{w}{t})",
    "SELECT 1 WHERE 1 IN{w}{t}",
    "SELECT 1 WHERE 1 NOT IN {t}",
    "SELECT (SELECT count(*) FROM {t})",
    "SELECT 1 WHERE EXISTS(SELECT 1 FROM{w}{t})",
    "SELECT 1 UNION SELECT 1 FROM {t}",
    "SELECT * FROM {t}()",
    "SELECT * FROM {t}('things')",
    "SELECT * FROM {t} AS x WHERE x.rowid > 0",
]


@st.composite
def _hidden_reference(draw: st.DrawFn) -> tuple[str, str]:
    """(a SELECT reaching a hidden table or function, the name as it is written)."""
    name = _cased(draw, draw(st.sampled_from(HIDDEN)))
    opening, closing = draw(st.sampled_from(_QUOTES))
    table = f"{opening}{name}{closing}"
    schema = draw(st.sampled_from(["", "main", '"main"', "[temp]", "'main'"]))
    if schema:
        table = f"{schema}{draw(st.sampled_from(['', ' ']))}.{draw(st.sampled_from(['', ' ']))}{table}"
    sql = draw(st.sampled_from(_POSITIONS)).format(t=table, w=draw(_SPACE))
    return sql, name


@settings(max_examples=400, derandomize=True)
@given(_hidden_reference())
def test_no_spelling_of_a_hidden_name_gets_through(reference: tuple[str, str]) -> None:
    sql, name = reference
    with pytest.raises(SqlSecurityError) as caught:
        validate_sql_query(sql)
    assert repr(name) in str(caught.value) or "not allowed" in str(caught.value)


def _database() -> sqlite3.Connection:
    """The document's tables, an app's table, and plumbing holding a secret."""
    db = sqlite3.connect(":memory:")
    for table in ("things", "events", "notes"):
        db.execute(f"CREATE TABLE {table} (id TEXT, body TEXT)")
        db.execute(f"INSERT INTO {table} VALUES ('1', 'visible')")
    for table in ("dotdo_nouns", "_dotdo_schema", "_cf_KV"):
        db.execute(f'CREATE TABLE "{table}" (id TEXT, body TEXT)')
        db.execute(f"INSERT INTO \"{table}\" VALUES ('1', 'SECRET')")
    return db


@st.composite
def _any_reference(draw: st.DrawFn) -> str:
    """A SELECT over any table of `_database()` or SQLite's own, spelt every way SQLite accepts."""
    name = _cased(draw, draw(st.sampled_from(["things", "events", "notes", *HIDDEN])))
    opening, closing = draw(st.sampled_from(_QUOTES))
    table = f"{opening}{name}{closing}"
    if draw(st.booleans()):
        table = f"main.{table}"
    return str(draw(st.sampled_from(_POSITIONS)).format(t=table, w=draw(_SPACE)))


@settings(max_examples=400, derandomize=True)
@given(_any_reference())
def test_what_gets_through_never_reads_plumbing(sql: str) -> None:
    """Against a real SQLite: a query the guard admits never sees a hidden table's rows, its
    name or its schema, whatever it runs into (an error from SQLite is fine)."""
    try:
        validate_sql_query(sql)
    except SqlSecurityError:
        return
    try:
        rows = _database().execute(sql).fetchall()
    except sqlite3.Error:
        return
    seen = repr(rows).lower()
    assert "secret" not in seen and "dotdo" not in seen and "_cf_" not in seen, (sql, rows)


def test_the_word_pattern_holds_sqlites_identifier_characters() -> None:
    """A name starts with an ASCII letter, `_` or any character past ASCII and goes on with
    those, digits and `$` (sqlite3IsIdChar): every ASCII character and a spread of the rest."""
    from dotdo.semantic.sqlguard import _WORD

    points = [*range(0x100), *range(0x100, 0x110000, 97), 0xD800, 0xDFFF, 0xFFFF, 0x10FFFF]
    for point in points:
        char = chr(point)
        ascii_start = char.isascii() and (char.isalpha() or char == "_")
        assert (_WORD.fullmatch(char) is not None) == (ascii_start or point >= 0x80), hex(point)
        ascii_part = char.isascii() and (char.isalnum() or char in "_$")
        assert (_WORD.fullmatch("a" + char) is not None) == (ascii_part or point >= 0x80), hex(point)


# -- EXPLAIN QUERY PLAN: how a caller sees which index serves a SELECT ---------------------


@pytest.mark.parametrize(
    "sql",
    [
        "EXPLAIN QUERY PLAN SELECT * FROM things WHERE type = ?",
        "explain  query\nplan select id from things;",
    ],
)
def test_the_plan_of_an_admitted_select_passes(sql: str) -> None:
    assert validate_sql_query(sql) == sql and is_query_plan(sql)


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("EXPLAIN SELECT 1", "only as EXPLAIN QUERY PLAN"),
        ("EXPLAIN QUERY PLAN DELETE FROM things", "Only SELECT statements are allowed"),
        ("EXPLAIN QUERY PLAN SELECT * FROM dotdo_nouns", "internal and not readable"),
        ("EXPLAIN QUERY PLAN SELECT 1; SELECT 2", "Multiple statements not allowed"),
        ("EXPLAIN QUERY PLAN", "Only SELECT statements are allowed"),
        ("SELECT 1 FROM t WHERE x IN (EXPLAIN QUERY PLAN SELECT 1)", "EXPLAIN"),
    ],
)
def test_a_plan_of_anything_else_is_refused(sql: str, message: str) -> None:
    with pytest.raises(SqlSecurityError, match=message):
        validate_sql_query(sql)


def test_a_plain_select_is_no_plan() -> None:
    assert not is_query_plan("SELECT 'EXPLAIN QUERY PLAN' AS s")


@pytest.mark.parametrize("mark", list("$@:#"))
@pytest.mark.parametrize(
    "hidden",
    [
        "(SELECT count(*) FROM things p, things q, things r)",
        "(SELECT group_concat(name) FROM sqlite_master)",
        "(WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c) SELECT count(*) FROM c)",
    ],
)
def test_a_named_parameter_cannot_hide_text_inside_its_quotes(mark: str, hidden: str) -> None:
    """SQLite reads `@a("x)` as one parameter name, to the `)`: the guard read `"x) AS v,
    ... AS "` as a quoted identifier, so what stood between ran unchecked (a 3-way join for
    8 minutes, the hidden tables, a recursive query)."""
    sql = f'SELECT {mark}a("x) AS v, {hidden} AS "w", {mark}b("z) AS u'
    with pytest.raises(SqlSecurityError) as refused:
        validate_sql_query(sql)
    assert refused.value.code == "invalid_sql" and "named parameter" in refused.value.message
    db = sqlite3.connect(":memory:")  # SQLite does read the text so: one name, quotes inside
    db.execute("CREATE TABLE things (id)")
    assert db.execute(f'SELECT {mark}a("x) AS v', ["1"]).fetchall() == [("1",)]


@pytest.mark.parametrize("sql", ["SELECT :id AS a, $b::c AS b, @d AS d, #e AS e, ?1 AS f"])
def test_named_parameters_pass(sql: str) -> None:
    assert validate_sql_query(sql) == sql
