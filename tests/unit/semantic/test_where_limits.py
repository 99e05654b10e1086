"""The largest clauses the validation accepts run on SQLite held to Cloudflare's limits
(100 parameters, 100 KB statements, expression trees 100 deep) and select exactly what
the Python evaluator does, also when part of them is left to Python."""

from __future__ import annotations

import json
from typing import Any

import pytest

from dotdo.core.sql import Sql
from dotdo.semantic.overlay import Overlay
from dotdo.semantic.query import MAX_LIMIT, MAX_ORDER_FIELDS, ThingQuery
from dotdo.semantic.store import THING_TABLES, SqliteThingStore, ThingRecord
from dotdo.semantic.things import Things
from dotdo.semantic.where import (
    MAX_CONDITIONS,
    MAX_IN_VALUES,
    MAX_WHERE_DEPTH,
    MAX_WHERE_SQL_BYTES,
    balanced,
    compile_where,
    matches,
)
from tests.unit.cloudflare_sqlite import CloudflareStorage

SEGMENT = "f" * 64


def longest_path(index: int) -> str:
    """Distinct field paths of the longest kind: 8 names of 64 characters."""
    return ".".join([SEGMENT] * 7 + [f"{index:04d}".rjust(64, "g")])


def at(path: str, value: Any) -> dict[str, Any]:
    """A thing's properties holding `value` at a dotted path."""
    *parents, last = path.split(".")
    properties: dict[str, Any] = {last: value}
    for name in reversed(parents):
        properties = {name: properties}
    return properties


def deepest(n_levels: int) -> dict[str, Any]:
    """Fields at depth `n_levels` under $and, $not and $or in turn, with every condition."""
    wrappers = [("$and", "$not", "$or")[level % 3] for level in range(n_levels - 3)]
    leaves = [{longest_path(i): {"$in": [i, f"{i}"]}} for i in range(MAX_CONDITIONS)]
    spare = [leaves.pop() for wrapper in wrappers if wrapper != "$not"]
    clause: dict[str, Any] = {"$or": leaves}
    for wrapper in wrappers:
        clause = {"$not": clause} if wrapper == "$not" else {wrapper: [clause, spare.pop()]}
    return clause


CLAUSES = {
    "every condition, on the longest paths": {
        "$and": [{longest_path(i): {"$ne": i}} for i in range(MAX_CONDITIONS)]
    },
    "every condition in one $or": {"$or": [{longest_path(i): i} for i in range(MAX_CONDITIONS)]},
    "nested as deep as allowed": deepest(MAX_WHERE_DEPTH),
    "$in at its most values": {longest_path(1): {"$in": [*range(MAX_IN_VALUES - 2), "1", None]}},
    "$nin at its most values": {longest_path(1): {"$nin": [f"{i}" for i in range(MAX_IN_VALUES)]}},
    "$all at its most values": {longest_path(2): {"$all": [*range(MAX_IN_VALUES - 1), True]}},
    "many conditions, then a regex": {
        "$and": [
            *({longest_path(i): {"$exists": i % 2 == 0}} for i in range(MAX_CONDITIONS - 1)),
            {"name": {"$regex": "^a"}},
        ]
    },
}


class NoEvents:
    def emit(self, event_type: str, subject: str | None, data: Any, object_id: str | None = None) -> str:
        return "event"


def things_on_cloudflare_sqlite(overlaid: bool = False) -> tuple[Things, list[dict[str, Any]]]:
    """Things on SQLite held to Cloudflare's limits; `overlaid`: every other one is in an
    overlay over a stale row (`Overlay`, as DOStorage's dirty things), and a row the
    overlay says is gone is in the table too."""
    sql = Sql(CloudflareStorage())
    for migration in THING_TABLES.migrations:
        for statement in migration.statements:
            if isinstance(statement, str):
                sql.run(statement)
            else:
                statement(sql)
    held: dict[str, ThingRecord | None] = {}
    store = SqliteThingStore(sql, lambda type_name: Overlay(held) if held else None)
    properties = [
        *({"name": "ada" if i % 2 else "bob", **at(longest_path(i), i)} for i in range(6)),
        at(longest_path(2), [*range(MAX_IN_VALUES), True]),
        at(longest_path(1), "1"),
    ]
    made = []
    for index, data in enumerate(properties):
        record = ThingRecord(f"c{index}", "Customer", json.dumps(data), index, index, None, 1)
        if overlaid and index % 2:
            assert store.insert(record.evolve(data="{}", version=0))
            held[record.id] = record
        else:
            assert store.insert(record)
        made.append(record.wire())
    if overlaid:
        assert store.insert(ThingRecord("gone", "Customer", json.dumps(properties[0]), 0, 0, None, 1))
        held["gone"] = None
    return Things(store, NoEvents()), made


@pytest.mark.parametrize("name", CLAUSES)
def test_the_largest_clauses_run_and_agree_with_python(name: str) -> None:
    where = CLAUSES[name]
    things, made = things_on_cloudflare_sqlite()
    order = [f"-{longest_path(i)}" for i in range(MAX_ORDER_FIELDS)]
    query = ThingQuery.build(where, order_by=order, limit=MAX_LIMIT)
    expected = sorted(t["$id"] for t in made if matches(t, where))
    page = things.list("Customer", query)
    assert sorted(t["$id"] for t in page["items"]) == expected and page["total"] == len(expected)
    assert things.count("Customer", query) == len(expected)


@pytest.mark.parametrize("name", CLAUSES)
def test_the_largest_clauses_run_over_an_overlay_and_agree_with_python(name: str) -> None:
    where = CLAUSES[name]
    things, made = things_on_cloudflare_sqlite(overlaid=True)
    order = [f"-{longest_path(i)}" for i in range(MAX_ORDER_FIELDS)]
    expected = sorted(t["$id"] for t in made if matches(t, where))
    for offset in (0, 1):
        query = ThingQuery.build(where, order_by=order, limit=MAX_LIMIT, offset=offset, with_total=True)
        ids = [t["$id"] for t in things.list("Customer", query)["items"]]
        assert len(ids) == max(len(expected) - offset, 0) and set(ids) <= set(expected)
        assert things.list("Customer", query)["total"] == len(expected)
        assert things.count("Customer", query) == len(expected)  # "gone" would be one more


def test_a_clause_too_large_for_one_statement_keeps_what_fits_in_sql() -> None:
    plan = compile_where(CLAUSES["every condition, on the longest paths"])
    assert plan.sql != "1" and plan.residual is not None  # part in SQL, the rest in Python
    assert len(plan.sql.encode()) <= MAX_WHERE_SQL_BYTES
    assert len(plan.params) == 1  # every operand in one parameter


@pytest.mark.parametrize("terms", [1, 2, 3, 7, 200, 1000])
def test_joined_terms_nest_logarithmically(terms: int) -> None:
    joined = balanced([f"t{i}" for i in range(terms)], "AND")
    depth = most = 0
    for char in joined:
        depth += {"(": 1, ")": -1}.get(char, 0)
        most = max(most, depth)
    assert most <= (terms - 1).bit_length()
    assert [word for word in joined.replace("(", " ").replace(")", " ").split() if word != "AND"] == [
        f"t{i}" for i in range(terms)
    ]
