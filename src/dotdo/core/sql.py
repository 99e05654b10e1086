"""A thin synchronous facade over the Durable Object SQLite API (`ctx.storage.sql`).

It fixes the two sharp edges of the binding (Python `bool` binds as the strings
"true"/"false"; rows arrive as JS-backed dicts) and runs all-or-nothing work
through `transactionSync`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from dotdo.types import Row

__all__ = ["Sql"]

T = TypeVar("T")


def _bind(value: Any) -> Any:
    if isinstance(value, bool):
        return int(value)
    return value


class Sql:
    def __init__(self, storage: Any) -> None:
        self._storage = storage
        self._sql = storage.sql
        self._in_transaction = False
        self.rows_written = 0
        """Rows written by every statement run through this facade (for measurements)."""
        self._rollback_hooks: list[Callable[[], None]] = []

    def exec(self, query: str, *params: Any) -> list[Row]:
        """Run one statement and return its rows."""
        return self.exec_counted(query, *params)[0]

    def exec_counted(self, query: str, *params: Any) -> tuple[list[Row], int]:
        """Run one statement; its rows and how many rows it wrote."""
        cursor = self._sql.exec(query, *[_bind(p) for p in params])
        rows: list[Row] = cursor.toArray()  # already dicts: the SDK converts the JS rows
        written = int(cursor.rowsWritten)
        self.rows_written += written
        return rows, written

    def first(self, query: str, *params: Any) -> Row | None:
        rows = self.exec(query, *params)
        return rows[0] if rows else None

    def run(self, query: str, *params: Any) -> int:
        """Run one statement for its effect; returns the rows it wrote."""
        cursor = self._sql.exec(query, *[_bind(p) for p in params])
        for _ in cursor:
            pass
        written = int(cursor.rowsWritten)
        self.rows_written += written
        return written

    def transaction(self, work: Callable[[], T]) -> T:
        """Run `work` inside `transactionSync`: every statement it runs commits or none does.

        A transaction started inside another joins it: the outermost one decides.
        """
        if self._in_transaction:
            return work()
        from pyodide.ffi import create_once_callable

        outcome: list[T] = []

        def run_work() -> None:
            outcome.append(work())

        self._in_transaction = True
        try:
            self._storage.transactionSync(create_once_callable(run_work))
        except BaseException:
            for hook in self._rollback_hooks:
                hook()
            raise
        finally:
            self._in_transaction = False
            self._rollback_hooks.clear()
        return outcome[0]

    def on_rollback(self, hook: Callable[[], None]) -> None:
        """Call `hook` if the transaction now running rolls back (outside one, never).

        Caches above SQLite use it to forget what a failed transaction wrote.
        """
        if self._in_transaction:
            self._rollback_hooks.append(hook)
