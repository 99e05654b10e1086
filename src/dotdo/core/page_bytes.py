"""How many bytes a page of a list may hold, and how they are counted.

A list answers up to its `limit` items (a thousand at most) of up to a megabyte each (a
thing's properties, an event's data, a state value), and a Durable Object has 128 MB
(https://developers.cloudflare.com/durable-objects/platform/limits/): a page is also cut
by its bytes, before the item that would take it past MAX_PAGE_BYTES, and its cursor
continues from there. Its first item is always kept, whatever its size. `Sql.page` reads
a page so: SQLite measures each row (`measure`) and hands over those that fit, each beside
its size while it is within its share of the page (`page_rows`), the others read after.
"""

from __future__ import annotations

from dotdo.types import Row

__all__ = ["MAX_PAGE_BYTES", "fitting_count", "measure", "text_bytes", "value_bytes"]

MAX_PAGE_BYTES = 4 * 1024 * 1024
"""Most bytes of values one page holds beyond its first item (4 MiB)."""


def text_bytes(text: str) -> int:
    """The UTF-8 bytes of `text` (counted without encoding it when it is ASCII)."""
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))


def value_bytes(row: Row) -> int:
    """The bytes of a row's values: TEXT as its UTF-8 bytes, a BLOB as is, a number or
    NULL as nothing (a row has at most 100 columns)."""
    size = 0
    for value in row.values():
        if isinstance(value, str):
            size += text_bytes(value)
        elif isinstance(value, bytes | memoryview):
            size += len(value)
    return size


def measure(*columns: str) -> str:
    """The SQL expression of a row's bytes over its result `columns`, as `value_bytes`
    counts them: TEXT as its UTF-8 bytes, a BLOB as is, a number or NULL as nothing."""
    return " + ".join(
        f"(CASE WHEN typeof({c}) IN ('text', 'blob') THEN length(CAST({c} AS BLOB)) ELSE 0 END)"
        for c in columns
    )


def fitting_count(sizes: list[int], used: int = 0, max_bytes: int = MAX_PAGE_BYTES) -> int:
    """How many of the leading items of `sizes` (bytes each, in page order) fit a page that
    holds `used` bytes already: at most `max_bytes` together, the first always (when nothing
    is `used`)."""
    fitting, total = 0, used
    for size in sizes:
        total += size
        if (fitting or used) and total > max_bytes:
            break
        fitting += 1
    return fitting
