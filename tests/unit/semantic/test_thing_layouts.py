"""`things` keyed by the list order (ADR 0039): SQLite reads a list, the full scan included,
from one range of the table in order, a thing by id through its unique index and a clause
on a declared property through that index; and every answer is the one the layout before
it (keyed by id, with a type index), or an object migrated from it, gives."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dotdo.core.migrations import Component, migrate
from dotdo.core.sql import Sql
from dotdo.errors import DotdoError
from dotdo.semantic.query import ThingQuery
from dotdo.semantic.registry import REGISTRY_TABLES, Nouns
from dotdo.semantic.store import THING_TABLES, SqliteThingStore
from dotdo.semantic.strict import NounPolicy
from dotdo.semantic.things import Things
from dotdo.storage.log import STORAGE_TABLES
from dotdo.storage.tiers import TieredThingStore
from tests.storage import Clock, Storage

THINGS_BY_ID = Component("things", THING_TABLES.migrations[:2])
"""`things` as the release before ADR 0039 left it: keyed by id, with the type index."""


class _Events:
    def emit(
        self, event_type: str, data: Any = None, subject: str | None = None, object: str | None = None
    ) -> str:
        return "e"


class Service:
    """The thing service over SQLite, `things` in the layout of `component`, with a noun
    `Item` whose property `g` is indexed."""

    def __init__(self, component: Component, clock: Clock, tiered: bool = False) -> None:
        self.storage = Storage()
        self.sql = Sql(self.storage)
        migrate(self.sql, [component, REGISTRY_TABLES, *([STORAGE_TABLES] if tiered else [])], clock())
        nouns = Nouns(self.sql, clock)
        nouns.register("Item", indexes=("g",))
        self.tiers = TieredThingStore(self.sql, clock) if tiered else None
        store = SqliteThingStore(self.sql) if self.tiers is None else self.tiers
        self.things = Things(store, _Events(), clock, nouns=NounPolicy(nouns))
        self.statements: list[tuple[str, tuple[Any, ...]]] = []

    def rekey(self) -> None:
        """Run the migration to the list-order key on this object's rows."""
        migrate(self.sql, [THING_TABLES, REGISTRY_TABLES], 0)

    def plans(self, work: Any) -> Iterator[str]:
        """SQLite's plan of every statement on `things` that `work()` runs, step by step."""
        runtime = self.storage.sql
        real = runtime.exec
        seen: list[tuple[str, tuple[Any, ...]]] = []

        def spy(query: str, *bindings: Any) -> Any:
            seen.append((query, bindings))
            return real(query, *bindings)

        runtime.exec = spy  # type: ignore[method-assign]
        try:
            work()
        finally:
            runtime.exec = real  # type: ignore[method-assign]
        for query, bindings in seen:
            if " things" in query:
                plan = "; ".join(str(row["detail"]) for row in real(f"EXPLAIN QUERY PLAN {query}", *bindings))
                # A page's records are read by key once its matches are measured (ADR 0057),
                # in the same statement (the walk is its co-routine) or, for large ones, after.
                if plan.startswith(_PAGE_HEAD) and plan.endswith(_PAGE_TAIL):
                    plan = plan[len(_PAGE_HEAD) : -len(_PAGE_TAIL)]
                if plan != _BY_KEY:
                    yield plan


_PAGE_HEAD = "CO-ROUTINE p; "
_PAGE_TAIL = "; SCAN p; CORRELATED SCALAR SUBQUERY 1; SEARCH t USING INDEX things_by_id (id=?)"
_BY_KEY = (
    "SEARCH things USING INDEX things_by_id (id=?); LIST SUBQUERY 1; SCAN json_each VIRTUAL TABLE INDEX 1:"
)
"""The plan of a page's records read by key, after its matches (`SqliteThingStore._select`)."""


def query(**options: Any) -> ThingQuery:
    return ThingQuery.build(**options)


def customers() -> Service:
    service = Service(THING_TABLES, Clock(1_000))
    service.things.create_many("Item", [{"$id": f"i{n}", "g": n % 4, "tier": "gold"} for n in range(50)])
    return service


