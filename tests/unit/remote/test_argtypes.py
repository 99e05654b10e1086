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
        ({"limit": []}, "Argument 'limit' of list is an integer, not an array"),
        ({"limit": True}, "is an integer, not a boolean"),
        ({"limit": 1.5}, "is an integer, not a number"),
        ({"reverse": 1}, "is true or false, not an integer"),
        ({"prefix": {}}, "is a string or null, not an object"),
        ({"where": [1]}, "is an object or null, not an array"),
        ({"select": "abc"}, "is an array whose items are each a string or null, not a string"),
        ({"select": ["a", 1]}, "is an array whose items are each a string or null"),
        ({"operations": [1]}, "is an array whose items are each an object or null"),
        ({"delay": "soon"}, "is a number or null, not a string"),
        ({"when": 5}, "is a datetime or null, not an integer"),
        ({"mode": "c"}, "is one of 'a', 'b'"),
        ({"pair": [1, 2]}, "is an array or null"),
        ({"pair": [1]}, "is an array or null"),
        ({"flag": 1}, "Argument 'options' of list is a string, not an integer"),
    ],
)
def test_values_that_do_not_fit_are_invalid_params(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(BadRequest) as info:
        check(**kwargs)
    assert info.value.code == "invalid_params" and message in info.value.message


def test_star_args_are_checked_item_by_item() -> None:
    with pytest.raises(BadRequest, match="'extra' of list is an integer, not a string"):
        check(None, 100, False, None, None, None, None, None, "a", None, None, 1, "two")


def test_conforms_and_describe() -> None:
    assert conforms(None, Any) and conforms([1, {"a": None}], Any)
    assert conforms(3, float) and not conforms(True, float)
    assert not conforms(object(), Mapping[str, Any])
    assert describe_type(int | None) == "an integer or null"
    # The element's type is named: "is an array, not an array" told a caller nothing.
    assert describe_type(Sequence[str]) == "an array whose items are each a string"
    assert describe_type(Sequence[Any]) == "an array"


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
        argument_error(get, "key", str, 2**70).message == "Argument 'key' of get is a string, not an integer"
    )
    assert "limited to 64 bits" in argument_error(get, "n", int, 2**70).message
