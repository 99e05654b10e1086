"""The rules of a thing's data (`semantic/thingdata.py`): what a caller may send, what is
stored, and the version and precondition checks every write makes."""

from __future__ import annotations

import enum
import json
import math
from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dotdo.core.preconditions import Preconditions
from dotdo.core.state import MAX_VALUE_BYTES
from dotdo.errors import BadRequest, Conflict, HttpError, PayloadTooLarge, PreconditionFailed
from dotdo.semantic.store import ThingRecord
from dotdo.semantic.thingdata import (
    MAX_DEPTH,
    check_preconditions,
    check_version,
    encode_properties,
    split_input,
    validate_id,
)
from dotdo.values import INT64_MAX, INT64_MIN, LONE_SURROGATE
from tests.unit.test_values import reference_check

RECORD = ThingRecord("c-1", "Customer", "{}", 1, 2, None, 3)


def test_split_input_separates_properties_id_and_version() -> None:
    sent = {"$id": "c-1", "$type": "Customer", "$version": 2, "$created_at": 5, "name": "Ada"}
    assert split_input("Customer", sent) == ({"name": "Ada"}, "c-1", 2)


class Key(str):
    pass


def test_split_input_takes_any_mapping_with_str_keys() -> None:
    """A plain dict is known by its type; any other mapping with str keys (subclasses too),
    as a Workers RPC caller or an application may pass, is taken as before."""
    sent = MappingProxyType({Key("$id"): "c-1", Key("name"): "Ada", "age": 3})
    assert split_input("Customer", sent) == ({"name": "Ada", "age": 3}, "c-1", None)
    with pytest.raises(BadRequest, match="Property names are strings"):
        split_input("Customer", MappingProxyType({b"name": "Ada"}))


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (["not", "an", "object"], "invalid_data"),
        ({"$type": "Order"}, "type_mismatch"),
        ({"$version": 0}, "invalid_version"),
        ({"$version": True}, "invalid_version"),
        ({"$secret": 1}, "invalid_data"),
        ({1: "x"}, "invalid_data"),
        ({"$id": "-starts-with-a-dash"}, "invalid_id"),
    ],
)
def test_split_input_refuses_what_no_thing_can_hold(data: Any, code: str) -> None:
    with pytest.raises(BadRequest) as caught:
        split_input("Customer", data)
    assert caught.value.code == code


def _nest(levels: int) -> Any:
    value: Any = 1
    for _ in range(levels):
        value = [value]
    return value


@pytest.mark.parametrize(
    "value", [float("nan"), float("inf"), 2**63, -(2**63) - 1, {1: 2}, object(), _nest(32)]
)
def test_encode_properties_refuses_what_json_cannot_hold_exactly(value: Any) -> None:
    with pytest.raises(BadRequest) as caught:
        encode_properties({"v": value})
    assert caught.value.code == "invalid_data"


def test_encode_properties_bounds_the_size() -> None:
    assert encode_properties({"name": "Ada", "n": 2**63 - 1}) == '{"name":"Ada","n":9223372036854775807}'
    with pytest.raises(PayloadTooLarge) as caught:
        encode_properties({"blob": "x" * (1024 * 1024)})
    assert caught.value.code == "thing_too_large"


def test_validate_id_bounds_the_length() -> None:
    assert validate_id("a" * 128) == "a" * 128
    with pytest.raises(BadRequest):
        validate_id("a" * 129)


def test_check_version() -> None:
    check_version(RECORD, None)
    check_version(RECORD, 3)
    with pytest.raises(Conflict) as caught:
        check_version(RECORD, 2)
    assert caught.value.code == "version_conflict"