def test_a_list_reads_its_type_in_order_from_the_table_s_key() -> None:
    """The full scan (a clause on an undeclared property: every row of the type read) and
    the default list walk the table's key from the type on: no lookup a row, no sort."""
    service = customers()
    for options in ({}, {"where": {"tier": "platinum"}}, {"where": {"tier": "gold"}, "limit": 5}):
        plans = list(service.plans(lambda o=options: service.things.list("Item", query(**o))))
        assert plans and set(plans) == {"SEARCH things USING PRIMARY KEY (type=?)"}, options
    counted = list(service.plans(lambda: service.things.count("Item", query(where={"tier": "gold"}))))
    assert counted == ["SEARCH things USING PRIMARY KEY (type=?)"]


def test_a_thing_by_id_is_found_through_the_id_index() -> None:
    service = customers()
    plans = list(service.plans(lambda: service.things.store.read("i7")))
    assert plans == ["SEARCH things USING INDEX things_by_id (id=?)"]


def test_a_clause_on_a_declared_property_seeks_by_its_index() -> None:
    """Without statistics SQLite would walk the type by the table's key, every row of it,
    rather than seek through the declared index and look each match up: the query names the
    index (`INDEXED BY`) where its clause compares the indexed field."""
    service = customers()
    for where, seek in (
        ({"g": 2}, "(type=? AND <expr>=?)"),
        ({"g": 2, "tier": "gold"}, "(type=? AND <expr>=?)"),
        ({"tier": "gold", "g": {"$gte": 3}}, "(type=? AND <expr>>?)"),
    ):
        plans = list(service.plans(lambda w=where: service.things.list("Item", query(where=w, limit=5))))
        assert plans and all(
            p.startswith(f"SEARCH things USING INDEX things_Item_g {seek}") for p in plans
        ), where
    for where in (
        {"g": None},
        {"g": {"$in": [1, 2]}},
        {"$or": [{"g": 1}, {"tier": "x"}]},
    ):  # no seek: the key
        plans = list(service.plans(lambda w=where: service.things.list("Item", query(where=w, limit=5))))
        assert plans and all(p.startswith("SEARCH things USING PRIMARY KEY (type=?)") for p in plans), where


IDS = [f"t{n}" for n in range(5)]
OPERATIONS = st.one_of(
    st.tuples(st.just("create"), st.sampled_from(IDS), st.sampled_from(["Item", "Other"]), st.integers(0, 3)),
    st.tuples(st.just("update"), st.sampled_from(IDS), st.integers(0, 3)),
    st.tuples(st.just("soft delete"), st.sampled_from(IDS)),
    st.tuples(st.just("hard delete"), st.sampled_from(IDS)),
    st.tuples(st.just("tick")),
    st.tuples(st.just("flush")),
)
QUERIES = [
    query(limit=100),
    query(where={"g": 2}, limit=100),
    query(where={"g": {"$gt": 1}}, limit=100),
    query(where={"s": "a"}, limit=100),
    query(where={"g": 1, "s": "b"}, limit=100),
    query(order_by="g", limit=100),
    query(order_by="-g", limit=2, offset=1),
    query(include_deleted=True, limit=100),
    query(where={"g": {"$lte": 2}}, include_deleted=True, limit=3, offset=2),
]


def _apply(service: Service, operation: tuple[Any, ...]) -> Any:
    kind, *rest = operation
    things = service.things
    try:
        if kind == "create":
            thing_id, type_name, g = rest
            return things.create(type_name, {"$id": thing_id, "g": g, "s": "ab"[g % 2]})
        if kind == "update":
            thing_id, g = rest
            return things.update("Item", thing_id, {"g": g})
        if kind == "soft delete":
            return things.soft_delete("Item", rest[0])
        if kind == "hard delete":
            return things.delete("Item", rest[0])
    except DotdoError as error:
        return type(error).__name__, str(error)
    return None


