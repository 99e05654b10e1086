"""Stored JSON: integers within 64 bits, finite numbers, bounded nesting; a 400 naming the rule."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from dotdo import BadRequest
from dotdo.values import MAX_STORED_DEPTH, stored_json


@pytest.mark.parametrize("number", [-(2**63), -(2**53) - 1, 2**53 - 1, 2**53, 2**63 - 1])
def test_64_bit_integers_are_stored_exactly(number: int) -> None:
    text = stored_json({"n": [number]})
    assert text == f'{{"n":[{number}]}}' and json.loads(text) == {"n": [number]}


@pytest.mark.parametrize("number", [2**63, -(2**63) - 1, 10**40])
def test_integers_beyond_64_bits_are_refused_naming_the_range(number: int) -> None:
    with pytest.raises(BadRequest) as refused:
        stored_json({"n": number}, what="Value", code="invalid_value")
    assert refused.value.code == "invalid_value"
    assert refused.value.message == (
        "Value: integers are limited to 64 bits (-9223372036854775808 to 9223372036854775807)"
    )


def _nested(depth: int) -> Any:
    value: Any = 0
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize(
    "value", [math.nan, math.inf, b"x", {1: 2}, {"a": object()}, _nested(MAX_STORED_DEPTH + 1)]
)
def test_what_json_cannot_hold_is_refused(value: Any) -> None:
    with pytest.raises(BadRequest) as refused:
        stored_json(value, what="data", code="invalid_data")
    assert refused.value.code == "invalid_data" and refused.value.message.startswith("data")


def test_tuples_are_arrays_and_depth_is_allowed_up_to_the_limit() -> None:
    assert stored_json((1, "é", None, True)) == '[1,"é",null,true]'
    assert stored_json(_nested(MAX_STORED_DEPTH)).count("[") == MAX_STORED_DEPTH
