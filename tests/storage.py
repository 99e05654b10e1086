"""`ctx.storage` as a Python Durable Object sees it, over CPython's `sqlite3`, for tests that
run the engine in-process: `sql.exec` with the runtime's conversions (measured on workerd
with Pyodide 0.28: an int from 2^53-1 up is a BigInt the binding refuses, other numbers
bind as REAL, every number comes back as a double), `transactionSync`, and the alarm
(`getAlarm` / `setAlarm` / `deleteAlarm`). Plus a clock the test moves by hand.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Coroutine, Iterator
from typing import Any, TypeVar

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


class Cursor:
    def __init__(self, rows: list[dict[str, Any]], names: list[str], written: int) -> None:
        self._rows = rows
        self.columnNames = names
        self.rowsWritten = written
        self.rowsRead = len(rows)  # sqlite3 does not count rows scanned: the rows returned

    def toArray(self) -> list[dict[str, Any]]:  # noqa: N802 - the runtime's name
        return self._rows

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self._rows)


class RuntimeSql:
    """`ctx.storage.sql` over an in-memory SQLite (autocommit, as the runtime's is outside
    `transactionSync`)."""

    def __init__(self) -> None:
        self.db = sqlite3.connect(":memory:", isolation_level=None)
        self.statements: list[str] = []

    def exec(self, query: str, *bindings: Any) -> Cursor:
        self.statements.append(query)
        before = self.db.total_changes
        cursor = self.db.execute(query, [_to_js(b) for b in bindings])
        names = [d[0] for d in cursor.description or []]
        rows = [dict(zip(names, map(_from_js, row), strict=True)) for row in cursor.fetchall()]
        return Cursor(rows, names, self.db.total_changes - before)


async def _resolved(value: T) -> T:
    return value


class Storage:
    """`ctx.storage`: SQL, `transactionSync`, and the one alarm (`alarm`, epoch ms or None;
    `alarm_writes` counts the calls that set or deleted it)."""

    def __init__(self) -> None:
        self.sql = RuntimeSql()
        self.alarm: int | None = None
        self.alarm_writes = 0

    def transactionSync(self, callback: Callable[[], T]) -> T:  # noqa: N802 - the runtime's name
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
        return _resolved(self.alarm)

    def setAlarm(self, at: int) -> Coroutine[Any, Any, None]:  # noqa: N802
        self.alarm = int(at)
        self.alarm_writes += 1
        return _resolved(None)

    def deleteAlarm(self) -> Coroutine[Any, Any, None]:  # noqa: N802
        self.alarm = None
        self.alarm_writes += 1
        return _resolved(None)


class Clock:
    """Epoch milliseconds that move only when the test says so."""

    def __init__(self, now: int) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now

    def advance(self, ms: int) -> int:
        self.now += ms
        return self.now