def _answers(service: Service) -> list[Any]:
    things = service.things
    found: list[Any] = []
    for type_name in ("Item", "Other"):
        for q in QUERIES:
            found.append(things.list(type_name, q))
            found.append(things.count(type_name, q))
        found.append([things.get(type_name, thing_id, include_deleted=True) for thing_id in IDS])
    return found


@settings(max_examples=60)
@given(st.lists(OPERATIONS, max_size=25), st.integers(0, 25))
def test_every_layout_answers_alike(operations: list[tuple[Any, ...]], rekeyed_at: int) -> None:
    """The same writes on `things` keyed by id, keyed by the list order, keyed by id then
    migrated part-way through, and keyed by the list order behind DOStorage's tiers (its
    queries read unflushed things over the table, ADR 0030): every write answers the same,
    then every list, count and read. Several writes share a millisecond, so ids break ties
    in the order."""
    clock = Clock(1_000)
    by_id, by_order, migrated = (Service(c, clock) for c in (THINGS_BY_ID, THING_TABLES, THINGS_BY_ID))
    tiered = Service(THING_TABLES, clock, tiered=True)
    services = (by_id, by_order, migrated, tiered)
    for step, operation in enumerate(operations):
        if step == rekeyed_at:
            migrated.rekey()
        if operation == ("tick",):
            clock.advance(1)
        elif operation == ("flush",):
            assert tiered.tiers is not None
            tiered.tiers.flush()
        else:
            answers = [_apply(service, operation) for service in services]
            assert answers[1:] == answers[:1] * 3, operation
    migrated.rekey()
    expected = _answers(by_id)
    for service in services[1:]:
        assert _answers(service) == expected


def _service_with_nouns() -> tuple[Service, Nouns]:
    service = customers()
    nouns = Nouns(service.sql, Clock(1_000))
    service.things = Things(service.things.store, _Events(), Clock(1_000), nouns=NounPolicy(nouns))
    return service, nouns


def test_a_noun_registered_in_a_rolled_back_transaction_is_not_read_by_its_index() -> None:
    """Registering inside an enclosing transaction that then failed (app code in
    `things.transaction`) rolled the index back while the registry kept it: every later
    clause on that property named an index SQLite no longer had (`no such index`)."""
    service, nouns = _service_with_nouns()

    def register_then_fail() -> None:
        nouns.register("Item", indexes=("g", "tier"))
        raise RuntimeError("the app's work failed after registering")

    with pytest.raises(RuntimeError):
        service.sql.transaction(register_then_fail)
    assert nouns.indexes("Item") == ("g",)
    found = service.things.list("Item", query(where={"tier": "gold"}, limit=3))
    assert [t["$id"] for t in found["items"]] == ["i0", "i1", "i10"]
    nouns.register("Item", indexes=("g", "tier"))  # registered again: now it is there
    plans = list(service.plans(lambda: service.things.list("Item", query(where={"tier": "gold"}, limit=3))))
    assert plans and all(p.startswith("SEARCH things USING INDEX things_Item_tier") for p in plans)


def test_a_property_whose_index_name_another_index_holds_is_not_read_by_that_index() -> None:
    """SQLite's names ignore case: `things_Item_G` is `things_Item_g`, so indexing `G` beside
    `g` created nothing, and a clause on `G` was read through the index of `g` (every row
    of the type, in that index's order) where the table's key serves it better."""
    service, nouns = _service_with_nouns()
    nouns.register("Item", indexes=("g", "G"))
    service.things.create_many("Item", [{"$id": f"u{n}", "G": n} for n in range(3)])
    plans = list(service.plans(lambda: service.things.list("Item", query(where={"G": 1}, limit=5))))
    assert plans and not any("things_Item_g" in p for p in plans), plans
    assert [t["$id"] for t in service.things.list("Item", query(where={"G": 1}))["items"]] == ["u1"]
    plans = list(service.plans(lambda: service.things.list("Item", query(where={"g": 1}, limit=5))))
    assert plans and all(
        p.startswith("SEARCH things USING INDEX things_Item_g (type=? AND <expr>=?)") for p in plans
    )
