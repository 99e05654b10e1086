"""`encode` writes the common leaves of a container inline (no call per property); its
answer, errors included, is the one a call per value gives, for any value."""

from __future__ import annotations

import base64
import enum
import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from dotdo.wire import codec
from dotdo.wire.codec import MAX_DEPTH, MAX_SAFE_INTEGER, encode


def reference(value: Any, depth: int = 0) -> Any:
    """`encode` as it was: one call per value, leaves included."""
    if depth > MAX_DEPTH:
        raise TypeError("value is nested too deeply")
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return value if abs(value) <= MAX_SAFE_INTEGER else {"$bigint": str(value)}
    if isinstance(value, float):
        if math.isnan(value):
            return {"$number": "NaN"}
        if math.isinf(value):
            return {"$number": "Infinity" if value > 0 else "-Infinity"}
        return value
    if isinstance(value, datetime):
        return {"$date": codec.epoch_ms(value if value.tzinfo else value.replace(tzinfo=UTC))}
    if isinstance(value, bytes | bytearray | memoryview):
        return {"$bytes": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, list | tuple):
        return [reference(item, depth + 1) for item in value]
    if isinstance(value, Mapping):
        encoded = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"object keys are strings, not {type(key).__name__}")
            encoded[key] = reference(item, depth + 1)
        if len(encoded) == 1 and next(iter(encoded)) in codec._TAGS:
            return {"$escape": encoded}
        return encoded
    raise TypeError(f"{type(value).__name__} cannot be sent over RPC")


class Level(enum.IntEnum):
    LOW = 1


class Name(str):
    pass


LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.text(max_size=5),
    st.builds(Name, st.text(max_size=3)),
    st.integers(),
    st.sampled_from([MAX_SAFE_INTEGER, MAX_SAFE_INTEGER + 1, -MAX_SAFE_INTEGER, -MAX_SAFE_INTEGER - 1]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.just(Level.LOW),
    st.binary(max_size=4),
    st.sampled_from(["$bigint", "$bytes", "$escape"]),
)
KEYS = st.one_of(st.text(max_size=4), st.sampled_from(["$bigint", "$bytes", "$number", "$escape"]))
VALUES = st.recursive(
    LEAVES,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.lists(inner, max_size=3).map(tuple),
        st.dictionaries(KEYS, inner, max_size=4),
    ),
    max_leaves=30,
)


def outcome(function: Any, value: Any) -> Any:
    try:
        return ("value", repr(function(value)))
    except TypeError as error:
        return ("error", str(error))


@settings(max_examples=400)
@given(VALUES)
def test_encode_answers_as_one_call_per_value(value: Any) -> None:
    assert outcome(encode, value) == outcome(reference, value)


@given(st.integers(MAX_DEPTH - 2, MAX_DEPTH + 2), st.sampled_from(["x", 7, None, True, 2.5, [], {}]))
def test_the_depth_bound_counts_leaves_as_before(depth: int, leaf: Any) -> None:
    nested: Any = leaf
    for _ in range(depth):
        nested = [nested]
    assert outcome(encode, nested) == outcome(reference, nested)
    keyed: Any = leaf
    for _ in range(depth):
        keyed = {"k": keyed}
    assert outcome(encode, keyed) == outcome(reference, keyed)
