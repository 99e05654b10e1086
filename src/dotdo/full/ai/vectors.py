"""Vectors as the object keeps them: float32 little-endian in a SQLite BLOB, searched by
exact cosine similarity.

Pure Python (the `array` module): it runs in Pyodide, where numpy would be one more large
package to load for a loop that is not the bottleneck at the sizes an object holds (see
bench/README.md, "Embedding search").
"""

from __future__ import annotations

import heapq
import math
import operator
import sys
from array import array
from collections.abc import Iterable, Sequence

__all__ = ["cosine", "normalized", "pack", "top_k", "unpack"]

_SWAP = sys.byteorder != "little"


def normalized(vector: Sequence[float]) -> list[float]:
    """`vector` scaled to unit length (the zero vector stays zero). ValueError for a value
    that is not a finite number, or an empty vector."""
    if not vector:
        raise ValueError("an embedding has at least one dimension")
    values = [float(value) for value in vector]
    if not all(math.isfinite(value) for value in values):
        raise ValueError("an embedding holds finite numbers only")
    norm = math.sqrt(math.fsum(value * value for value in values))
    return values if norm == 0 else [value / norm for value in values]


def pack(vector: Sequence[float]) -> bytes:
    """`vector` as float32 little-endian bytes (4 bytes a dimension): what the BLOB holds."""
    packed = array("f", vector)
    if _SWAP:
        packed.byteswap()
    return packed.tobytes()


def unpack(blob: bytes | memoryview) -> array[float]:
    """The float32 vector `pack` wrote (the runtime hands a BLOB back as a memoryview)."""
    values = array("f")
    values.frombytes(bytes(blob))
    if _SWAP:
        values.byteswap()
    return values


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    """Cosine similarity of two vectors of one length, in [-1, 1]; 0 when either is zero.
    ValueError for vectors of different lengths (two models' spaces are never compared)."""
    if len(a) != len(b):
        raise ValueError(f"vectors of {len(a)} and {len(b)} dimensions cannot be compared")
    dot = math.fsum(x * y for x, y in zip(a, b, strict=True))
    na = math.sqrt(math.fsum(x * x for x in a))
    nb = math.sqrt(math.fsum(y * y for y in b))
    return 0.0 if na == 0 or nb == 0 else dot / (na * nb)


def top_k(
    query: Sequence[float], candidates: Iterable[tuple[str, Sequence[float]]], k: int
) -> list[tuple[str, float]]:
    """The `k` candidates (key, unit vector) most similar to the unit vector `query`, best
    first, as (key, score); ties keep the candidates' order. Both sides are unit length
    (`normalized`), so the dot product is the cosine; candidates of another length are
    skipped (another model's space)."""
    dims = len(query)
    scored = (
        # map(operator.mul) is the fastest pure-Python dot product (no per-item frame)
        (sum(map(operator.mul, query, vector)), -index, key)
        for index, (key, vector) in enumerate(candidates)
        if len(vector) == dims
    )
    return [(key, score) for score, _, key in heapq.nlargest(k, scored)]
