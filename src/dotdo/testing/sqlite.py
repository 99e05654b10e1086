"""`ctx.storage` as a Python Durable Object sees it, over CPython's `sqlite3`, for code that
runs the engine in-process (the project's unit tests, `scripts/squash-schema`); never inside
a Durable Object, where the runtime gives its own.

`sql.exec` converts as the runtime does (measured on workerd with Pyodide 0.28: an int from
2^53-1 up is a BigInt the binding refuses, other numbers bind as REAL, every number comes
back as a double) and runs every statement of a text of several; `transactionSync` is a
savepoint; the alarm is `getAlarm` / `setAlarm` / `deleteAlarm`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Coroutine, Iterator
from typing import Any, TypeVar

__all__ = ["Cursor", "RawRows", "RuntimeSql", "Storage", "split_statements"]

T = TypeVar("T")


def _to_js(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"  # the binding's own conversion of a bool
    if isinstance(value, int):
        if abs(value) >= 2**53 - 1:  # Pyodide hands it over as a BigInt
            raise TypeError("Cannot convert a BigInt value to a number")
        return float(value)
    return value


def _from_js(value: Any) -> Any:
    if isinstance(value, int | float):  # a JavaScript number; to_py makes safe integers ints
        number = float(value)
        return int(number) if number.is_integer() and abs(number) <= 2**53 - 1 else number
    if isinstance(value, bytes):
        return memoryview(value)
    return value


class RawRows:
    """What `cursor.raw()` answers: an iterator of rows as lists of values, in column order
    (`toArray()` takes them all, as a JavaScript iterator's does)."""

    def __init__(self, rows: list[list[Any]]) -> None:
        self._rows = rows

    def toArray(self) -> list[list[Any]]:  # noqa: N802 - the runtime's name
        """Every row, as a list of values."""
        return self._rows

    def __iter__(self) -> Iterator[list[Any]]:
        return iter(self._rows)


class Cursor:
    """What `sql.exec` answers: the rows (`toArray`, iteration, `raw`), `columnNames`,
    `rowsWritten` and `rowsRead` (here the rows returned: sqlite3 does not count the rows it
    scans)."""

    def __init__(
        self, rows: list[dict[str, Any]], names: list[str], written: int, fetched: list[tuple[Any, ...]]
    ) -> None:
        """`rows` as dicts by column, the column `names`, the rows `written`, and the rows as
        sqlite3 `fetched` them (for `raw`, where two columns may share a name)."""
        self._rows = rows
        self._fetched = fetched
        self.columnNames = names
        self.rowsWritten = written
        self.rowsRead = len(rows)  # sqlite3 does not count rows scanned: the rows returned

    def toArray(self) -> list[dict[str, Any]]:  # noqa: N802 - the runtime's name
        """Every row, as dicts by column."""
        return self._rows

    def raw(self) -> RawRows:
        """Every row, as a list of values in column order."""
        return RawRows([list(map(_from_js, row)) for row in self._fetched])

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self._rows)


def split_statements(text: str) -> list[str]:
    """The statements of an SQL text, in order (a `;` inside a literal or a trigger's body
    does not split), as workerd's `sql.exec` runs a text of several: each in turn."""
    found: list[str] = []
    current = ""
    for piece in text.split(";"):
        current += piece
        if sqlite3.complete_statement(current + ";"):
            if current.strip():
                found.append(current)
            current = ""
        else:
            current += ";"
    if current.strip():
        found.append(current)
    return found


