"""Stored JSON: integers within 64 bits, finite numbers, bounded nesting; a 400 naming the rule."""

from __future__ import annotations

import enum
import json
import math
from collections import OrderedDict
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dotdo import BadRequest
from dotdo.values import INT64_MAX, INT64_MIN, INT64_RANGE, MAX_STORED_DEPTH, int64_error, stored_json


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


# -- the check's inline leaves answer as one call per value ----------------------------


class Level(enum.IntEnum):
    LOW = 1


class Name(str):
    pass


class Ratio(float):
    pass


class Items(list[Any]):
    pass


def reference_check(value: Any, what: str, code: str, depth: int) -> None:
    """`values._check` in its plainest form: one call per value, leaves included; `depth` is
    how many arrays and objects hold `value`, and one more than MAX_STORED_DEPTH of them on
    a path is too deep (a leaf adds no level)."""
    if depth >= MAX_STORED_DEPTH and isinstance(value, dict | list | tuple):
        raise BadRequest(f"{what} is nested deeper than {MAX_STORED_DEPTH} levels", code=code)
    if value is None or isinstance(value, bool | str):
        return
    if isinstance(value, int):
        if int64_error(value):
            raise BadRequest(f"{what}: {INT64_RANGE}", code=code)
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise BadRequest(f"{what}: numbers are finite (no NaN or Infinity)", code=code)
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise BadRequest(f"{what}: object keys are strings, not {type(key).__name__}", code=code)
            reference_check(item, what, code, depth + 1)
        return
    if isinstance(value, list | tuple):
        for item in value:
            reference_check(item, what, code, depth + 1)
        return
    raise BadRequest(f"{what} is not JSON: {type(value).__name__} has no JSON form", code=code)


def reference_stored_json(value: Any) -> str:
    reference_check(value, "data", "invalid_data", 0)
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.text(max_size=4),
    st.builds(Name, st.text(max_size=3)),
    st.integers(),
    st.sampled_from([INT64_MAX, INT64_MAX + 1, INT64_MIN, INT64_MIN - 1]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.builds(Ratio, st.floats(allow_nan=True, allow_infinity=True)),
    st.just(Level.LOW),
    st.binary(max_size=2),
)
VALUES = st.recursive(
    LEAVES,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.lists(inner, max_size=3).map(tuple),
        st.dictionaries(st.one_of(st.text(max_size=3), st.integers(0, 2)), inner, max_size=4),
        # Subclasses take the checks' general path, plain dicts and lists their exact-type one.
        st.lists(inner, max_size=3).map(Items),
        st.dictionaries(st.builds(Name, st.text(max_size=3)), inner, max_size=3).map(OrderedDict),
    ),
    max_leaves=30,
)


def outcome(function: Any, value: Any) -> Any:
    try:
        return ("text", function(value))
    except BadRequest as error:
        return ("error", error.code, error.message)


@settings(max_examples=400)
@given(VALUES)
def test_stored_json_answers_as_one_call_per_value(value: Any) -> None:
    assert outcome(lambda v: stored_json(v, what="data", code="invalid_data"), value) == outcome(
        reference_stored_json, value
    )


@given(
    st.integers(MAX_STORED_DEPTH - 2, MAX_STORED_DEPTH + 2),
    st.sampled_from(["x", 7, None, True, 2.5, math.inf, 2**63, [], {}, b"x"]),
)
def test_the_depth_bound_counts_leaves_as_before(depth: int, leaf: Any) -> None:
    for wrap in (lambda v: [v], lambda v: {"k": v}, lambda v: (v,)):
        nested: Any = leaf
        for _ in range(depth):
            nested = wrap(nested)
        assert outcome(lambda v: stored_json(v, what="data", code="invalid_data"), nested) == outcome(
            reference_stored_json, nested
        )


@given(st.text(), st.sampled_from(["\ud800", "\udbff", "\udc00", "\udfff"]), st.booleans())
def test_a_lone_surrogate_in_a_string_or_key_is_refused(text: str, surrogate: str, as_key: bool) -> None:
    """No UTF-8 text holds one, so SQLite cannot store it: the 400 says so, whatever the
    value around it (a Workers RPC caller's JavaScript string can carry one)."""
    lone = text + surrogate
    value = {lone: 1} if as_key else {"v": [lone]}
    with pytest.raises(BadRequest) as refused:
        stored_json(value, what="Data", code="invalid_data")
    assert refused.value.code == "invalid_data"
    assert f"unpaired surrogate U+{ord(surrogate):04X}" in str(refused.value)


def test_a_surrogate_pair_is_the_character_it_encodes() -> None:
    assert stored_json({"v": "\U0001f600"}) == '{"v":"\U0001f600"}'
