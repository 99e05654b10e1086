"""validate_sql_query admits one read-only SELECT and names what it refuses."""

from __future__ import annotations

import pytest

from dotdo import SqlSecurityError, validate_sql_query


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
        ("WITH x AS (SELECT 1) DELETE FROM t", "Only SELECT statements are allowed"),
        ("SELECT * FROM t WHERE id IN (DELETE FROM t RETURNING id)", "DELETE not allowed"),
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


def test_non_strings_are_refused() -> None:
    with pytest.raises(SqlSecurityError):
        validate_sql_query(None)
