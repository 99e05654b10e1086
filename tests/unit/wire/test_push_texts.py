"""`PushTexts`: what a Cap'n Web push was taken on, kept for its messages, and no more."""

from __future__ import annotations

import gc
import weakref

from dotdo.wire.pushtexts import PushTexts


def test_a_long_chain_of_released_pushes_is_not_kept() -> None:
    """Each push kept the push it was taken on, so a session's pushes taken one on another
    (each released once the next was sent) kept every earlier push's parts alive: 20,000
    pushes of 1 KB arguments held ~20 MB. Past the text's reach a push keeps a text."""
    texts = PushTexts()
    texts.add(1, ["pipeline", 0, ["get"], ["x" * 1000]])
    first = weakref.ref(texts.hold([1])[1])  # type: ignore[arg-type]
    for export_id in range(2, 500):
        texts.add(export_id, ["pipeline", export_id - 1, ["next"], ["y" * 1000]])
        texts.release(export_id - 1)
    gc.collect()
    assert first() is None
    written = texts.text(499, {})
    assert written.endswith(".next(...).next(...)") and len(written) <= 203  # "..." and 200


def test_a_text_names_its_chain_after_the_ids_are_released() -> None:
    texts = PushTexts()
    texts.add(1, ["pipeline", 0, ["get"], ["bob"]])
    held = texts.hold([1])
    texts.add(2, ["pipeline", 1, ["address"]])
    texts.release(1)
    assert texts.text(1, held) == "get('bob')"
    assert texts.text(2, {}) == "get('bob').address"