def test_check_preconditions_answers_412_with_the_current_version_and_etag() -> None:
    check_preconditions(Preconditions.from_headers('"3.1"', None), "Customer", "c-1", RECORD)
    for stale in ('"2.1"', '"3"', '"3.2"'):  # another version, the version alone, another life
        with pytest.raises(PreconditionFailed) as caught:
            check_preconditions(Preconditions.from_headers(stale, None), "Customer", "c-1", RECORD)
        assert caught.value.current_version == 3
        assert caught.value.headers == {"etag": '"3.1"'}
    with pytest.raises(PreconditionFailed) as absent:
        check_preconditions(Preconditions.from_headers("*", None), "Customer", "c-9", None)
    assert absent.value.current_version is None
    assert absent.value.headers == {}


# -- encode_properties is the one check of a stored value, then the size bound -----------


class Level(enum.IntEnum):
    LOW = 1


class Name(str):
    pass


def reference_encode_properties(properties: dict[str, Any]) -> str:
    """`encode_properties` in its plainest form: the one check of every stored value
    (`values._check`, in its own plainest form), then the size bound."""
    reference_check(properties, "Thing data", "invalid_data", 0)
    text = json.dumps(properties, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    found = LONE_SURROGATE.search(text)
    if found is not None:
        raise BadRequest(
            f"Thing data: a string holds the unpaired surrogate U+{ord(found.group()):04X}, "
            "which is not Unicode text",
            code="invalid_data",
        )
    if len(text.encode()) > MAX_VALUE_BYTES:
        raise PayloadTooLarge(f"A thing is at most {MAX_VALUE_BYTES} bytes as JSON", code="thing_too_large")
    return text


LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.text(max_size=4),  # lone surrogates included: not UTF-8, so refused
    st.builds(Name, st.text(max_size=3)),
    st.integers(),
    st.sampled_from([INT64_MAX, INT64_MAX + 1, INT64_MIN, INT64_MIN - 1]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.just(Level.LOW),
    st.binary(max_size=2),
)
VALUES = st.recursive(
    LEAVES,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.lists(inner, max_size=3).map(tuple),
        st.dictionaries(st.one_of(st.text(max_size=3), st.integers(0, 2)), inner, max_size=4),
    ),
    max_leaves=30,
)


def encoded(function: Any, value: Any) -> Any:
    try:
        return ("text", function(value))
    except HttpError as error:
        return ("error", error.status, error.code, error.message)


@settings(max_examples=400)
@given(st.dictionaries(st.text(max_size=3), VALUES, max_size=4))
def test_encode_properties_answers_as_one_call_per_value(properties: dict[str, Any]) -> None:
    assert encoded(encode_properties, properties) == encoded(reference_encode_properties, properties)


@given(
    st.integers(MAX_DEPTH - 2, MAX_DEPTH + 2), st.sampled_from(["x", 7, None, 2.5, math.nan, 2**64, [], {}])
)
def test_the_depth_bound_counts_leaves_as_before(depth: int, leaf: Any) -> None:
    for wrap in (lambda v: [v], lambda v: {"k": v}):
        nested: Any = leaf
        for _ in range(depth):
            nested = wrap(nested)
        properties = {"v": nested}
        assert encoded(encode_properties, properties) == encoded(reference_encode_properties, properties)


def test_the_size_bound_counts_utf8_bytes() -> None:
    fits = "é" * ((MAX_VALUE_BYTES - len('{"v":""}')) // 2)
    assert encode_properties({"v": fits}) == reference_encode_properties({"v": fits})
    for text in (fits + "é", "x" * MAX_VALUE_BYTES):
        assert encoded(encode_properties, {"v": text})[:3] == ("error", 413, "thing_too_large")


def test_thing_data_is_refused_and_stored_as_every_stored_value_is() -> None:
    """A thing's data had a check of its own, apart from state's and events': a tuple was
    refused there alone, and its messages were worded apart."""
    assert encode_properties({"t": (1, "a")}) == '{"t":[1,"a"]}'
    for bad in ({"n": math.inf}, {"n": 2**64}, {"s": {1}}, {"k": {1: 2}}, {"s": "\ud800"}):
        with pytest.raises(BadRequest) as refused:
            encode_properties(bad)
        assert refused.value.code == "invalid_data" and refused.value.message.startswith("Thing data")
