"""validate_where_clause and the query options: clear messages for every kind of bad input."""

from __future__ import annotations

import json
from typing import Any

import pytest

from dotdo import matches, validate_where_clause
from dotdo.semantic.ids import IdGenerator
from dotdo.semantic.query import ThingQuery, parse_order_by, parse_select
from dotdo.semantic.things import merge_patch
from dotdo.semantic.where import QueryValidationError, compile_where


def test_valid_clauses() -> None:
    assert validate_where_clause({"age": {"$gt": 18}}) == {"valid": True}
    assert validate_where_clause({}) == {"valid": True}
    assert validate_where_clause({"$or": [{"a": 1}, {"b": {"$in": [1, "x", None]}}], "c.d": True}) == {
        "valid": True
    }


@pytest.mark.parametrize(
    ("where", "error"),
    [
        ({"age": {"$invalid": 18}}, "Unknown operator: $invalid"),
        ({"$where": "1"}, "Unknown operator: $where"),
        ({"a b": 1}, "Invalid field name"),
        ({"a; DROP TABLE things": 1}, "Invalid field name"),
        ({"age": {"$gt": None}}, "takes a number or a string"),
        ({"age": {"$gt": True}}, "takes a number or a string"),
        ({"age": {"$in": "x"}}, "$in takes an array"),
        ({"age": {"$in": [[1]]}}, "not an array"),
        ({"age": {"$exists": 1}}, "$exists takes true or false"),
        ({"tags": {"$all": []}}, "$all takes a non-empty array"),
        ({"tags": {"$all": "a"}}, "$all takes a non-empty array"),
        ({"tags": {"$all": [{"a": 1}]}}, "not an object"),
        ({"tags": {"$size": -1}}, "$size takes a whole number"),
        ({"tags": {"$size": 1.5}}, "$size takes a whole number"),
        ({"tags": {"$size": True}}, "$size takes a whole number"),
        ({"age": [1, 2]}, "use $in"),
        ({"age": {"nested": 1}}, "use dotted paths"),
        ({"age": {}}, "empty operator object"),
        ({"$and": []}, "non-empty array"),
        ({"$or": {"a": 1}}, "non-empty array"),
        ({"name": {"$regex": "("}}, "not a valid regular expression"),
        ({"name": {"$regex": "a", "$options": "g"}}, "$options"),
        ({"name": {"$options": "i"}}, "$options goes with $regex"),
        ({"n": 2**64}, "64 bits"),
        ({"n": {"$gt": 2**63}}, "-9223372036854775808 to 9223372036854775807"),
        ({"n": {"$in": [-(2**63) - 1]}}, "-9223372036854775808 to 9223372036854775807"),
        ({"tags": {"$size": 2**63}}, "$size takes a whole number from 0 to 9223372036854775807"),
        ({"n": float("nan")}, "not finite"),
        ("age > 18", "is an object"),
    ],
)
def test_invalid_clauses_say_why(where: Any, error: str) -> None:
    result = validate_where_clause(where)
    assert result["valid"] is False
    assert error in result["error"]


def test_nesting_is_bounded() -> None:
    clause: dict[str, Any] = {"a": 1}
    for _ in range(20):
        clause = {"$not": clause}
    assert "deeper than" in validate_where_clause(clause)["error"]


def test_values_are_bound_never_pasted() -> None:
    hostile = "x' OR '1'='1"
    plan = compile_where({"name": hostile, "n": {"$in": [1, 2]}})
    assert hostile not in plan.sql
    assert plan.params == (json.dumps([hostile, [1, 2]], separators=(",", ":")),)  # one parameter, :ops


def test_residual_only_holds_what_sql_cannot_do() -> None:
    plan = compile_where({"name": {"$regex": "^a"}, "age": {"$gt": 1}})
    assert plan.residual is not None
    assert "json_extract(data, '$.age') > json_extract(:ops, '$[0]')" in plan.sql
    whole = compile_where({"$or": [{"name": {"$regex": "^a"}}, {"age": 1}]})
    assert whole.sql == "1" and whole.residual is not None


def test_python_semantics() -> None:
    thing = {
        "$id": "t1",
        "$type": "Customer",
        "$version": 2,
        "age": 30,
        "flag": True,
        "tags": ["a"],
        "n": None,
    }
    assert matches(thing, {"age": {"$gte": 30, "$lt": 31}})
    assert not matches(thing, {"age": "30"})  # kinds never mix
    assert not matches(thing, {"flag": 1})
    assert matches(thing, {"missing": None}) and matches(thing, {"n": None})
    assert matches(thing, {"n": {"$exists": True}}) and not matches(thing, {"missing": {"$exists": True}})
    assert matches(thing, {"missing": {"$ne": 1}})
    assert not matches(thing, {"tags": "a"})  # arrays never equal a scalar
    many = {"tags": ["a", 1, None, True], "word": "ab", "obj": {"a": 1}}
    assert matches(many, {"tags": {"$all": ["a", 1]}}) and matches(many, {"tags": {"$all": [None, True]}})
    assert not matches(many, {"tags": {"$all": ["a", "b"]}}) and not matches(many, {"tags": {"$all": ["1"]}})
    assert not matches(many, {"word": {"$all": ["ab"]}}) and not matches(many, {"obj": {"$all": ["a"]}})
    assert matches(many, {"tags": {"$size": 4}}) and not matches(many, {"word": {"$size": 2}})
    assert matches(many, {"tags": {"$not": {"$all": ["z"]}}}) and not matches(many, {"missing": {"$size": 0}})
    assert matches(thing, {"$version": {"$gt": 1}, "$type": "Customer"})
    assert matches(thing, {"age": {"$not": {"$gt": 40}}})


