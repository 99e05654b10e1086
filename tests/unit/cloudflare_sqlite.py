"""A Durable Object's `ctx.storage.sql` on CPython's sqlite3, held to Cloudflare's limits.

Cloudflare's SQLite refuses more than 100 bound parameters a statement, statements
over 100 KB, expression trees deeper than 100 and strings over 2 MB; an in-memory
sqlite3 database with the same limits set lets unit tests run dotdo's real SQL
against them (`Sql(CloudflareStorage())`).
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from typing import Any

CLOUDFLARE_LIMITS = {
    sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER: 100,
    sqlite3.SQLITE_LIMIT_SQL_LENGTH: 100_000,
    sqlite3.SQLITE_LIMIT_EXPR_DEPTH: 100,
    sqlite3.SQLITE_LIMIT_LENGTH: 2_000_000,
}

_NAMED = re.compile(r":[A-Za-z_]\w*")


class _Cursor:
    def __init__(self, rows: list[dict[str, Any]], written: int) -> None:
        self._rows = rows
        self.rowsWritten = written
        self.rowsRead = len(rows)

    def toArray(self) -> list[dict[str, Any]]:  # noqa: N802 - the runtime's name
        return self._rows

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self._rows)


class _SqlStorage:
    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def exec(self, query: str, *params: Any) -> _Cursor:
        before = self._db.total_changes
        cursor = self._db.execute(_numbered(query), params)
        columns = [c[0] for c in cursor.description or ()]
        rows = [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
        return _Cursor(rows, self._db.total_changes - before)


class CloudflareStorage:
    """`ctx.storage` with only `sql`: enough for `Sql` outside transactions."""

    def __init__(self) -> None:
        self.db = sqlite3.connect(":memory:", isolation_level=None)
        for limit, value in CLOUDFLARE_LIMITS.items():
            self.db.setlimit(limit, value)
        self.sql = _SqlStorage(self.db)


def _numbered(query: str) -> str:
    """Named parameters as the `?NNN` SQLite gives them, so one positional tuple binds them
    all (as the runtime binds) without Python's warning about names bound by position."""
    index = 0
    names: dict[str, int] = {}

    def number(match: re.Match[str]) -> str:
        nonlocal index
        token = match.group(0)
        if token == "?":
            index += 1
            return f"?{index}"
        if token not in names:
            index += 1
            names[token] = index
        return f"?{names[token]}"

    return re.sub(rf"\?|{_NAMED.pattern}", number, query)
