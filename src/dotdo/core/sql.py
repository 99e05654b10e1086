"""A thin synchronous facade over the Durable Object SQLite API (`ctx.storage.sql`).

It fixes the sharp edges of the binding and runs all-or-nothing work through
`transactionSync`. The binding takes numbers (bound as REAL), strings, bytes and
null: Python `bool` would bind as the strings "true"/"false", and Pyodide hands an
int from 2^53-1 up as a BigInt, which the binding refuses ("Cannot convert a BigInt
value to a number"). So every int (and bool) is bound as its decimal text and its
placeholder is rewritten to `(+CAST(? AS INTEGER))`: SQLite sees an INTEGER with the
exact value, over the whole 64-bit range, and an int beyond that range is a 400
naming it. The unary `+` leaves the expression without affinity, as a bound value
is, so comparisons convert as they would and an index on the other side is still
used (https://sqlite.org/datatype3.html#affinity_of_expressions). Results come back
as the runtime converts them (INTEGER and REAL as a JavaScript number, exact only
within 2^53); `exact_rows` gives SELECT results whose integers are exact.
"""

from __future__ import annotations

import functools
import inspect
import json
import re
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from dotdo.core.page_bytes import MAX_PAGE_BYTES, fitting_count
from dotdo.core.page_rows import SIZE, PageColumns, in_order, share
from dotdo.core.sqlparams import numbered_parameters
from dotdo.errors import BadRequest
from dotdo.types import Row
from dotdo.values import INT64_RANGE, MAX_SAFE_INTEGER, int64_error

__all__ = ["MAX_STATEMENT_BYTES", "Sql", "WritesNeeded", "bind_parameters"]

MAX_STATEMENT_BYTES = 100_000
"""Cloudflare's cap on one SQL statement (Durable Objects SQLite limits: 100 KB)."""

T = TypeVar("T")


@functools.lru_cache(maxsize=512)
def _integer_sql(query: str, positions: tuple[int, ...]) -> str:
    """`query` with the placeholders of the 0-based parameter `positions` wrapped in
    `(+CAST(... AS INTEGER))`, found as SQLite numbers them (`numbered_parameters`); the
    placeholder itself is kept, so the numbering never changes."""
    wanted = {position + 1 for position in positions}
    pieces: list[str] = []
    last = 0
    for match, number in numbered_parameters(query):
        if number in wanted:
            pieces.append(query[last : match.start()])
            pieces.append(f"(+CAST({match.group('param')} AS INTEGER))")
            last = match.end()
    pieces.append(query[last:])
    return "".join(pieces)


def bind_parameters(query: str, params: Sequence[Any]) -> tuple[str, list[Any]]:
    """The statement and bindings to hand the runtime for `query` with `params`.

    Every int or bool becomes its decimal text behind `(+CAST(? AS INTEGER))`, so it
    binds exactly and as an INTEGER; an int outside 64 bits raises BadRequest
    (`invalid_value`). Other values pass unchanged. Rewritten statements are cached.
    """
    positions: list[int] = []
    bound: list[Any] = []
    for index, value in enumerate(params):
        if isinstance(value, int):
            number = int(value)
            if int64_error(number):
                raise BadRequest(f"SQL parameter {index + 1}: {INT64_RANGE}", code="invalid_value")
            positions.append(index)
            bound.append(str(number))
        else:
            bound.append(value)
    if not positions:
        return query, bound
    return _integer_sql(query, tuple(positions)), bound


def _lossy(value: Any) -> bool:
    # The runtime hands every INTEGER over as a JavaScript number: from 2^53 on it
    # arrives as a whole float, possibly rounded (it may also be a REAL that is whole).
    return isinstance(value, float) and value.is_integer() and abs(value) > MAX_SAFE_INTEGER


def _exact(value: Any) -> Any:
    if isinstance(value, str):
        return int(value[1:]) if value[0] == "i" else value[1:]
    if isinstance(value, memoryview):
        return bytes(value)
    return value


