"""`WriteAheadLog.pack` encodes a transaction's entries once when they fit one row: the
rows it answers are the ones that encoding each entry and joining them gave, split at
the same places past `max_row_bytes`, for any entries and any bound."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from dotdo.storage.log import WriteAheadLog


def reference_pack(entries: list[dict[str, Any]], max_row_bytes: int) -> list[str]:
    """`pack` as it was: each entry encoded on its own, rows joined by hand."""
    bodies: list[str] = []
    chunk: list[str] = []
    size = 2
    for entry in entries:
        text = json.dumps(entry, separators=(",", ":"), ensure_ascii=False)
        length = len(text.encode()) + 1
        if chunk and size + length > max_row_bytes:
            bodies.append("[" + ",".join(chunk) + "]")
            chunk, size = [], 2
        chunk.append(text)
        size += length
    if chunk:
        bodies.append("[" + ",".join(chunk) + "]")
    return bodies


def log(max_row_bytes: int) -> WriteAheadLog:
    wal = WriteAheadLog.__new__(WriteAheadLog)  # no SQL: `pack` is pure
    wal._max_row_bytes = max_row_bytes
    return wal


RECORDS = st.lists(
    st.one_of(st.text(max_size=12), st.integers(0, 2**63 - 1), st.none()), min_size=6, max_size=6
)
ENTRIES = st.one_of(
    st.builds(lambda i, t, r: {"id": i, "t": t, "r": r}, st.text(max_size=6), st.text(max_size=4), RECORDS),
    st.builds(lambda i, t: {"id": i, "t": t, "r": None}, st.text(max_size=6), st.text(max_size=4)),
    st.builds(
        lambda i, d: {"ev": {"id": i, "type": "Customer.created", "data": d, "timestamp": 1, "subject": i}},
        st.text(max_size=6),
        st.text(max_size=20),
    ),
)


@settings(max_examples=400)
@given(st.lists(ENTRIES, max_size=6), st.integers(1, 400))
def test_pack_answers_the_rows_entry_by_entry_encoding_gave(
    entries: list[dict[str, Any]], bound: int
) -> None:
    assert log(bound).pack(entries) == reference_pack(entries, bound)


@given(st.lists(ENTRIES, min_size=1, max_size=4))
def test_a_row_of_exactly_the_bound_splits_as_before(entries: list[dict[str, Any]]) -> None:
    whole = json.dumps(entries, separators=(",", ":"), ensure_ascii=False)
    size = len(whole.encode())
    for bound in (size - 1, size, size + 1, size + 2):
        assert log(bound).pack(entries) == reference_pack(entries, bound)
