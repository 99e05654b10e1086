"""The in-process stand-in of `ctx.storage` the tests use (`dotdo.testing.sqlite`), and a
clock the test moves by hand."""

from __future__ import annotations

from dotdo.testing.sqlite import Cursor, RuntimeSql, Storage, split_statements

__all__ = ["Clock", "Cursor", "RuntimeSql", "Storage", "split_statements"]


class Clock:
    """Epoch milliseconds that move only when the test says so."""

    def __init__(self, now: int) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now

    def advance(self, ms: int) -> int:
        self.now += ms
        return self.now
