"""How much a batch may answer: a `/rpc/pipeline` request or a Cap'n Web HTTP batch holds
every answer until its last, so each page's bound (`dotdo.core.page_bytes`, 4 MiB) is not
enough: 32 pages in one batch ended workerd (ADR 0057). A Cap'n Web WebSocket session holds
each answer until the client releases it (`HeldAnswers`), under the same bound."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from dotdo.errors import BadRequest

__all__ = ["MAX_BATCH_ANSWER_BYTES", "BatchAnswer", "HeldAnswers", "answer_bytes", "check_value_bytes"]

MAX_BATCH_ANSWER_BYTES = 16 * 1024 * 1024
"""Most bytes of answers one batch gathers (16 MiB: four full pages) before a call of it
that has not started is refused (`BatchAnswer`)."""


def answer_bytes(value: Any, stop_at: int | None = None) -> int:
    r"""About how many bytes `value` (an answer: JSON-like values, bytes) takes written as
    JSON: each string as JSON writes it with every character past ASCII escaped (`\u0001`
    is six bytes for one character, `\u00e9` six for `é`: the most any of dotdo's encoders
    writes), its bytes, and 8 for anything else (a number, a key's overhead). With
    `stop_at`, the count ends once it passes that many (a value may hold one large string
    many times over: its count is then more than `stop_at`, not its size)."""
    size, stack = 0, [value]
    while stack and (stop_at is None or size <= stop_at):
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


def check_value_bytes(value: Any, what: str) -> int:
    """BadRequest `answer_too_large` when `value` (`what` it is, for the message) would take
    more than MAX_BATCH_ANSWER_BYTES written (`answer_bytes`). A Cap'n Web value built from
    references repeats what they name: 200 references to a 1 MB value in a 2.7 KB message
    were 200 MB to write, and ended workerd. Answers the bytes counted."""
    size = answer_bytes(value, stop_at=MAX_BATCH_ANSWER_BYTES)
    if size > MAX_BATCH_ANSWER_BYTES:
        raise BadRequest(
            f"{what} would take more than {MAX_BATCH_ANSWER_BYTES} bytes written: "
            "a value a call answers or takes holds at most that much",
            code="answer_too_large",
        )
    return size


_BATCH_REMEDY = "the rest of it is not run; ask for them in another request"


class BatchAnswer:
    """The bytes of the answers one batch has gathered so far, against
    MAX_BATCH_ANSWER_BYTES: `check()` before a call starts (400 `answer_too_large` once they
    are past it), `add(value)` when it has answered."""

    def __init__(
        self,
        what: str = "this batch",
        remedy: str = "the rest of it is not run; ask for them in another request",
    ) -> None:
        """Nothing gathered yet; `what` names the batch in the refusal's message, `remedy`
        says what to do."""
        self.bytes = 0
        self._what = what
        self._remedy = remedy

    def check(self) -> None:
        """BadRequest `answer_too_large` when the batch's answers already hold past the bound."""
        if self.bytes > MAX_BATCH_ANSWER_BYTES:
            raise BadRequest(
                f"{self._what}'s answers hold {self.bytes} bytes, past "
                f"{MAX_BATCH_ANSWER_BYTES}: {self._remedy}",
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


class HeldAnswers(BatchAnswer):
    """The answers a Cap'n Web WebSocket session holds: each push's answer stays, for the
    client to pull and to use in later pushes, until the client releases its id. `check()`
    before a push starts (400 `answer_too_large` once those not released hold past
    MAX_BATCH_ANSWER_BYTES), `hold(id)` when it starts, `answered(id, size)` with the bytes
    its push counted, `release(id)`."""

    def __init__(self) -> None:
        """Nothing held yet."""
        super().__init__("this session", "release (dispose of) the results you are done with")
        self._sizes: dict[int, int] = {}  # every held push; its answer's bytes once it has one

    def hold(self, export_id: int) -> None:
        """Count the answer of push `export_id` once it has one, until `release(export_id)`."""
        self._sizes[export_id] = 0

    def answered(self, export_id: int, size: int) -> None:
        """Push `export_id` answered `size` bytes (nothing when it was released before)."""
        if export_id in self._sizes:
            self._sizes[export_id] = size
            self.bytes += size

    def release(self, export_id: int) -> None:
        """The client is done with `export_id`: its answer no longer counts."""
        self.bytes -= self._sizes.pop(export_id, 0)
