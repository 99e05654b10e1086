"""The SQL pushdown of a where clause selects exactly the things the Python evaluator accepts."""

from __future__ import annotations

import json
import sqlite3
from typing import Any
from unittest.mock import patch

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dotdo.semantic.store import THING_TABLES
from dotdo.semantic.where import compile_where, matches

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-3, max_value=3),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False, min_value=-4, max_value=4),
    st.sampled_from(["", "a", "b", "B", "ab", "é", "1", "true", "null", "[1]", "[]", "{}", '{"b":1}', "ü€"]),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=4),
)
LEAVES = st.one_of(
    SCALARS, st.lists(SCALARS, max_size=2), st.dictionaries(st.sampled_from(["b", "c"]), SCALARS)
)
USER_FIELDS = ["a", "b", "c", "a.b", "a.c", "b.c.d"]
FIELDS = [*USER_FIELDS, "$id", "$type", "$version", "$created_at", "$deleted_at"]


def documents() -> st.SearchStrategy[dict[str, Any]]:
    nested = st.recursive(
        LEAVES, lambda inner: st.dictionaries(st.sampled_from(["b", "c", "d"]), inner), max_leaves=4
    )
    return st.dictionaries(st.sampled_from(["a", "b", "c"]), nested, max_size=3)


def operand_for(field: str) -> st.SearchStrategy[Any]:
    if field in ("$id", "$type"):
        return st.sampled_from(["t1", "t2", "Customer", "Order", "b"])
    if field in ("$version", "$created_at", "$deleted_at"):
        return st.one_of(st.integers(0, 4), st.floats(0, 4, allow_nan=False), st.none())
    return SCALARS


@st.composite
def conditions(draw: st.DrawFn) -> dict[str, Any]:
    field = draw(st.sampled_from(FIELDS))
    op = draw(
        st.sampled_from(
            [
                "bare",
                "$eq",
                "$ne",
                "$gt",
                "$gte",
                "$lt",
                "$lte",
                "$in",
                "$nin",
                "$exists",
                "$regex",
                "$not",
                "$all",
                "$size",
            ]
        )
    )
    if op == "$all":
        return {field: {op: draw(st.lists(operand_for(field), min_size=1, max_size=3))}}
    if op == "$size":
        return {field: {op: draw(st.integers(0, 3))}}
    if op == "bare":
        return {field: draw(operand_for(field))}
    if op in ("$in", "$nin"):
        return {field: {op: draw(st.lists(operand_for(field), max_size=4))}}
    if op == "$exists":
        return {field: {op: draw(st.booleans())}}
    if op == "$regex":
        return {
            field: {
                op: draw(st.sampled_from(["^a", "b$", "é", "^$", "[0-9]"])),
                "$options": draw(st.sampled_from(["", "i"])),
            }
        }
    if op == "$not":
        return {field: {"$not": {"$gt": draw(st.integers(-2, 2))}}}
    operand = draw(operand_for(field))
    if op in ("$gt", "$gte", "$lt", "$lte") and (operand is None or isinstance(operand, bool)):
        operand = 1
    return {field: {op: operand}}


clauses = st.recursive(
    conditions(),
    lambda inner: st.one_of(
        st.builds(lambda xs: {"$and": xs}, st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda xs: {"$or": xs}, st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda x: {"$not": x}, inner),
        st.builds(lambda a, b: {**a, **b}, inner, inner),
    ),
    max_leaves=6,
)


def thing(index: int, data: dict[str, Any], deleted: bool) -> dict[str, Any]:
    wire: dict[str, Any] = {
        "$id": f"t{index}",
        "$type": "Customer" if index % 2 else "Order",
        "$created_at": index,
        "$updated_at": index,
        "$version": index % 4,
    }
    if deleted:
        wire["$deleted_at"] = index % 3
    return {**wire, **data}


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(documents(), st.booleans()), min_size=1, max_size=8), clauses)
def test_sql_pushdown_agrees_with_python(
    rows: list[tuple[dict[str, Any], bool]], where: dict[str, Any]
) -> None:
    assert_pushdown_agrees(rows, where)


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(documents(), st.booleans()), min_size=1, max_size=8), clauses)
def test_conjuncts_past_the_statement_budget_run_in_python_with_the_same_result(
    rows: list[tuple[dict[str, Any], bool]], where: dict[str, Any]
) -> None:
    with patch("dotdo.semantic.where.sql.MAX_WHERE_SQL_BYTES", 250):  # a conjunct or two fit, not all
        assert_pushdown_agrees(rows, where)


def assert_pushdown_agrees(rows: list[tuple[dict[str, Any], bool]], where: dict[str, Any]) -> None:
    db = sqlite3.connect(":memory:")
    for statement in THING_TABLES.migrations[0].statements:  # the object's own schema
        db.execute(statement)
    things = [thing(i, data, deleted) for i, (data, deleted) in enumerate(rows)]
    for t, (data, _) in zip(things, rows, strict=True):
        db.execute(
            "INSERT INTO things VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                t["$id"],
                t["$type"],
                json.dumps(data),
                t["$created_at"],
                t["$updated_at"],
                t.get("$deleted_at"),
                t["$version"],
            ),
        )
    plan = compile_where(where)
    ops = dict(zip(["ops"], plan.params, strict=False))  # the one named parameter, when there is one
    selected = [r[0] for r in db.execute(f"SELECT id FROM things WHERE {plan.sql} ORDER BY id", ops)]
    by_id = {t["$id"]: t for t in things}
    pushed = sorted(i for i in selected if plan.accepts(by_id[i]))
    expected = sorted(t["$id"] for t in things if matches(t, where))
    assert pushed == expected


def test_a_plain_string_equality_reads_the_field_once_per_row() -> None:
    """A full scan pays for every JSON lookup on every row: equality with a string that no
    array's or object's JSON text can equal needs no kind check (`json_type`)."""
    assert "json_type" not in compile_where({"tier": "platinum"}).sql
    assert "json_type" not in compile_where({"tier": {"$eq": "gold"}, "a.b": "x"}).sql
    # Kept where it decides: text that could be an array's or object's JSON, numbers, ranges.
    assert "json_type" in compile_where({"tier": "[1]"}).sql
    assert "json_type" in compile_where({"age": 30}).sql
    assert "json_type" in compile_where({"tier": {"$gt": "a"}}).sql


def test_a_string_equality_is_served_by_an_expression_index() -> None:
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE things (id TEXT PRIMARY KEY, type TEXT, data TEXT, deleted_at INTEGER)")
    db.execute("CREATE INDEX things_email ON things (json_extract(data, '$.email'))")
    for where in ({"email": "a@example.com"}, {"email": "[not a list]"}):
        pushdown = compile_where(where)
        plan = db.execute(
            f"EXPLAIN QUERY PLAN SELECT id FROM things WHERE {pushdown.sql}", {"ops": pushdown.params[0]}
        ).fetchall()
        assert any("things_email" in str(row[-1]) for row in plan), plan
