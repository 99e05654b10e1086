"""How much a batch may answer: a `/rpc/pipeline` request or a Cap'n Web HTTP batch holds
every answer until its last, so each page's bound (`dotdo.core.page_bytes`, 4 MiB) is not
enough: 32 pages in one batch ended workerd (ADR 0057)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from dotdo.errors import BadRequest

__all__ = ["MAX_BATCH_ANSWER_BYTES", "BatchAnswer", "answer_bytes"]

MAX_BATCH_ANSWER_BYTES = 16 * 1024 * 1024
"""Most bytes of answers one batch gathers (16 MiB: four full pages) before a call of it
that has not started is refused (`BatchAnswer`)."""


def answer_bytes(value: Any) -> int:
    r"""About how many bytes `value` (an answer: JSON-like values, bytes) takes written as
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