class WritesNeeded(BaseException):
    """Raised by `Sql.reads_only` in place of a statement that may write: the work needs a
    transaction. A `BaseException`, so that no `except Exception` in the work stops it."""


def _reads(query: str) -> bool:
    # A statement that begins with SELECT cannot write (SQLite's grammar: no DML inside a
    # SELECT, https://sqlite.org/lang_select.html); anything else (WITH ... INSERT, PRAGMA)
    # is taken as a write.
    return query.lstrip()[:6].upper() == "SELECT"


_REWRITTEN = re.compile(r"\(\+CAST\(((?:\?[0-9]*|[:@$#][^ ]+)) AS INTEGER\)\)")


def _unrewritten(name: str) -> str:
    """A column name as the caller's statement spelt it, before `bind_parameters`."""
    return _REWRITTEN.sub(r"\1", name)


_DEDUPLICATED = re.compile(r"(.*AS INTEGER\)\)):[0-9]+")
"""A rewritten column's name that SQLite made unique among the rewritten ones (`:1`)."""


def _caller_names(names: list[str]) -> list[str]:
    """The columns `names` as the caller's statement names them: each rewritten one as it
    was written, and made unique as SQLite makes a subquery's columns (`?`, `?:1`, `?:2`),
    so that two parameters' columns (`SELECT ?, ?` with an int and a string) stay two."""
    taken: set[str] = set()
    unique: list[str] = []
    for name in names:
        deduplicated = _DEDUPLICATED.fullmatch(name)
        written = _unrewritten(deduplicated.group(1) if deduplicated else name)
        candidate, suffix = written, 0
        while candidate in taken:
            suffix += 1
            candidate = f"{written}:{suffix}"
        taken.add(candidate)
        unique.append(candidate)
    return unique


def _sum(terms: list[str]) -> str:
    """SQL adding `terms` as a balanced tree of `+`: SQLite refuses an expression nested
    more than 100 deep (SQLITE_MAX_EXPR_DEPTH), which a flat `a + b + ...` of 98 or more
    terms is, and a result may have up to 100 columns."""
    if not terms:
        return "0"
    if len(terms) == 1:
        return terms[0]
    middle = len(terms) // 2
    return f"({_sum(terms[:middle])} + {_sum(terms[middle:])})"


def _once(work: Callable[[], None]) -> Any:
    """`work` as the runtime's `transactionSync` takes it: a JavaScript function called
    once. Under CPython (unit tests against `sqlite3`) the storage takes the Python callable."""
    try:
        from pyodide.ffi import create_once_callable
    except ImportError:
        return work
    return create_once_callable(work)


