"""A page's rows beside their sizes, in one statement while they are within their share.

A page is cut by its bytes (`page_bytes`, ADR 0057). A row no larger than the page's
share of them (`share`: its budget over the most rows it reads) comes back beside its
size in the one statement that walks the page: however many such rows come, they fit
together. A larger row comes back as its key and size alone and is read by key after,
once the sizes say it fits (`PageColumns.by_key`); `in_order` puts the rows read later
back in their places. A page whose rows are within their share is so one statement; a
row past its share leaves SQLite only when the page answers it, and the rows within it
hold at most the page's budget together, whether answered or not. `Sql.page` reads every
list so but a thing page, whose store walks its matches' ids (`SqliteThingStore`) and
takes its share and order from here too.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from dotdo.core.page_bytes import MAX_PAGE_BYTES, measure

__all__ = ["SIZE", "PageColumns", "in_order", "share"]

K = TypeVar("K")
T = TypeVar("T")

SIZE = "_dotdo_bytes"
"""The column of a row's bytes in the statement `PageColumns.sized` writes."""
_WRITTEN = 64
"""Most statements one `PageColumns` keeps written."""


def share(rows: int, max_bytes: int = MAX_PAGE_BYTES, used: int = 0) -> int:
    """The most bytes a row of a page of at most `rows` rows may hold to be read beside its
    size: the page's budget (`max_bytes`, less the `used` bytes it holds already), over its
    rows, so that every row within it fits, however many come (0 when nothing is left)."""
    return max(max_bytes - used, 0) // max(rows, 1)


def in_order(keys: Iterable[K], held: Mapping[K, T | None], found: Mapping[K, T]) -> list[T]:
    """The rows of `keys`, in their order: each one `held` (read beside its size; None: it is
    gone) or else `found` (read by key later); a key in neither is left out."""
    rows = (held[key] if key in held else found.get(key) for key in keys)
    return [row for row in rows if row is not None]


@dataclass(frozen=True)
class PageColumns:
    """What `Sql.page` knows of a page's statement, whose SQL its component owns.

    - `names`: the statement's result columns, in order;
    - `key`: the one of them that names a row (unique among a page's rows);
    - `by_key`: a statement answering the same columns, in the same order, for the rows whose
      keys its one parameter lists (a JSON array: `... WHERE id IN (SELECT value FROM
      json_each(?))`), in any order;
    - `measured`: the columns the page's bytes count (`page_bytes.measure`; empty: all).

    ValueError when `key` or a measured column is not among `names`."""

    names: tuple[str, ...]
    key: str
    by_key: str
    measured: tuple[str, ...] = ()
    _written: dict[tuple[str, int], str] = field(default_factory=dict, init=False, compare=False, repr=False)
    """`sized`'s statements by query and share: a list writes a few, and runs them again."""

    def __post_init__(self) -> None:
        unknown = {self.key, *self.measured} - set(self.names)
        if unknown:
            raise ValueError(f"page columns {sorted(unknown)} are not among the statement's {self.names}")

    def sized(self, query: str, share: int) -> str:
        """`query`'s rows in its order, each with its bytes first (`SIZE`), then its columns:
        its key always, its other values where its bytes are at most `share` (else NULL).

        The measure is a column of a co-routine (each level has a LIMIT, so SQLite flattens
        neither into the next), computed once a row: flattened, every value's guard would
        measure the row again, a megabyte value read once for each column."""
        statement = self._written.get((query, share))
        if statement is None:
            values = ", ".join(
                f'"{name}"'
                if name == self.key
                else f'CASE WHEN {SIZE} <= {share} THEN "{name}" END AS "{name}"'
                for name in self.names
            )
            size = measure(*(self.measured or self.names))
            statement = (
                f"SELECT {SIZE}, {values} FROM (SELECT {size} AS {SIZE}, * FROM ({query}) LIMIT -1) LIMIT -1"
            )
            if len(self._written) >= _WRITTEN:
                self._written.clear()
            self._written[query, share] = statement
        return statement
