"""Any JSON a client sends as a where clause is either a clause or a 400: parsing,
compiling to SQL and evaluating in Python raise nothing but QueryValidationError, and
the SQL of a valid clause runs."""

from __future__ import annotations

import sqlite3
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from dotdo import matches, validate_where_clause
from dotdo.semantic.store import THING_TABLES
from dotdo.semantic.where import QueryValidationError, compile_where

FIELD_OPERATORS = [
    "$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin", "$exists", "$all", "$size",
    "$regex", "$options", "$not", "$elemMatch", "$and",
]  # fmt: skip
FIELDS = ["a", "a.b", "tags", "$id", "$version", "", "a..b", "1a", "$nope"]
ATOMS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**65), max_value=2**65),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["", "x", "(", "^a", "i", "imsx"]),
)
JUNK = st.recursive(
    ATOMS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(FIELDS), inner, max_size=2)
    ),
    max_leaves=4,
)
SPECS = st.one_of(
    JUNK,
    st.dictionaries(st.sampled_from(FIELD_OPERATORS), JUNK, max_size=3),
)


def merged(a: Any, b: Any) -> Any:
    return {**a, **b} if isinstance(a, dict) and isinstance(b, dict) else [a, b]


CLAUSES = st.recursive(
    st.dictionaries(st.sampled_from(FIELDS), SPECS, max_size=3),
    lambda inner: st.one_of(
        st.builds(lambda xs: {"$and": xs}, st.lists(inner, max_size=3)),
        st.builds(lambda xs: {"$or": xs}, st.lists(inner, max_size=3)),
        st.builds(lambda x: {"$not": x}, inner),
        st.builds(merged, inner, inner),
        JUNK,
    ),
    max_leaves=8,
)
THING = {"$id": "t1", "$type": "T", "$version": 1, "a": {"b": 2}, "tags": ["x", 1], "n": None}


@settings(max_examples=600)
@given(CLAUSES)
def test_any_json_is_a_clause_or_a_validation_error(where: Any) -> None:
    verdict = validate_where_clause(where)
    assert verdict["valid"] in (True, False)
    try:
        plan = compile_where(where)
        matches(THING, where)
    except QueryValidationError:
        assert not verdict["valid"]
        return
    assert verdict["valid"]
    db = sqlite3.connect(":memory:")
    for statement in THING_TABLES.migrations[0].statements:  # the object's own schema
        db.execute(statement)
    db.execute(f"SELECT id FROM things WHERE {plan.sql}", plan.params).fetchall()


def test_an_empty_clause_nested_in_a_logical_operator_is_refused() -> None:
    for where in ({"$not": {}}, {"$and": [{}]}, {"$or": [{"a": 1}, {}]}, {"$not": {"$and": [{}]}}):
        verdict = validate_where_clause(where)
        assert verdict["valid"] is False and "at least one condition" in verdict["error"], where
