"""What each push of a Cap'n Web session is, as its caller wrote it (`get('bob').address`):
a step taken on a push that answered null names it (`remote.targets.null_step`).

A push keeps the parts its text is made of (the push it is taken on, its property path,
its call's arguments), and the text is written only when a message needs it: on a null
answer, not on every push. A push holds the parts of the push it is taken on, not its id:
the client may release that id while the push still runs (it took what it refers to when
it arrived), and the text must still say what the push was taken on."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from dotdo.remote.targets import path_text

__all__ = ["PushParts", "PushTexts"]

_MAX_CHAIN = 100
"""Pushes followed back from a push when its text is written: a text keeps its last 200
characters (`step_text`), which no more than 100 steps of at least two can fill."""

_ROOT = ""
"""The receiver of a push taken on the object itself (import 0)."""
_UNKNOWN = "the call"
"""The receiver of a push taken on what no live push is (an export, an id not known)."""


@dataclass(frozen=True)
class _Push:
    on: _Push | str  # the push it is taken on, or the text of what it is taken on
    path: list[Any]
    args: list[Any] | None
    depth: int  # pushes in the chain `on` starts, this one included (at most _MAX_CHAIN)


PushParts = _Push | str
"""What a push is taken on, as `PushTexts.hold` keeps it for the push that refers to it."""


class PushTexts:
    """The parts of each live push, by its export id; the object itself (import 0) is ""."""

    def __init__(self) -> None:
        """No push yet."""
        self._pushes: dict[int, _Push | None] = {}

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
            on = self._receiver(expression[1])
            if isinstance(on, _Push) and on.depth >= _MAX_CHAIN:
                # Its text from here on, not its chain: a session's pushes taken one on
                # another would otherwise keep every earlier push's parts alive.
                on = _written(on)
            parts = _Push(on, path, args, on.depth + 1 if isinstance(on, _Push) else 1)
        self._pushes[export_id] = parts

    def _receiver(self, import_id: Any) -> _Push | str:
        if import_id == 0:
            return _ROOT
        held = self._pushes.get(import_id) if isinstance(import_id, int) else None
        return _UNKNOWN if held is None else held

    def hold(self, import_ids: Iterable[int]) -> dict[int, PushParts]:
        """The parts of the pushes `import_ids` name, as they are now: what `text` reads
        for a push that refers to them, released or not by the time it runs."""
        return {import_id: self._receiver(import_id) for import_id in import_ids}

    def text(self, import_id: Any, held: Mapping[int, PushParts]) -> str:
        """The text of an import ("" for the object itself, "the call" for one not known),
        from the parts `held` (`hold`) when it names the import."""
        kept = held.get(import_id) if isinstance(import_id, int) else None
        return _written(self._receiver(import_id) if kept is None else kept)

    def release(self, export_id: int) -> None:
        """The client is done with the push: forget its id (a later push taken on it keeps
        its parts)."""
        self._pushes.pop(export_id, None)


def _written(on: _Push | str) -> str:
    """The text of a push's parts: its chain's steps (at most _MAX_CHAIN of them) on the
    text its chain starts from."""
    chain: list[_Push] = []
    while isinstance(on, _Push):
        chain.append(on)
        on = on.on
    text = on
    for push in reversed(chain):
        text = path_text(text, push.path, push.args)
    return text
