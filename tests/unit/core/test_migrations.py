"""Migrations run once per component and version, against a real SQLite (CPython's)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import pytest

from dotdo.core.migrations import Migration, migrate
from dotdo.core.sql import Sql
from dotdo.workflows.tables import WORKFLOW_MIGRATIONS

T = TypeVar("T")


class _Cursor:
    def __init__(self, rows: list[dict[str, Any]], written: int) -> None:
        self._rows = rows
        self.rowsWritten = written

    def toArray(self) -> list[dict[str, Any]]:  # noqa: N802 (the JS API's name)
        return self._rows

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self._rows)


class _Storage:
    """`ctx.storage` with the `sql.exec` shape of the Durable Object API."""

    def __init__(self) -> None:
        self.db = sqlite3.connect(":memory:", isolation_level=None)
        self.db.row_factory = sqlite3.Row
        self.sql = self

    def exec(self, query: str, *params: Any) -> _Cursor:
        cursor = self.db.execute(query, params)
        return _Cursor([dict(row) for row in cursor.fetchall()], max(cursor.rowcount, 0))


class SqliteSql(Sql):
    def __init__(self) -> None:
        self.storage = _Storage()
        super().__init__(self.storage)

    def transaction(self, work: Callable[[], T]) -> T:
        self.storage.db.execute("BEGIN")
        try:
            result = work()
        except BaseException:
            self.storage.db.execute("ROLLBACK")
            raise
        self.storage.db.execute("COMMIT")
        return result


@pytest.fixture
def sql() -> SqliteSql:
    return SqliteSql()


def test_a_second_version_runs_once(sql: SqliteSql) -> None:
    counting = (
        Migration(1, ("CREATE TABLE runs (n INTEGER)",)),
        Migration(2, ("INSERT INTO runs (n) VALUES (2)",)),
    )
    assert migrate(sql, [("c", counting[:1])], 1) == {"c": 1}
    for now in (2, 3, 4):
        assert migrate(sql, [("c", counting)], now) == {"c": 2}
    assert sql.exec("SELECT n FROM runs") == [{"n": 2}]
    assert sql.first("SELECT version, migrated_at FROM _dotdo_schema") == {"version": 2, "migrated_at": 2}


def test_a_failing_migration_leaves_the_version_and_its_statements_undone(sql: SqliteSql) -> None:
    broken = (Migration(1, ("CREATE TABLE t (n INTEGER)", "NOT SQL")),)
    with pytest.raises(sqlite3.OperationalError):
        migrate(sql, [("c", broken)], 1)
    assert sql.exec("SELECT name FROM sqlite_master WHERE name IN ('t', '_dotdo_schema')") == [
        {"name": "_dotdo_schema"}
    ]
    assert sql.exec("SELECT * FROM _dotdo_schema") == []


def test_the_workflow_step_name_column_keeps_earlier_rows_unnamed(sql: SqliteSql) -> None:
    migrate(sql, [("workflow", WORKFLOW_MIGRATIONS[:1])], 1)
    sql.run(
        "INSERT INTO action_log (step_id, status, result, attempts, updated_at) "
        "VALUES ('run-1/step-1', 'completed', '1', 1, 1)"
    )
    assert migrate(sql, [("workflow", WORKFLOW_MIGRATIONS)], 2) == {"workflow": 2}
    assert migrate(sql, [("workflow", WORKFLOW_MIGRATIONS)], 3) == {"workflow": 2}  # ADD COLUMN once
    assert sql.first("SELECT step_id, name FROM action_log") == {"step_id": "run-1/step-1", "name": None}
