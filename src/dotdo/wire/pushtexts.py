"""What each push of a Cap'n Web session is, as its caller wrote it (`get('bob').address`):
a step taken on a push that answered null names it (`remote.targets.null_step`)."""

from __future__ import annotations

from typing import Any

from dotdo.remote.targets import path_text

__all__ = ["PushTexts"]


class PushTexts:
    """The text of each live push, by its export id; the object itself (import 0) is ""."""

    def __init__(self) -> None:
        """No push yet."""
        self._texts: dict[int, str] = {}

    def add(self, export_id: int, expression: Any) -> None:
        """Remember push `export_id`: `["pipeline" | "import", import, path?, args?]` as the
        steps it takes on its import's text; any other expression as "the call"."""
        text = "the call"
        if (
            isinstance(expression, list)
            and len(expression) in (2, 3, 4)
            and expression[0] in ("pipeline", "import")
        ):
            path = expression[2] if len(expression) > 2 and isinstance(expression[2], list) else []
            args = expression[3] if len(expression) > 3 and isinstance(expression[3], list) else None
            text = path_text(self.text(expression[1]), path, args)
        self._texts[export_id] = text

    def text(self, import_id: Any) -> str:
        """The text of an import ("" for the object itself, "the call" for one not known)."""
        if import_id == 0:
            return ""
        return self._texts.get(import_id, "the call") if isinstance(import_id, int) else "the call"

    def release(self, export_id: int) -> None:
        """The client is done with the push: forget its text."""
        self._texts.pop(export_id, None)