class RuntimeSql:
    """`ctx.storage.sql` over an in-memory SQLite (autocommit, as the runtime's is outside
    `transactionSync`). `rowsWritten` is the rows changed; with `index_entries`, each
    changed row counts once for every b-tree the statement writes (the table and each
    index it opens for writing, as EXPLAIN shows), as Cloudflare bills: an UPDATE writes
    the entries of the indexes over the columns it assigns, changed or not."""

    def __init__(self, index_entries: bool = False) -> None:
        self.db = sqlite3.connect(":memory:", isolation_level=None)
        self.statements: list[str] = []
        self.index_entries = index_entries
        self._btrees: dict[str, int] = {}

    def exec(self, query: str, *bindings: Any) -> Cursor:
        """Every statement of `query`, as the runtime runs a text of several; the cursor is
        the last one's, `bindings` are its (the rows written are all of theirs)."""
        self.statements.append(query)
        *leading, last = split_statements(query) or [query]
        written = sum(self._exec_one(statement).rowsWritten for statement in leading)
        cursor = self._exec_one(last, *bindings)
        cursor.rowsWritten += written
        return cursor

    def _exec_one(self, query: str, *bindings: Any) -> Cursor:
        before = self.db.total_changes
        values = [_to_js(b) for b in bindings]
        cursor = self.db.execute(query, values)
        names = [d[0] for d in cursor.description or []]
        fetched = cursor.fetchall()
        rows = [dict(zip(names, map(_from_js, row), strict=True)) for row in fetched]
        changed = self.db.total_changes - before
        if self.index_entries and changed:
            changed *= self._btrees_written(query, values)
        return Cursor(rows, names, changed, fetched)

    def _btrees_written(self, query: str, values: list[Any]) -> int:
        """The b-trees (by root page) `query`'s program writes: opened for writing and the
        target of an insert or delete (a cursor opened for writing only to find the rows,
        as an UPDATE's by a WITHOUT ROWID table's index, writes nothing there). An upsert
        writes those of both of its paths, so it is counted as an insert."""
        if query not in self._btrees:
            program = self.db.execute(f"EXPLAIN {query}", values).fetchall()
            roots = {op[2]: op[3] for op in program if op[1] == "OpenWrite"}  # cursor -> root page
            written = {roots[op[2]] for op in program if op[1] in _WRITES and op[2] in roots}
            self._btrees[query] = max(1, len(written))
        return self._btrees[query]


_WRITES = frozenset({"Insert", "IdxInsert", "Delete", "IdxDelete"})
"""The VDBE opcodes that write an entry of a b-tree (https://sqlite.org/opcode.html)."""


async def _resolved(value: T) -> T:
    return value


class Storage:
    """`ctx.storage`: SQL, `transactionSync`, and the one alarm (`alarm`, epoch ms or None;
    `alarm_writes` counts the calls that set or deleted it). `index_entries`: rows written
    count index entries too (`RuntimeSql`)."""

    def __init__(self, index_entries: bool = False) -> None:
        self.sql = RuntimeSql(index_entries)
        self.alarm: int | None = None
        self.alarm_writes = 0

    def transactionSync(self, callback: Callable[[], T]) -> T:  # noqa: N802 - the runtime's name
        """`callback()` in a savepoint: rolled back when it raises, released when it returns."""
        self.sql.db.execute("SAVEPOINT dotdo_test")
        try:
            result = callback()
        except BaseException:
            self.sql.db.execute("ROLLBACK TO dotdo_test")
            self.sql.db.execute("RELEASE dotdo_test")
            raise
        self.sql.db.execute("RELEASE dotdo_test")
        return result

    # Like the SDK's: the call takes effect at once and hands back an awaitable of the result.

    def getAlarm(self) -> Coroutine[Any, Any, int | None]:  # noqa: N802
        """The alarm's time (epoch ms), None when none is set."""
        return _resolved(self.alarm)

    def setAlarm(self, at: int) -> Coroutine[Any, Any, None]:  # noqa: N802
        """Set the alarm to `at` (epoch ms)."""
        self.alarm = int(at)
        self.alarm_writes += 1
        return _resolved(None)

    def deleteAlarm(self) -> Coroutine[Any, Any, None]:  # noqa: N802
        """Delete the alarm."""
        self.alarm = None
        self.alarm_writes += 1
        return _resolved(None)
