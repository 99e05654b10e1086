"""The rules of a thing's data (`semantic/thingdata.py`): what a caller may send, what is
stored, and the version and precondition checks every write makes."""

from __future__ import annotations

from typing import Any

import pytest

from dotdo.core.preconditions import Preconditions
from dotdo.errors import BadRequest, Conflict, PayloadTooLarge, PreconditionFailed
from dotdo.semantic.store import ThingRecord
from dotdo.semantic.thingdata import (
    check_preconditions,
    check_version,
    encode_properties,
    split_input,
    validate_id,
)

RECORD = ThingRecord("c-1", "Customer", "{}", 1, 2, None, 3)


def test_split_input_separates_properties_id_and_version() -> None:
    sent = {"$id": "c-1", "$type": "Customer", "$version": 2, "$created_at": 5, "name": "Ada"}
    assert split_input("Customer", sent) == ({"name": "Ada"}, "c-1", 2)


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
