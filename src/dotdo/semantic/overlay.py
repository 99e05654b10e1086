"""Queries over an `Overlay`: records newer than their rows in `things` (DOStorage's dirty
things), read in their place by the plain query's own condition and order, so SQLite
answers as if they had been written into `things` first (ADR 0030).

`SqliteThingStore` (`store.py`) builds its statements here when its overlay source gives
it an overlay; without one, its statements are the plain ones.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dotdo.core.sql import MAX_STATEMENT_BYTES
from dotdo.semantic.store import THING_COLUMNS

if TYPE_CHECKING:
    from dotdo.semantic.store import ThingRecord

__all__ = ["THING_COLUMNS", "Overlay", "OverlaySource", "overlay_count", "overlay_select"]

# An overlay's records as rows with the columns and affinities of `things` (a CAST gives an
# expression the affinity of that declared type), so every condition, order and collation
# reads them exactly as it reads the table. An id whose record is gone has NULL elsewhere.
_DIRTY = (
    "dirty AS (SELECT CAST(json_extract(value, '$[0]') AS TEXT) AS id, "
    "CAST(json_extract(value, '$[1]') AS TEXT) AS type, "
    "CAST(json_extract(value, '$[2]') AS TEXT) AS data, "
    "CAST(json_extract(value, '$[3]') AS INTEGER) AS created_at, "
    "CAST(json_extract(value, '$[4]') AS INTEGER) AS updated_at, "
    "CAST(json_extract(value, '$[5]') AS INTEGER) AS deleted_at, "
    "CAST(json_extract(value, '$[6]') AS INTEGER) AS version FROM json_each(?))"
)
# The table's rows an overlay does not replace. First in a condition's conjunction, so the
# clause's terms nest no deeper than in the plain query (Cloudflare: 100 levels).
_CLEAN = "id NOT IN (SELECT id FROM dirty)"
# The table's rows of the type an overlay does not replace, then the overlay's, as one
# relation for a condition written once. Its LIMIT keeps SQLite from pushing the condition
# down into it: a pushed-down clause is re-joined one term at a time, into a chain as deep
# as it has terms (past Cloudflare's 100 for the largest).
_UNION = (
    f"(SELECT {THING_COLUMNS} FROM things WHERE {_CLEAN} AND type = ? "
    f"UNION ALL SELECT {THING_COLUMNS} FROM dirty LIMIT -1)"
)
_STATEMENT_ROOM = MAX_STATEMENT_BYTES - 1_000
"""The most an overlay's statement may take, leaving room for the SQL facade's rewriting
of integer parameters (`core/sql.py`)."""


@dataclass(frozen=True)
class Overlay:
    """Records newer than their rows in `things`, which one query of one type reads in
    their place.

    `records` maps every id whose `things` row the query must not read (stale, or of a
    thing since deleted for good) to the record standing in for it: None when there is
    none; a record of another type matches nothing, as a row of another type would not.
    `param` is the one JSON text they travel in as a bound parameter: an array of
    `[id, type, data, created_at, updated_at, deleted_at, version]` (`[id]` for None),
    `data` the record's JSON text as a string, so SQLite reads back the same text
    (characters past ASCII unescaped, as the write-ahead log writes them). Its size in
    UTF-8 (`size`) is what a caller bounds: SQLite on Cloudflare refuses a string past 2 MB.
    """

    records: Mapping[str, ThingRecord | None]
    param: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        rows: list[list[Any]] = [
            [thing_id] if record is None else list(record.columns())
            for thing_id, record in self.records.items()
        ]
        object.__setattr__(self, "param", json.dumps(rows, separators=(",", ":"), ensure_ascii=False))

    @property
    def size(self) -> int:
        """The bytes of `param` in UTF-8."""
        return len(self.param.encode("utf-8", "surrogatepass"))


OverlaySource = Callable[[str], Overlay | None]
"""Given a type name, the overlay a query of that type reads (None: `things` holds every
record of the type as it is); see `SqliteThingStore`."""


def overlay_select(
    overlay: Overlay,
    condition: tuple[str, list[Any]],
    order: str,
    columns: str,
    limit: int,
    offset: int,
    table: str = "things",
) -> tuple[str, list[Any]]:
    """The statement and parameters selecting `columns` of the rows matching `condition`
    (the plain query's SQL over `things` columns, and its parameters: the type first, then
    at most the named `:ops`), in `order`, `limit` (-1: all) from `offset`, over `overlay`;
    `table` is how the table's side names `things` (`things INDEXED BY ...` to read it by
    a declared index, as the plain query does)."""
    where, params = condition
    tail = f"ORDER BY {order} LIMIT ? OFFSET ?"
    # The table's side takes its first `limit + offset` matches in the query's order (the
    # table's key, or a declared property's index, serves it as for the plain query): the
    # order is total (ids break ties), so no later one can reach the page. The overlay's
    # rows are few; one sort merges both.
    sql = (
        f"WITH {_DIRTY} SELECT {columns} FROM ("
        f"SELECT * FROM (SELECT {THING_COLUMNS} FROM {table} WHERE {_CLEAN} AND {where} "
        f"ORDER BY {order} LIMIT ?) UNION ALL SELECT {THING_COLUMNS} FROM dirty WHERE {where}) {tail}"
    )
    if _fits(sql):
        top = -1 if limit < 0 else limit + offset
        return sql, [overlay.param, *params, top, *_again(params), limit, offset]
    # A clause near its size bound, twice, would pass Cloudflare's statement limit: once,
    # over the union (the table's side then reads every row of the type).
    sql = f"WITH {_DIRTY} SELECT {columns} FROM {_UNION} WHERE {where} {tail}"
    return sql, [overlay.param, params[0], *params, limit, offset]


def overlay_count(
    overlay: Overlay, condition: tuple[str, list[Any]], table: str = "things"
) -> tuple[str, list[Any]]:
    """The statement and parameters counting the rows matching `condition` (as in
    `overlay_select`, `table` too) over `overlay`, as `n`."""
    where, params = condition
    # Subqueries in FROM, not scalar ones: those count towards the expression depth.
    sql = (
        f"WITH {_DIRTY} SELECT count(*) AS n FROM (SELECT 1 FROM {table} WHERE {_CLEAN} AND {where} "
        f"UNION ALL SELECT 1 FROM dirty WHERE {where})"
    )
    if _fits(sql):
        return sql, [overlay.param, *params, *_again(params)]
    sql = f"WITH {_DIRTY} SELECT count(*) AS n FROM {_UNION} WHERE {where}"  # as in `overlay_select`
    return sql, [overlay.param, params[0], *params]


def _fits(sql: str) -> bool:
    return len(sql.encode()) <= _STATEMENT_ROOM


def _again(params: list[Any]) -> list[Any]:
    """A condition's parameters for its second use in one statement: the type again; the
    operands (`:ops`) are a named parameter, bound once at its first use."""
    return params[:1]
