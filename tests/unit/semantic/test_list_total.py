"""A list counts every match only when asked (`total=exact`): by default a page answers
`total` only when it reaches the end, where the page itself is the count (issue 14)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dotdo.core.sql import Sql
from dotdo.semantic.query import ThingQuery
from dotdo.semantic.store import THING_TABLES, SqliteThingStore, ThingRecord
from dotdo.semantic.things import Things
from dotdo.semantic.where import QueryValidationError
from tests.unit.cloudflare_sqlite import CloudflareStorage


class NoEvents:
    def emit(self, event_type: str, subject: str | None, data: object, object_id: str | None = None) -> str:
        return "event"


class CountingStore(SqliteThingStore):
    """The store, remembering how often a list asked it to count."""

    counts = 0

    def count(self, type_name: str, query: ThingQuery) -> int:
        self.counts += 1
        return super().count(type_name, query)


def things_with(n: int) -> tuple[Things, CountingStore]:
    sql = Sql(CloudflareStorage())
    for migration in THING_TABLES.migrations:
        for statement in migration.statements:
            if isinstance(statement, str):
                sql.run(statement)
            else:
                statement(sql)
    store = CountingStore(sql)
    for i in range(n):
        data = json.dumps({"n": i, "name": "ann" if i % 3 == 0 else "bob"})
        assert store.insert(ThingRecord(f"c{i:03}", "Customer", data, i, i, None, 1))
    return Things(store, NoEvents()), store


def test_the_default_list_does_not_count() -> None:
    things, store = things_with(30)
    page = things.list("Customer", ThingQuery.from_params({"limit": "5"}))
    assert (page["total"], page["has_more"], len(page["items"])) == (None, True, 5)
    assert store.counts == 0


@pytest.mark.parametrize("value", ["exact", "EXACT", "true", "1"])
def test_total_exact_counts(value: str) -> None:
    things, store = things_with(30)
    page = things.list("Customer", ThingQuery.from_params({"limit": "5", "total": value}))
    assert (page["total"], page["has_more"]) == (30, True)
    assert store.counts == 1


@pytest.mark.parametrize("value", [None, "", "false", "0"])
def test_no_total_unless_asked(value: str | None) -> None:
    assert ThingQuery.from_params({"total": value}).with_total is False


@pytest.mark.parametrize("value", ["maybe", "estimate", "2", "yes"])
def test_a_bad_total_is_a_400(value: str) -> None:
    with pytest.raises(QueryValidationError) as raised:
        ThingQuery.from_params({"total": value})
    assert (raised.value.status, raised.value.code) == (400, "invalid_query")


def test_a_regex_list_stops_after_the_page_by_default() -> None:
    things, _ = things_with(30)
    where = json.dumps({"name": {"$regex": "^ann"}})
    page = things.list("Customer", ThingQuery.from_params({"where": where, "limit": "2"}))
    assert (page["total"], page["has_more"], [t["n"] for t in page["items"]]) == (None, True, [0, 3])


@settings(max_examples=60)
@given(n=st.integers(0, 12), limit=st.integers(0, 14), offset=st.integers(0, 14), exact=st.booleans())
def test_total_is_exact_or_absent_never_wrong(n: int, limit: int, offset: int, exact: bool) -> None:
    """Whatever the page, `total` is either the true count or None, and None only when no
    exact count was asked for and the page does not show the end (it has more after it,
    or it is empty past an offset, which bounds nothing)."""
    things, _ = things_with(n)
    params = {"limit": str(limit), "offset": str(offset), **({"total": "exact"} if exact else {})}
    page = things.list("Customer", ThingQuery.from_params(params))
    assert page["has_more"] == (offset + limit < n)
    if exact or (not page["has_more"] and (offset == 0 or page["items"])):
        assert page["total"] == n
    else:
        assert page["total"] is None


@pytest.mark.parametrize("where", [None, {"name": "ann"}, {"name": {"$regex": "^ann"}}])
def test_count_and_every_total_count_from_the_start_alike(where: dict[str, object] | None) -> None:
    """`Things.count` and a page's `total` (in SQL or with a residual) are one count: from
    the start, whatever cursor the query starts after."""
    things, _ = things_with(30)
    params = {"limit": "2", "total": "exact", **({"where": json.dumps(where)} if where else {})}
    first = things.list("Customer", ThingQuery.from_params(params))
    after = ThingQuery.from_params({**params, "cursor": first["cursor"]})
    second = things.list("Customer", after)
    expected = 30 if where is None else 10
    assert first["total"] == second["total"] == things.count("Customer", after) == expected
