"""Strict nouns and declared fields: the closest-name suggestion, the policy, and the one seam
(the thing service, relationships, actions) every surface goes through."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dotdo.errors import BadRequest, NotFound
from dotdo.semantic.graph import Actions, Hop, Relationships
from dotdo.semantic.query import ThingQuery
from dotdo.semantic.registry import Noun
from dotdo.semantic.store import ThingRecord
from dotdo.semantic.strict import (
    NounPolicy,
    closest_field,
    closest_noun,
    declared_fields,
    unknown_field,
    unknown_noun,
)
from dotdo.semantic.things import Things
from dotdo.semantic.where import compile_where

T = TypeVar("T")
NOUNS = [Noun("Ticket"), Noun("Person", plural="People"), Noun("Category"), Noun("LineItem")]


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("Tiket", "Ticket"),  # a missing letter
        ("Tikcet", "Ticket"),  # two letters swapped
        ("Ticket", "Ticket"),
        ("TICKET", "Ticket"),  # case is ignored
        ("Tickets", "Ticket"),  # the plural is the noun
        ("Tikets", "Ticket"),
        ("People", "Person"),  # a registered plural
        ("Persons", "Person"),
        ("Categories", "Category"),  # a derived plural
        ("Categorys", "Category"),
        ("Lineitem", "LineItem"),
        ("LineItems", "LineItem"),
        ("Invoice", None),  # nothing close
        ("T", None),
    ],
)
def test_closest_noun(typed: str, meant: str | None) -> None:
    assert closest_noun(typed, NOUNS) == meant


def test_one_letter_away_is_suggested_where_difflib_misses_it() -> None:
    # SequenceMatcher's greedy blocks give "aaa" / "abaa" a ratio of 0.57, below the cutoff
    assert closest_noun("Aaa", [Noun("Abaa")]) == "Abaa"
    assert closest_noun("Ix", [Noun("Ox")]) == "Ox"
    assert closest_noun("Xy", [Noun("Ox")]) is None


def test_closest_noun_with_no_nouns_and_a_name_beating_a_plural() -> None:
    assert closest_noun("Ticket", []) is None
    # "News" is a noun of its own and the plural of nothing else: the name wins
    assert closest_noun("news", [Noun("New"), Noun("News")]) == "News"


@pytest.mark.parametrize(
    ("typed", "meant"),
    [("stauts", "status"), ("Status", "status"), ("titel", "title"), ("prio", "priority"), ("xyz", None)],
)
def test_closest_field(typed: str, meant: str | None) -> None:
    assert closest_field(typed, ["title", "status", "priority"]) == meant


NAME = st.from_regex(r"[A-Z][a-z]{3,14}", fullmatch=True)


@st.composite
def one_edit(draw: st.DrawFn) -> tuple[str, str]:
    """A name and the same name with one letter dropped, changed, added or swapped with the next."""
    name = draw(NAME)
    at = draw(st.integers(min_value=0, max_value=len(name) - 2))
    letter = draw(st.sampled_from("abcdefghijklmnopqrstuvwxyz"))
    edit = draw(st.sampled_from(["drop", "change", "add", "swap"]))
    if edit == "drop":
        typed = name[:at] + name[at + 1 :]
    elif edit == "change":
        typed = name[:at] + letter + name[at + 1 :]
    elif edit == "add":
        typed = name[:at] + letter + name[at:]
    else:
        typed = name[:at] + name[at + 1] + name[at] + name[at + 2 :]
    return name, typed


@given(one_edit())
def test_one_typo_in_a_declared_noun_is_always_suggested_back(case: tuple[str, str]) -> None:
    name, typed = case
    assert closest_noun(typed, [Noun(name)]) == name
    assert closest_noun(typed.upper(), [Noun(name)]) == name


@given(one_edit())
def test_one_typo_in_a_field_is_always_suggested_back(case: tuple[str, str]) -> None:
    name, typed = case
    assert closest_field(typed.lower(), [name.lower(), "zzzzzzzzzz"]) == name.lower()


def test_the_errors_carry_a_message_a_code_and_a_suggestion() -> None:
    error = unknown_noun("Tiket", NOUNS)
    assert isinstance(error, NotFound) and error.status == 404
    assert error.to_dict() == {
        "error": {
            "code": "unknown_noun",
            "message": "No noun 'Tiket'; did you mean 'Ticket'?",
            "suggestion": "Ticket",
        }
    }
    nothing = unknown_noun("Zebra", NOUNS).to_dict()["error"]
    assert nothing["suggestion"] is None and "declared_nouns" in nothing["message"]
    field = unknown_field("Ticket", "stauts", ["title", "status"])
    assert isinstance(field, BadRequest) and field.status == 400
    assert field.to_dict()["error"] == {
        "code": "unknown_field",
        "message": "No field 'stauts' on Ticket; did you mean 'status'?",
        "suggestion": "status",
    }
    listed = unknown_field("Ticket", "zzz", ["title", "status"]).to_dict()["error"]
    assert listed["suggestion"] is None and "status, title" in listed["message"]


def test_declared_fields_are_checked_when_the_class_is_defined() -> None:
    ticket = Noun("Ticket", fields=("title", "status"), indexes=("status",))
    assert declared_fields([ticket, Noun("Person")]) == {"Ticket": frozenset({"title", "status"})}
    assert declared_fields([Noun("Ticket", fields=("address",), indexes=("address.city",))])
    with pytest.raises(ValueError, match="not among its fields"):
        declared_fields([Noun("Ticket", fields=("title",), indexes=("stauts",))])
    with pytest.raises(ValueError, match="top-level property name"):
        declared_fields([Noun("Ticket", fields=("address.city",))])
    with pytest.raises(ValueError, match="top-level property name"):
        declared_fields([Noun("Ticket", fields=("$id",))])
    with pytest.raises(ValueError, match="tuple of property names"):
        declared_fields([Noun("Ticket", fields="title")])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="declared twice"):
        declared_fields([Noun("Ticket"), Noun("Ticket", plural="Tix")])
    with pytest.raises(ValueError, match="Noun"):
        declared_fields(["Ticket"])  # type: ignore[list-item]


def test_where_clauses_report_every_path_they_name() -> None:
    clause = {"a": 1, "$or": [{"b.c": {"$gt": 1}}, {"$not": {"d": {"$regex": "x"}}}], "$id": "t"}
    assert compile_where(clause).paths == {"a", "b.c", "d", "$id"}
    assert compile_where(None).paths == frozenset()


# -- the seam -----------------------------------------------------------------------


class Registry:
    def __init__(self, *nouns: Noun) -> None:
        self.nouns = {noun.name: noun for noun in nouns}

    def is_registered(self, name: str) -> bool:
        return name in self.nouns

    def all(self) -> list[Noun]:
        return list(self.nouns.values())

    def indexes(self, name: str) -> tuple[str, ...]:
        noun = self.nouns.get(name)
        return () if noun is None else noun.indexes

    def has_index(self, name: str, path: str) -> bool:
        return path in self.indexes(name)


class Events:
    def __init__(self) -> None:
        self.types: list[str] = []

    def emit(self, event_type: str, subject: str | None, data: Any, object_id: str | None = None) -> str:
        self.types.append(event_type)
        return str(len(self.types))


class MemoryStore:
    """Just enough of a ThingStore: records in a dict, every query a full scan."""

    def __init__(self, events: Events) -> None:
        self.records: dict[str, ThingRecord] = {}
        self.events = events  # rolled back with the records, as the real sink's events are

    def read(self, thing_id: str) -> ThingRecord | None:
        return self.records.get(thing_id)

    def insert(self, record: ThingRecord) -> bool:
        if record.id in self.records:
            return False
        self.records[record.id] = record
        return True

    def write(self, record: ThingRecord, expected_version: int) -> bool:
        self.records[record.id] = record
        return True

    def remove(self, thing_id: str) -> bool:
        return self.records.pop(thing_id, None) is not None

    def scan(self, type_name: str, query: ThingQuery) -> Iterator[ThingRecord]:
        return iter([r for r in self.records.values() if r.type == type_name])

    def page(self, type_name: str, query: ThingQuery) -> tuple[list[ThingRecord], bool]:
        return [r for r in self.scan(type_name, query) if query.where.accepts(r.wire())][: query.limit], False

    def count(self, type_name: str, query: ThingQuery) -> int:
        return len(self.page(type_name, query)[0])

    def atomically(self, work: Callable[[], T]) -> T:
        saved, emitted = dict(self.records), list(self.events.types)
        try:
            return work()
        except BaseException:
            self.records, self.events.types = saved, emitted
            raise

    def on_rollback(self, hook: Callable[[], None]) -> None:
        pass


def things(strict: bool, registry: Registry | None = None) -> tuple[Things, MemoryStore, Events]:
    registry = registry or Registry(Noun("Ticket", fields=("title", "status", "address")), Noun("Person"))
    policy = NounPolicy(registry, strict, declared_fields(registry.all()))
    events = Events()
    store = MemoryStore(events)
    return Things(store, events, nouns=policy), store, events


OPERATIONS: list[tuple[str, Callable[[Things, str], Any]]] = [
    ("create", lambda t, n: t.create(n, {"title": "a"})),
    ("create_many", lambda t, n: t.create_many(n, [{"title": "a"}])),
    ("upsert", lambda t, n: t.upsert(n, {"$id": "t-2", "title": "a"})),
    ("update", lambda t, n: t.update(n, "t-1", {"title": "b"})),
    ("replace", lambda t, n: t.replace(n, "t-1", {"title": "b"})),
    ("delete", lambda t, n: t.delete(n, "t-1")),
    ("soft_delete", lambda t, n: t.soft_delete(n, "t-1")),
    ("restore", lambda t, n: t.restore(n, "t-1")),
    ("get", lambda t, n: t.get(n, "t-1")),
    ("list", lambda t, n: t.list(n, ThingQuery.build())),
    ("count", lambda t, n: t.count(n, ThingQuery.build())),
    ("find_first", lambda t, n: t.find_first(n, ThingQuery.build())),
]


@pytest.mark.parametrize(("name", "operation"), OPERATIONS, ids=[name for name, _ in OPERATIONS])
def test_strict_mode_refuses_every_operation_on_an_unknown_noun_and_writes_nothing(
    name: str, operation: Callable[[Things, str], Any]
) -> None:
    service, store, events = things(strict=True)
    service.create("Ticket", {"$id": "t-1", "title": "a"})
    before = dict(store.records)
    with pytest.raises(NotFound) as caught:
        operation(service, "Tiket")
    assert caught.value.code == "unknown_noun" and caught.value.details == {"suggestion": "Ticket"}
    assert store.records == before and events.types == ["Ticket.created"]
    operation(service, "Ticket")  # the declared noun works as before


@pytest.mark.parametrize(("name", "operation"), OPERATIONS, ids=[name for name, _ in OPERATIONS])
def test_without_strict_mode_any_noun_goes(name: str, operation: Callable[[Things, str], Any]) -> None:
    service, _, _ = things(strict=False)
    service.create("Tiket", {"$id": "t-1", "title": "a"})
    operation(service, "Tiket")


def test_nouns_registered_at_run_time_count_as_known() -> None:
    registry = Registry(Noun("Ticket"))
    service, _, _ = things(strict=True, registry=registry)
    with pytest.raises(NotFound):
        service.create("Widget", {})
    registry.nouns["Widget"] = Noun("Widget")  # POST /nouns
    assert service.create("Widget", {})["$type"] == "Widget"


@pytest.mark.parametrize("strict", [True, False])
def test_declared_fields_refuse_other_property_names_in_writes_and_queries(strict: bool) -> None:
    service, store, events = things(strict=strict)
    service.create("Ticket", {"$id": "t-1", "title": "a", "address": {"city": "Oslo"}})
    before = dict(store.records)
    refused: list[Callable[[], Any]] = [
        lambda: service.create("Ticket", {"stauts": "open"}),
        lambda: service.create_many("Ticket", [{"title": "ok"}, {"stauts": "open"}]),
        lambda: service.upsert("Ticket", {"$id": "t-2", "stauts": "open"}),
        lambda: service.update("Ticket", "t-1", {"stauts": "open"}),
        lambda: service.replace("Ticket", "t-1", {"title": "a", "stauts": "open"}),
        # a null is stored where it is no patch: by a create, a replace, an upsert that creates
        lambda: service.create("Ticket", {"stauts": None}),
        lambda: service.replace("Ticket", "t-1", {"title": "a", "stauts": None}),
        lambda: service.upsert("Ticket", {"$id": "t-2", "stauts": None}),
        lambda: service.list("Ticket", ThingQuery.build(where={"stauts": "open"})),
        lambda: service.list("Ticket", ThingQuery.build(where={"$or": [{"title": "a"}, {"stauts": "x"}]})),
        lambda: service.list("Ticket", ThingQuery.build(order_by="-stauts")),
        lambda: service.list("Ticket", ThingQuery.build(select="title,stauts")),
        lambda: service.count("Ticket", ThingQuery.build(where={"stauts.code": 1})),
        lambda: service.find_first("Ticket", ThingQuery.build(where={"stauts": {"$regex": "o"}})),
    ]
    for attempt in refused:
        with pytest.raises(BadRequest) as caught:
            attempt()
        assert caught.value.code == "unknown_field" and caught.value.details == {"suggestion": "status"}
    assert store.records == before and events.types == ["Ticket.created"]
    # declared fields, nested paths under them and the $ fields all pass; other nouns are free
    where = {"status": "open", "address.city": "Oslo", "$version": 1}
    assert service.list("Ticket", ThingQuery.build(where=where, order_by="-$created_at,title")) is not None
    assert service.update("Ticket", "t-1", {"status": "open", "$version": 1})["status"] == "open"
    assert service.create("Person", {"anything": 1})["anything"] == 1


def test_a_null_in_a_patch_clears_a_field_no_longer_declared() -> None:
    # Things written while `last_book` was declared keep it after the field leaves `fields`;
    # a null removes it and stores nothing, so no merge refuses it (update, an upsert of a
    # thing that exists), whatever else the patch holds.
    then = Registry(Noun("Member", fields=("name", "last_book")))
    before, store, events = things(strict=True, registry=then)
    before.create("Member", {"$id": "ada", "name": "Ada", "last_book": "b-1"})
    before.create("Member", {"$id": "bob", "name": "Bob", "last_book": "b-2"})
    now = Registry(Noun("Member", fields=("name",)))
    service = Things(store, events, nouns=NounPolicy(now, True, declared_fields(now.all())))
    assert "last_book" not in service.update("Member", "ada", {"last_book": None})
    assert "last_book" not in service.get("Member", "ada")
    upserted = service.upsert("Member", {"$id": "bob", "last_book": None, "name": "B"})
    assert upserted == service.get("Member", "bob")
    assert "last_book" not in service.get("Member", "bob")
    assert service.update("Member", "ada", {"never_declared": None})["name"] == "Ada"  # removes nothing
    with pytest.raises(BadRequest) as caught:  # a value beside the null is still checked
        service.update("Member", "ada", {"last_book": None, "stauts": 1})
    assert caught.value.code == "unknown_field"


def test_relationships_and_actions_check_every_noun_they_name() -> None:
    policy = NounPolicy(Registry(Noun("Ticket"), Noun("Person")), strict=True)
    relationships = Relationships(None, lambda: 0, policy)  # type: ignore[arg-type]  # refused before SQL
    actions = Actions(None, None, lambda *_: "", relationships, lambda: 0, lambda: "")  # type: ignore[arg-type]
    for attempt in (
        lambda: relationships.relate("Ticket/t-1", "assigned", "Persn/p-1"),
        lambda: relationships.relate({"$type": "Tiket", "$id": "t-1"}, "assigned", "Person/p-1"),
        lambda: relationships.unrelate("Ticket/t-1", "assigned", "Persn/p-1"),
        lambda: relationships.related("Tiket/t-1", "assigned"),
        lambda: relationships.related("Ticket/t-1", "assigned", type_name="Persn"),
        lambda: relationships.traverse("Tiket/t-1", [Hop("assigned")]),
        lambda: relationships.traverse("Ticket/t-1", [Hop("assigned"), Hop("owns", "out", "Persn")]),
        lambda: actions.record("Tiket/t-1", "close"),
        lambda: actions.record("Ticket/t-1", "assign", "Persn/p-1"),
    ):
        with pytest.raises(NotFound) as caught:
            attempt()
        assert caught.value.code == "unknown_noun"
        assert caught.value.details["suggestion"] in ("Ticket", "Person")
    assert relationships.ref("Ticket/t-1").type == "Ticket"