class Sql:
    """The object's SQLite database, from `storage` (`ctx.storage`: its `sql` and its
    `transactionSync`). Parameters bind as `bind_parameters` says: an int past 64 bits
    is a 400 `invalid_value`; rows are dicts by column name."""

    def __init__(self, storage: Any) -> None:
        self._storage = storage
        self._sql = storage.sql
        self._in_transaction = False
        self.rows_written = 0
        """Rows written by every statement run through this facade (the cursors' `rowsWritten`,
        index rows included: what Cloudflare bills)."""
        self.rows_read = 0
        """Rows read by every statement run through this facade (the cursors' `rowsRead`)."""
        self._rollback_hooks: list[Callable[[], None]] = []
        self._statements_left: int | None = None  # inside `one_statement`: 1, then 0
        self._reads_only = False  # inside `reads_only`

    def exec(self, query: str, *params: Any) -> list[Row]:
        """Run one statement and return its rows."""
        return self.exec_counted(query, *params)[0]

    def exec_counted(self, query: str, *params: Any) -> tuple[list[Row], int]:
        """Run one statement; its rows and how many rows it wrote."""
        cursor = self._sql.exec(*self._statement(query, params))
        rows: list[Row] = cursor.toArray()  # already dicts: the SDK converts the JS rows
        written = int(cursor.rowsWritten)
        self.rows_written += written
        self.rows_read += int(cursor.rowsRead)
        return rows, written

    def page(
        self,
        query: str,
        *params: Any,
        columns: PageColumns,
        rows: int,
        max_bytes: int = MAX_PAGE_BYTES,
        used: int = 0,
    ) -> tuple[list[Row], bool]:
        """Run one SELECT (of at most `rows` rows, its result `columns`) for its leading rows
        whose bytes (`columns.measured`, `page_bytes.measure`), with the `used` bytes a page
        holds already (read from elsewhere), come to at most `max_bytes`; the first row of a
        page always comes (with nothing `used`). Answers the rows and whether any was left
        for the bytes: the page is cut there, and its cursor continues after its last row.

        One statement walks the page: each row's size, and its values where they are within
        the page's share (`page_rows.share`); a larger row that fits is read by key after
        (`columns.by_key`, one statement more) and put back in its place. So no value past
        its share leaves SQLite unless the page answers it: a page of a thousand megabyte
        rows costs four megabytes here, not a gigabyte (ADR 0057)."""
        within = share(rows, max_bytes, used)
        cursor = self._sql.exec(*self._statement(columns.sized(query, within), params))
        sized: list[Row] = cursor.toArray()
        self.rows_read += int(cursor.rowsRead)
        sizes = [int(row.pop(SIZE) or 0) for row in sized]
        fitting = fitting_count(sizes, used, max_bytes)
        kept = sized[:fitting]
        key = columns.key
        later = [row[key] for row, size in zip(kept, sizes, strict=False) if size > within]
        if later:
            found = {row[key]: row for row in self.exec(columns.by_key, json.dumps(later))}
            held = {row[key]: row for row, size in zip(kept, sizes, strict=False) if size <= within}
            kept = in_order([row[key] for row in kept], held, found)
        return kept, fitting < len(sized)

    def exact_rows(self, select: str, *params: Any, limit: int) -> tuple[list[Row], int]:
        """Run one SELECT (at most `limit` rows); its rows and the rows it wrote.

        Every INTEGER comes back as an exact `int`, over all 64 bits; BLOBs as `bytes`;
        REAL, TEXT and NULL as the runtime gives them. When the plain run returns a whole
        float beyond 2^53 (an INTEGER the runtime may have rounded), the statement runs
        again with each INTEGER beyond that range turned into text, and that run's rows
        are the answer (a statement that is not deterministic, such as one calling
        `random()`, may so answer other rows than the first run saw).
        """
        cursor = self._sql.exec(*self._statement(f"SELECT * FROM ({select}) LIMIT {int(limit)}", params))
        # Rows as lists, named here: the caller names the columns, and a row object with a
        # `constructor` or `__proto__` property is no plain object to the SDK's conversion
        # (a 500 for `SELECT 1 AS constructor`; `__proto__` left out).
        names: list[str] = list(cursor.columnNames)
        if "AS INTEGER))" not in select and any("AS INTEGER))" in name for name in names):
            # A bare integer parameter names its column by its text, which the binding
            # rewrote (`?` -> `(+CAST(? AS INTEGER))`): the caller wrote `?`.
            names = _caller_names(names)
        rows: list[Row] = [dict(zip(names, values, strict=True)) for values in cursor.raw().toArray()]
        written = int(cursor.rowsWritten)
        self.rows_read += int(cursor.rowsRead)
        if any(_lossy(value) for row in rows for value in row.values()):
            columns = [f"c{i}" for i in range(len(names))]
            typed = ", ".join(
                f"CASE WHEN typeof({c}) = 'integer' AND {c} NOT BETWEEN -{MAX_SAFE_INTEGER} AND "
                f"{MAX_SAFE_INTEGER} THEN 'i' || {c} WHEN typeof({c}) = 'text' THEN 't' || {c} "
                f"ELSE {c} END AS {c}"
                for c in columns
            )
            query = (
                f"WITH _dotdo_rows({', '.join(columns)}) AS ({select}) "
                f"SELECT {typed} FROM _dotdo_rows LIMIT {int(limit)}"
            )
            cursor = self._sql.exec(*self._statement(query, params))
            rows = [
                dict(zip(names, (_exact(row[c]) for c in columns), strict=True)) for row in cursor.toArray()
            ]
            written += int(cursor.rowsWritten)
            self.rows_read += int(cursor.rowsRead)
        else:
            rows = [
                {name: bytes(v) if isinstance(v, memoryview) else v for name, v in row.items()}
                for row in rows
            ]
        self.rows_written += written
        return rows, written

    def rows_within(self, select: str, *params: Any, limit: int, max_bytes: int) -> tuple[int, int, int]:
        """How many leading rows of `select` (of its first `limit`) hold at most `max_bytes`
        of values together, how many rows it has (up to `limit`), and the rows it wrote.

        SQLite measures each row (TEXT as its UTF-8 bytes, a BLOB as is, a number as its
        text, NULL as nothing), so no value leaves SQLite to be measured: a query answering
        a thousand rows of megabyte strings costs a list of numbers here, not gigabytes in
        the object's memory (a Durable Object has 128 MB). The statement runs twice more
        (once for its column names, `LIMIT 0`); one that is not deterministic may measure
        other rows than the run that reads them."""
        cursor = self._sql.exec(*self._statement(f"SELECT * FROM ({select}) LIMIT 0", params))
        columns = [f"c{i}" for i in range(len(list(cursor.columnNames)))]
        written = int(cursor.rowsWritten)
        size = _sum([f"ifnull(length(CAST({c} AS BLOB)), 0)" for c in columns])
        query = f"WITH _dotdo_rows({', '.join(columns)}) AS ({select}) SELECT {size} AS s FROM _dotdo_rows"
        cursor = self._sql.exec(*self._statement(f"{query} LIMIT {int(limit)}", params))
        sizes = [row["s"] for row in cursor.toArray()]
        written += int(cursor.rowsWritten)
        self.rows_written += written
        total = fitting = 0
        for row_size in sizes:
            total += int(row_size)
            if total > max_bytes:
                break
            fitting += 1
        return fitting, len(sizes), written

    def first(self, query: str, *params: Any) -> Row | None:
        """The first row of one statement, or None when it has none."""
        rows = self.exec(query, *params)
        return rows[0] if rows else None

    def run(self, query: str, *params: Any) -> int:
        """Run one statement for its effect; returns the rows it wrote."""
        cursor = self._sql.exec(*self._statement(query, params))
        for _ in cursor:
            pass
        written = int(cursor.rowsWritten)
        self.rows_written += written
        self.rows_read += int(cursor.rowsRead)
        return written

    def script(self, statements: Sequence[str]) -> int:
        """Run `statements` (none with parameters), in order, in as few calls as fit: joined
        by `;` (on a line of its own) into texts of at most MAX_STATEMENT_BYTES, each one
        `exec`, which runs every statement of its text and gives the last one's cursor
        (workerd's `SqlStorage::exec`). Under Pyodide each call is a crossing; a new
        object's tables are some fifty statements (ADR 0040). Returns the rows written."""
        written = 0
        chunk: list[str] = []
        size = 0
        for statement in [*statements, ""]:  # the empty one ends the last chunk
            length = len(statement.encode()) + 2
            if chunk and (not statement or size + length > MAX_STATEMENT_BYTES):
                written += self.run("\n;\n".join(chunk))  # a `--` comment ends at its line
                chunk, size = [], 0
            if statement:
                chunk.append(statement)
                size += length
        return written

    def _statement(self, query: str, params: Sequence[Any]) -> list[Any]:
        if self._statements_left is not None:
            if self._statements_left == 0:
                raise RuntimeError("one_statement: the work ran a second statement")
            self._statements_left -= 1
        if self._reads_only and not _reads(query):
            raise WritesNeeded(query)
        statement, bound = bind_parameters(query, params)
        return [statement, *bound]

    def transaction(self, work: Callable[[], T]) -> T:
        """Run `work` inside `transactionSync`: every statement it runs commits or none does.

        A transaction started inside another joins it: the outermost one decides.
        TypeError (and nothing written) when `work` is async: a transaction runs to its end
        without yielding, so an `async def` would return its coroutine unrun.
        """
        if self._in_transaction:
            return synchronous(work)
        outcome: list[T] = []

        def run_work() -> None:
            outcome.append(synchronous(work))

        self._in_transaction = True
        try:
            self._storage.transactionSync(_once(run_work))
        except BaseException:
            for hook in reversed(self._rollback_hooks):  # an undo log unwinds newest first
                hook()
            raise
        finally:
            self._in_transaction = False
            self._rollback_hooks.clear()
        return outcome[0]

    def one_statement(self, work: Callable[[], T]) -> T:
        """Run `work`, which runs at most one statement, as `transaction` would, without
        `transactionSync`; inside a transaction it joins it.

        One statement is all or nothing by itself (SQLite backs out a statement that
        fails: https://sqlite.org/lang_conflict.html), and it commits when a
        `transactionSync` would: inside a Durable Object every write outside an explicit
        transaction joins the object's implicit one, committed after the running code with
        the output gate held (workerd `src/workerd/io/actor-sqlite.c++`,
        `ActorSqlite::onWrite`), and `transactionSync` is a savepoint inside that same
        transaction. So what `transaction` adds here is its rollback hooks: they run if
        `work` raises. A second statement raises RuntimeError before it runs: the caller
        promised one, and the first is applied already.
        """
        return self._without_transaction_sync(work, statements=1)

    def reads_only(self, work: Callable[[], T]) -> T:
        """Run `work`, which may read, as `transaction` would, without `transactionSync`, as
        long as it only reads; inside a transaction it joins it.

        Statements that only read need no transaction: the object's code runs alone, so
        nothing writes between them. A statement that is not a SELECT is not run: it
        raises `WritesNeeded`. On that, as on any exception, the rollback hooks run, so
        everything `work` changed above SQLite is put back, and the caller may run it
        again, from the start, in `transaction`.
        """
        return self._without_transaction_sync(work, reads_only=True)

    def _without_transaction_sync(
        self, work: Callable[[], T], *, statements: int | None = None, reads_only: bool = False
    ) -> T:
        """`work` as a transaction of this facade (its rollback hooks run if it raises)
        without `transactionSync`, held to at most `statements` statements or to reads
        only; inside a transaction it joins it."""
        if self._in_transaction:
            return work()
        self._in_transaction = True
        self._statements_left = statements
        self._reads_only = reads_only
        try:
            return work()
        except BaseException:
            for hook in reversed(self._rollback_hooks):
                hook()
            raise
        finally:
            self._in_transaction = False
            self._statements_left = None
            self._reads_only = False
            self._rollback_hooks.clear()

    @property
    def in_transaction(self) -> bool:
        """Whether a transaction is running (a `transaction` now would join it)."""
        return self._in_transaction

    def on_rollback(self, hook: Callable[[], None]) -> None:
        """Call `hook` if the transaction now running rolls back (outside one, never);
        hooks run last registered first, each seeing the state it was registered on.

        Caches above SQLite use it to forget what a failed transaction wrote.
        """
        if self._in_transaction:
            self._rollback_hooks.append(hook)


def synchronous(work: Callable[[], T]) -> T:
    """`work()`, or TypeError when it answered an awaitable (an `async def` given where a
    plain function is run to its end, as a transaction's work is): the coroutine is closed
    unrun, and the error rolls back what the transaction wrote."""
    result = work()
    if inspect.isawaitable(result):
        close = getattr(result, "close", None)
        if callable(close):
            close()  # never awaited, and said so here rather than by a warning at collection
        raise TypeError(
            f"{getattr(work, '__qualname__', work)!r} is async: a transaction's work is a plain "
            "function (await what it needs before, write inside)"
        )
    return result