def test_order_by_forms() -> None:
    assert parse_order_by("-age,name") == (("age", True), ("name", False))
    assert parse_order_by("age:desc") == (("age", True),)
    assert parse_order_by(["age desc", ("name", "asc")]) == (("age", True), ("name", False))
    with pytest.raises(QueryValidationError):
        parse_order_by("age; DROP TABLE things")
    assert parse_order_by({"age": "desc", "name": "asc"}) == (("age", True), ("name", False))
    for wrong in (1e308, {"age": "down"}, [1], [("age", 1)], [(1, "asc")]):
        with pytest.raises(QueryValidationError):
            parse_order_by(wrong)  # type: ignore[arg-type]  # what a remote caller may send
    query = ThingQuery.build(order_by="-address.city")
    assert query.order_sql().startswith("json_extract(data, '$.address.city') DESC")


def test_a_list_in_a_url_is_comma_separated_or_a_json_array() -> None:
    # `where` is JSON, so `select=["name"]` is what a caller tries next to it: it was an
    # `invalid_select` naming '["name"]' as a field
    url = {"select": '["name", "$id"]', "order_by": '["-age", "name"]'}
    query = ThingQuery.from_params(url)
    assert query.select == ("name", "$id") and query.order == (("age", True), ("name", False))
    assert ThingQuery.from_params({"select": "name,$id", "order_by": "-age,name"}) == query
    assert ThingQuery.from_params({"order_by": '{"age": "desc"}'}).order == (("age", True),)
    assert ThingQuery.from_params({"order_by": '[["age", "desc"]]'}).order == (("age", True),)
    assert parse_select(" []") == ()  # the $ fields alone, as select=[] from Python
    for select, error in [
        ('["name"', "select is not valid JSON"),
        ("[1]", "Field names are strings"),
        ('["a.b"]', "not paths"),
        ('[["name"]]', "Field names are strings"),
    ]:
        with pytest.raises(QueryValidationError, match=error) as caught:
            ThingQuery.from_params({"select": select})
        assert caught.value.code == "invalid_select"
    with pytest.raises(QueryValidationError, match="order_by is not valid JSON") as caught:
        ThingQuery.from_params({"order_by": '["-age"'})
    assert caught.value.code == "invalid_order_by"
    with pytest.raises(QueryValidationError) as caught:
        parse_select(5)  # type: ignore[arg-type]  # what a remote caller may send
    assert caught.value.code == "invalid_select"


def test_paging_bounds() -> None:
    with pytest.raises(QueryValidationError):
        ThingQuery.build(limit=1001)
    with pytest.raises(QueryValidationError):
        ThingQuery.from_params({"offset": "x"})
    assert ThingQuery.from_params({"limit": "5", "include_deleted": "true"}).limit == 5


def test_ids_sort_by_time_and_within_a_millisecond() -> None:
    make = IdGenerator()
    same_ms = [make(1_700_000_000_000) for _ in range(100)]
    assert same_ms == sorted(same_ms) and len(set(same_ms)) == 100
    later = make(1_700_000_000_001)
    assert later > same_ms[-1]
    earlier_clock = make(1_600_000_000_000)  # the clock stepped back: order still holds
    assert earlier_clock > later
    assert len(later) == 26


def test_merge_patch_is_rfc_7386() -> None:
    target = {"a": "b", "c": {"d": "e", "f": "g"}}
    assert merge_patch(target, {"a": "z", "c": {"f": None}}) == {"a": "z", "c": {"d": "e"}}
    assert merge_patch({"a": [1]}, {"a": [2]}) == {"a": [2]}
    assert merge_patch({"a": 1}, {"b": {"c": None}}) == {"a": 1, "b": {}}
    assert target == {"a": "b", "c": {"d": "e", "f": "g"}}  # the input is not modified


def test_the_same_parameters_give_the_same_query_and_a_bad_one_fails_every_time() -> None:
    """`from_params` keeps the queries it parsed: asked again it answers an equal query,
    different texts never share one, and an invalid one is refused each time."""
    params = {"where": '{"age": {"$gt": 30}}', "limit": "20", "order_by": "-age"}
    first = ThingQuery.from_params(params)
    assert ThingQuery.from_params(dict(params)) == first
    assert ThingQuery.from_params({**params, "limit": "21"}).limit == 21
    assert ThingQuery.from_params({**params, "where": '{"age": {"$gt": 31}}'}).where != first.where
    for _ in range(2):
        with pytest.raises(QueryValidationError):
            ThingQuery.from_params({**params, "limit": "-1"})
    long_clause = json.dumps({"$or": [{"name": f"n{i}"} for i in range(200)]})
    assert ThingQuery.from_params({"where": long_clause}) == ThingQuery.from_params({"where": long_clause})
