"""How many bytes a page of a list may hold, and how they are counted.

A list answers up to its `limit` items (a thousand at most) of up to a megabyte each (a
thing's properties, an event's data, a state value), and a Durable Object has 128 MB
(https://developers.cloudflare.com/durable-objects/platform/limits/): a page is also cut
by its bytes, before the item that would take it past MAX_PAGE_BYTES, and its cursor
continues from there. Its first item is always kept, whatever its size. `Sql.page` reads
a page so, and ends the runtime's cursor where it stops (`end_cursor`).
"""

from __future__ import annotations

import contextlib
from typing import Any

from dotdo.types import Row

__all__ = ["MAX_PAGE_BYTES", "end_cursor", "text_bytes", "value_bytes"]

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


def end_cursor(cursor: Any) -> None:
    """End a runtime cursor left before its last row, releasing its statement now. workerd
    holds a cursor's SQLite statement until the cursor is read to its end or garbage
    collected: on the local runtime, pages cut mid-way over 1 MB events failed with
    SQLITE_NOMEM after twenty-odd pages. `one()` ends the query when it finds a row past
    the first, then raises ("Expected exactly one result ... multiple results"), so it
    reads one row more (https://github.com/cloudflare/workerd, src/workerd/api/sql.c++,
    `SqlStorage::Cursor::one`)."""
    with contextlib.suppress(Exception):  # the error `one()` raises on purpose
        cursor.one()
