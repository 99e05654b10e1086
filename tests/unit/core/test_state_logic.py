from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dotdo.core.state import (
    decode_cursor,
    encode_cursor,
    encode_value,
    prefix_upper_bound,
    validate_key,
    validate_operations,
)
from dotdo.errors import BadRequest, PayloadTooLarge

keys = st.text(min_size=1, max_size=20).filter(
    lambda s: "\x00" not in s and not any(0xD800 <= ord(c) <= 0xDFFF for c in s)
)


@given(prefix=keys, key=keys)
def test_prefix_bound_is_exact_in_utf8_byte_order(prefix: str, key: str) -> None:
    bound = prefix_upper_bound(prefix)
    in_range = key.encode() >= prefix.encode() and (bound is None or key.encode() < bound.encode())
    assert in_range == key.startswith(prefix)


def test_prefix_bound_edges() -> None:
    assert prefix_upper_bound("ab") == "ac"
    assert prefix_upper_bound("a\U0010ffff") == "b"
    assert prefix_upper_bound("\U0010ffff") is None
    assert prefix_upper_bound("\ud7ff") == "\ue000"


@given(keys)
def test_cursor_round_trip(key: str) -> None:
    assert decode_cursor(encode_cursor(key)) == key


@pytest.mark.parametrize("cursor", ["", "!!", "bnVsbA", "WzEsMl0"])
def test_foreign_cursors_are_refused(cursor: str) -> None:
    with pytest.raises(BadRequest) as info:
        decode_cursor(cursor)
    assert info.value.code == "invalid_cursor"


@pytest.mark.parametrize("key", ["", None, 5, "x" * 513, "é" * 257, "a\x00b"])
def test_invalid_keys(key: object) -> None:
    with pytest.raises(BadRequest) as info:
        validate_key(key)
    assert info.value.code == "invalid_key"


def test_key_limit_is_in_bytes() -> None:
    assert validate_key("x" * 512) == "x" * 512
    assert validate_key("é" * 256)


def test_values() -> None:
    assert encode_value({"a": [1, None]}) == '{"a":[1,null]}'
    with pytest.raises(BadRequest):
        encode_value(float("nan"))
    with pytest.raises(BadRequest):
        encode_value({1, 2})
    with pytest.raises(PayloadTooLarge):
        encode_value("x" * (1024 * 1024))


def test_operations_are_checked_before_anything_runs() -> None:
    assert validate_operations([{"op": "set", "key": "a", "value": 1}, {"op": "delete", "key": "b"}]) == [
        ("set", "a", "1"),
        ("delete", "b", None),
    ]
    for bad in [[], None, [1], [{"op": "set", "key": "a"}], [{"op": "put", "key": "a", "value": 1}]]:
        with pytest.raises(BadRequest):
            validate_operations(bad)


@pytest.mark.parametrize(
    ("operation", "field"),
    [
        ({"op": "set", "key": "b", "value": 1, "extra": 1}, "extra"),
        ({"op": "delete", "key": "zz", "value": 1}, "value"),  # a delete reads no value
        ({"op": "delete", "key": "zz", "Key": "a"}, "Key"),
    ],
)
def test_a_field_an_operation_does_not_read_is_refused_not_dropped(
    operation: dict[str, object], field: str
) -> None:
    """Such a field was dropped in silence (200), where the body's own unknown fields are a
    400 `invalid_params` naming the field."""
    for operations in ([operation], [{"op": "set", "key": "a", "value": 1}, operation]):
        with pytest.raises(BadRequest) as refused:
            validate_operations(operations)
        assert refused.value.code == "invalid_params"
        assert f"Unknown field {field!r} in operations[{len(operations) - 1}]" in refused.value.message
