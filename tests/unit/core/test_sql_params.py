"""A statement's parameters numbered as SQLite numbers them (`dotdo.core.sqlparams`), and
the read-only query's values bound by number or by name (`sqlguard.query_params`)."""

from __future__ import annotations

import re
import sqlite3
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dotdo import BadRequest
from dotdo.core.sql import Sql, bind_parameters
from dotdo.core.sqlparams import parameters
from dotdo.semantic.sqlguard import query_params
from tests.storage import Storage

PLACEHOLDERS = ["?", "?1", "?2", "?4", ":a", ":b", "@a", "$a", "$a::b", "#a", ":é", "'?'", "':a'", '"?"']


def sqlite_count(query: str) -> int:
    """How many values SQLite itself binds for `query` (its complaint says)."""
    try:
        sqlite3.connect(":memory:").execute(query, [0] * 50)
    except sqlite3.ProgrammingError as error:
        found = re.search(r"statement uses (\d+)", str(error))
        assert found, error
        return int(found.group(1))
    raise AssertionError("50 values bound")


@settings(max_examples=300, derandomize=True)
@given(st.lists(st.sampled_from(PLACEHOLDERS), min_size=1, max_size=6))
def test_parameters_are_numbered_and_named_as_sqlite_numbers_and_names_them(parts: list[str]) -> None:
    query = "SELECT " + ", ".join(f"{part} AS c{index}" for index, part in enumerate(parts))
    count, named = parameters(query)
    names = tuple(named.get(number) for number in range(1, count + 1))
    assert count == sqlite_count(query)
    if names and all(name is not None for name in names):
        # SQLite's own binding by name (Python's sqlite3 asks it each parameter's name)
        by_name = {name[1:]: f"v{name}" for name in names if name is not None}
        expected = sqlite3.connect(":memory:").execute(query, by_name).fetchall()
        positional = [by_name[name[1:]] for name in names if name is not None]
        assert sqlite3.connect(":memory:").execute(query, positional).fetchall() == expected


def test_an_integer_beside_a_tcl_named_parameter_is_cast_in_its_own_place() -> None:
    """`$a::b` is one parameter to SQLite; read as `$a` and `:b`, the `?` after it took
    number 3 and the cast went inside the name (`$a:(+CAST(:b AS INTEGER))`)."""
    assert bind_parameters("SELECT $a::b, ?", ["x", 7]) == ("SELECT $a::b, (+CAST(? AS INTEGER))", ["x", "7"])
    assert bind_parameters("SELECT #a, ?", ["x", 7]) == ("SELECT #a, (+CAST(? AS INTEGER))", ["x", "7"])
    sql = Sql(Storage())
    assert sql.exec("SELECT $a::b AS a, ? AS b", "x", 7) == [{"a": "x", "b": 7}]


def bound(query: str, params: Any) -> list[Any]:
    return query_params(query, params, 100)


def refused(query: str, params: Any) -> str:
    with pytest.raises(BadRequest) as caught:
        bound(query, params)
    assert caught.value.code == "invalid_params" and caught.value.status == 400
    return caught.value.message


def test_an_object_binds_named_parameters_by_name() -> None:
    query = "SELECT * FROM things WHERE type = :type AND id = @id OR id = :id AND n > $a::b"
    assert bound(query, {"id": "c1", "a::b": 3, "type": "Customer"}) == ["Customer", "c1", "c1", 3]
    assert bound("SELECT 1", {}) == bound("SELECT 1", None) == []


def test_a_named_parameter_with_no_value_or_a_key_the_query_does_not_use_is_named() -> None:
    assert refused("SELECT :type, :id", {"type": "C"}) == "params has no value for 'id'"
    assert refused("SELECT :type", {"type": "C", "tpye": 1}) == (
        "params names 'tpye', which the query does not use (it takes 'type')"
    )
    assert refused("SELECT :type, ?", {"type": "C"}) == (
        "params is an object, which binds named parameters (:name, @name, $name) by name, "
        "but the query has ? parameters: send params as an array"
    )
    assert refused("SELECT :n", {"n": float("nan")}) == "params.n: NaN has no SQLite value"


def test_an_array_of_another_length_than_the_parameters_is_refused_before_it_runs() -> None:
    """SQLite's "Wrong number of parameter bindings" (a 400 `query_failed`) named no count."""
    assert refused("SELECT * FROM things WHERE type = :t AND id = :id", ["Owner"]) == (
        "The query takes 2 parameters (:t, :id); params has 1"
    )
    assert refused("SELECT ?", []) == "The query takes 1 parameter (?); params has 0"
    assert refused("SELECT 1", [1]) == "The query takes 0 parameters; params has 1"
    assert bound("SELECT ?3", ["a", "b", "c"]) == ["a", "b", "c"]  # ?3 takes three, as SQLite binds
    listed = ", ".join(["?"] * 10)
    assert refused("SELECT ?99", []) == f"The query takes 99 parameters ({listed}, ...); params has 0"
    assert refused("SELECT ?", [[1]]) == "params[0]: params are strings, numbers, booleans, null or bytes"


def test_a_parameter_number_with_leading_zeros_is_read_as_sqlite_reads_it() -> None:
    assert bound("SELECT ?000001", [5]) == [5] and bound("SELECT ?" + "0" * 30 + "2", [1, 2]) == [1, 2]


@pytest.mark.parametrize("number", ["101", "100000000", "1" * 5000, "0" * 20 + "101"])
def test_a_parameter_number_past_the_limit_is_refused_before_anything_is_built(number: str) -> None:
    """`SELECT ?100000000` built a list of that many names (18.8 s and 1 GB on the local
    runtime); a number of 5,000 digits was past Python's int conversion (a 500)."""
    assert refused(f"SELECT ?{number}", []) == "A query takes at most 100 params (its ?NNN at most ?100)"
