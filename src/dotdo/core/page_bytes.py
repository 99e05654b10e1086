"""How many bytes a page of a list may hold, and how they are counted.

A list answers up to its `limit` items (a thousand at most) of up to a megabyte each (a
thing's properties, an event's data, a state value), and a Durable Object has 128 MB
(https://developers.cloudflare.com/durable-objects/platform/limits/): a page is also cut
by its bytes, before the item that would take it past MAX_PAGE_BYTES, and its cursor
continues from there. Its first item is always kept, whatever its size. `Sql.page` reads
a page so: SQLite measures its rows first (`measure`), then hands over those that fit.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from dotdo.errors import BadRequest
from dotdo.types import Row

__all__ = [
    "MAX_BATCH_ANSWER_BYTES",
    "MAX_PAGE_BYTES",
    "BatchAnswer",
    "answer_bytes",
    "fitting_count",
    "measure",
    "text_bytes",
    "value_bytes",
]

MAX_PAGE_BYTES = 4 * 1024 * 1024
"""Most bytes of values one page holds beyond its first item (4 MiB)."""
MAX_BATCH_ANSWER_BYTES = 4 * MAX_PAGE_BYTES
"""Most bytes of answers one batch gathers (16 MiB: four full pages) before a call of it
that has not started is refused: a `/rpc/pipeline` request or a Cap'n Web HTTP batch holds
every answer until the last, and 32 pages of 4 MiB ended workerd (`BatchAnswer`)."""


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


def answer_bytes(value: Any) -> int:
    """About how many bytes `value` (an answer: JSON-like values, bytes) takes written as
    JSON: each string as JSON writes it with every character past ASCII escaped (`\u0001`
    is six bytes for one character, `\u00e9` six for `é`: the most any of dotdo's encoders
    writes), its bytes, and 8 for anything else (a number, a key's overhead)."""
    size, stack = 0, [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            plain = item.isascii() and item.isprintable() and '"' not in item and "\\" not in item
            size += len(item) + 2 if plain else len(json.dumps(item))
        elif isinstance(item, bytes | bytearray | memoryview):
            size += len(item)
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
        else:
            size += 8
    return size


class BatchAnswer:
    """The bytes of the answers one batch has gathered so far, against
    MAX_BATCH_ANSWER_BYTES: `check()` before a call starts (400 `answer_too_large` once they
    are past it), `add(value)` when it has answered."""

    def __init__(self) -> None:
        self.bytes = 0

    def check(self) -> None:
        """BadRequest `answer_too_large` when the batch's answers already hold past the bound."""
        if self.bytes > MAX_BATCH_ANSWER_BYTES:
            raise BadRequest(
                f"this batch's answers hold {self.bytes} bytes, past {MAX_BATCH_ANSWER_BYTES}: "
                "the rest of it is not run; ask for them in another request",
                code="answer_too_large",
            )

    def add(self, value: Any) -> None:
        """Count an answer the batch holds."""
        self.bytes += answer_bytes(value)

    async def run(self, call: Callable[..., Awaitable[Any]], *args: Any) -> Any:
        """`await call(*args)` after `check()`, its answer counted (`add`)."""
        self.check()
        value = await call(*args)
        self.add(value)
        return value
