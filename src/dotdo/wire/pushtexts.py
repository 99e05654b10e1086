"""What each push of a Cap'n Web session is, as its caller wrote it (`get('bob').address`):
a step taken on a push that answered null names it (`remote.targets.null_step`).

A push keeps the parts its text is made of (the import it is taken on, its property path,
its call's arguments), and the text is written only when a message needs it: on a null
answer, not on every push."""

from __future__ import annotations

from typing import Any

from dotdo.remote.targets import path_text

__all__ = ["PushTexts"]

_MAX_CHAIN = 100
"""Imports followed back from a push when its text is written: a text keeps its last 200
characters (`step_text`), which no more than 100 steps of at least two can fill."""


class PushTexts:
    """The parts of each live push, by its export id; the object itself (import 0) is ""."""

    def __init__(self) -> None:
        """No push yet."""
        self._pushes: dict[int, tuple[Any, list[Any], list[Any] | None] | None] = {}

    def add(self, export_id: int, expression: Any) -> None:
        """Remember push `export_id`: `["pipeline" | "import", import, path?, args?]` as the
        steps it takes on its import; any other expression is "the call"."""
        parts = None
        if (
            isinstance(expression, list)
            and len(expression) in (2, 3, 4)
            and expression[0] in ("pipeline", "import")
        ):
            path = expression[2] if len(expression) > 2 and isinstance(expression[2], list) else []
            args = expression[3] if len(expression) > 3 and isinstance(expression[3], list) else None
            parts = (expression[1], path, args)
        self._pushes[export_id] = parts

    def text(self, import_id: Any) -> str:
        """The text of an import ("" for the object itself, "the call" for one not known)."""
        chain: list[tuple[list[Any], list[Any] | None]] = []
        receiver = "..."  # past _MAX_CHAIN imports: the text keeps its last steps anyway
        while len(chain) < _MAX_CHAIN:
            if import_id == 0:
                receiver = ""
                break
            parts = self._pushes.get(import_id) if isinstance(import_id, int) else None
            if parts is None:
                receiver = "the call"
                break
            import_id, path, args = parts
            chain.append((path, args))
        text = receiver
        for path, args in reversed(chain):
            text = path_text(text, path, args)
        return text

    def release(self, export_id: int) -> None:
        """The client is done with the push: forget it."""
        self._pushes.pop(export_id, None)
