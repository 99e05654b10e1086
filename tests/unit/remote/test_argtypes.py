"""RPC arguments checked against annotations: a caller's wrong type is a 400, never a 500."""

from __future__ import annotations

import builtins
import inspect
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dotdo import BadRequest
from dotdo.remote.argtypes import check_argument_types, compile_check, conforms, describe_type
from dotdo.remote.calls import bind_arguments
from dotdo.types import JSON
from dotdo.values import INT64_MAX, INT64_MIN, INT64_RANGE

if TYPE_CHECKING:
    from decimal import Decimal  # not importable from the annotations at run time


class Service:
    def list(
        self,
        prefix: str | None = None,
        limit: int = 100,
        reverse: bool = False,
        where: Mapping[str, JSON] | None = None,
        select: Sequence[str] | None = None,
        operations: builtins.list[dict[str, Any]] | None = None,
        delay: float | None = None,
        when: datetime | None = None,
        mode: Literal["a", "b"] = "a",
        pair: tuple[int, str] | None = None,
        exact: Decimal | None = None,
        *extra: int,
        **options: str,
    ) -> None:
        return None


def check(*args: Any, **kwargs: Any) -> None:
    method = Service().list
    check_argument_types(method, inspect.signature(method).bind(*args, **kwargs))


def test_values_that_fit_pass() -> None:
    check()
    check("p", 5, True, {"a": {"$gt": 1}}, ["x"], [{"op": "set"}], 1, datetime(2026, 1, 1), "b", [1, "x"])
    check(delay=1.5, exact="anything: the annotation does not resolve at run time")
    check(None, 1, False, None, None, None, None, None, "a", None, None, 1, 2, flag="on")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"limit": []}, "Argument 'limit' of list takes an integer, not an array"),
        ({"limit": True}, "takes an integer, not a boolean"),
        ({"limit": 1.5}, "takes an integer, not a number"),
        ({"reverse": 1}, "takes true or false, not an integer"),
        ({"prefix": {}}, "takes a string or null, not an object"),
        ({"where": [1]}, "takes an object or null, not an array"),
        ({"select": "abc"}, "Argument 'select' of list takes an array of strings, or null, not a string"),
        ({"select": ["a", 1]}, "takes an array of strings, or null; select[1] is an integer, not a string"),
        ({"operations": [{}, 1]}, "of objects, or null; operations[1] is an integer, not an object"),
        ({"operations": [{}, []]}, "operations[1] is an array, not an object"),
        ({"pair": [1, 2]}, "takes an array or null; pair[1] is an integer, not a string"),
        ({"pair": ["1", "x"]}, "pair[0] is a string, not an integer"),
        ({"delay": "soon"}, "takes a number or null, not a string"),
        ({"when": 5}, 'takes a datetime ({"$date": epoch ms}) or null, not an integer'),
        ({"mode": "c"}, "takes one of 'a', 'b'"),
        ({"pair": [1]}, "takes an array or null"),
        ({"flag": 1}, "Argument 'options' of list takes a string, not an integer"),
    ],
)
def test_values_that_do_not_fit_are_invalid_params(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(BadRequest) as info:
        check(**kwargs)
    assert info.value.code == "invalid_params" and message in info.value.message


def test_star_args_are_checked_item_by_item() -> None:
    with pytest.raises(BadRequest, match="'extra' of list takes an integer, not a string"):
        check(None, 100, False, None, None, None, None, None, "a", None, None, 1, "two")


def test_conforms_and_describe() -> None:
    assert conforms(None, Any) and conforms([1, {"a": None}], Any)
    assert conforms(3, float) and not conforms(True, float)
    assert not conforms(object(), Mapping[str, Any])
    assert describe_type(int | None) == "an integer or null"
    # The element's type is named: "is an array, not an array" told a caller nothing.
    assert describe_type(Sequence[str]) == "an array of strings"
    assert describe_type(list[list[int | None]]) == "an array of arrays of integers or nulls"
    assert describe_type(list[Literal["a", "b"]]) == "an array of items each one of 'a', 'b'"
    assert describe_type(list[bool] | None) == "an array of booleans, or null"
    assert describe_type(Sequence[Any]) == "an array"
    # how a JSON caller writes one (`POST /events` with `"at": "2026-12-02T09:00:00Z"`)
    assert describe_type(datetime | int | None) == 'a datetime ({"$date": epoch ms}) or an integer or null'


def _framework_list(
    limit: int = 100, as_of: int | None = None, delay: float | None = None, *ids: int
) -> None:
    """A framework method's signature with `*args`: bound by `inspect` (the general path)."""


def _framework_page(limit: int = 100, as_of: int | None = None, delay: float | None = None) -> None:
    """A plain one: bound by its compiled binder (`dotdo.remote.calls._Binder`)."""


for _function in (_framework_list, _framework_page):
    _function.__module__ = "dotdo.semantic.example"  # defined by the framework (ADR 0037)


def _app_total(count: int, *more: int) -> int:
    """An app's method: its integers stay Python's."""
    return count + sum(more)


BEYOND_64_BITS = [2**63, -(2**63) - 1, 2**70, -(2**200)]


@pytest.mark.parametrize("number", BEYOND_64_BITS)
@pytest.mark.parametrize(
    ("method", "params", "name"),
    [
        (method, params, name)
        for method in (_framework_list, _framework_page)
        for params, name in [
            (lambda n: [n], "limit"),
            (lambda n: {"as_of": n}, "as_of"),
            (lambda n: [100, None, n], "delay"),  # a float annotation takes integers: bounded too
        ]
    ]
    + [(_framework_list, lambda n: [100, None, None, 1, n], "ids")],
)
def test_a_framework_methods_integers_past_64_bits_are_invalid_params(
    method: Callable[..., Any], params: Callable[[int], Any], name: str, number: int
) -> None:
    with pytest.raises(BadRequest) as info:
        bind_arguments(method, params(number))
    assert info.value.code == "invalid_params" and info.value.status == 400
    assert info.value.message == f"Argument {name!r} of {method.__name__}: {INT64_RANGE}"


@pytest.mark.parametrize("number", [INT64_MIN, INT64_MAX, 0, -1])
def test_a_framework_methods_integers_within_64_bits_pass(number: int) -> None:
    assert bind_arguments(_framework_list, [number, number, number, number]) == (
        [number, number, number, number],
        {},
    )
    assert bind_arguments(_framework_list, {"delay": 1e300}) == (
        [],
        {"delay": 1e300},
    )  # a float is no integer


@pytest.mark.parametrize("number", BEYOND_64_BITS)
def test_an_apps_integers_are_pythons(number: int) -> None:
    assert bind_arguments(_app_total, [number]) == ([number], {})
    assert bind_arguments(_app_total, [1, number]) == ([1, number], {})


@given(st.integers(min_value=-(2**80), max_value=2**80), st.sampled_from([int, float, int | None, list[int]]))
def test_bounded_checks_answer_as_conforms_does(number: int, annotation: Any) -> None:
    value = [number] if annotation == list[int] else number
    fits = INT64_MIN <= number <= INT64_MAX
    assert conforms(value, annotation, bounded=True) is fits
    assert compile_check(annotation, bounded=True)(value) is fits
    assert conforms(value, annotation) is compile_check(annotation)(value) is True


def test_an_integer_past_64_bits_for_a_non_integer_parameter_names_the_type() -> None:
    """The 64-bit message is for a framework method's `int` that only the bound refused; a
    `str` parameter given a huge integer was told "integers are limited to 64 bits"."""
    from dotdo.remote.argtypes import argument_error

    def get(key: str, n: int) -> None: ...

    get.__module__ = "dotdo.example"  # a framework method: its integers are bounded
    assert (
        argument_error(get, "key", str, 2**70).message
        == "Argument 'key' of get takes a string, not an integer"
    )
    assert "limited to 64 bits" in argument_error(get, "n", int, 2**70).message


def _delete_many(keys: Sequence[str]) -> int:
    """`delete_many`'s signature: a list of strings."""
    return len(keys)


def _nested(rows: list[list[int]], labels: dict[str, int] | None = None) -> None:
    """Arrays in arrays, and an object's members."""


for _function in (_delete_many, _nested):
    _function.__module__ = "dotdo.core.example"


@pytest.mark.parametrize(
    ("method", "params", "message"),
    [
        # The item was described as the whole argument ("...items are each a string, not an array")
        (_delete_many, [["a", 5]], "takes an array of strings; keys[1] is an integer, not a string"),
        (_delete_many, [["a", ["b"]]], "keys[1] is an array, not a string"),
        (_delete_many, [["a", "b", None]], "keys[2] is null, not a string"),
        (_delete_many, ["a"], "Argument 'keys' of _delete_many takes an array of strings, not a string"),
        (
            _nested,
            [[[1], [2, "x"]]],
            "takes an array of arrays of integers; rows[1][1] is a string, not an integer",
        ),
        (_nested, [[[1], 2]], "rows[1] is an integer, not an array of integers"),
        (_nested, [[], {"a": 1, "b c": True}], 'labels["b c"] is a boolean, not an integer'),
        (_nested, [[[1, 2**64]]], f"Argument 'rows' of _nested: rows[0][1] {INT64_RANGE}"),
    ],
)
def test_an_item_that_does_not_fit_is_named_by_its_path_and_type(
    method: Callable[..., Any], params: Any, message: str
) -> None:
    with pytest.raises(BadRequest) as info:
        bind_arguments(method, params)
    assert info.value.code == "invalid_params" and message in info.value.message


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70) | st.text(max_size=3),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=3), inner, max_size=4),
    max_leaves=12,
)


@given(
    _JSON,
    st.sampled_from(
        [list[str], list[list[int]], dict[str, int], list[dict[str, str]] | None, tuple[int, str]]
    ),
)
def test_the_named_part_is_in_the_value_and_does_not_fit(value: Any, annotation: Any) -> None:
    """Whatever the value, the part a message names is reached by its path and is refused
    by the annotation named for it."""
    from dotdo.remote.argtypes import _offending_part

    if conforms(value, annotation, bounded=True):
        return
    path, inner, part = _offending_part("arg", annotation, value, True)
    reached = eval(path, {"arg": value})  # the path is Python's (and JavaScript's) index syntax
    assert reached is part and not conforms(part, inner, bounded=True)
