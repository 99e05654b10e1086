"""Which event types a caller may cause: a reserved noun's (DOFull's `Approval.*`) by no
write, sent event or action; the thing store's own (`<Noun>.created`, ...) by no sent event."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from dotdo.errors import BadRequest
from dotdo.semantic.eventtypes import check_sent_event_type
from dotdo.semantic.graph import Actions, Relationships
from dotdo.semantic.query import ThingQuery
from dotdo.semantic.registry import Noun
from dotdo.semantic.strict import NounPolicy
from dotdo.semantic.things import Things
from tests.unit.semantic.test_strict import Events, MemoryStore, Registry

RESERVED = frozenset({"Approval"})


@pytest.mark.parametrize(
    "event_type",
    [
        "Approval.approved",
        "Approval.requested",
        "Approval.anything",
        "Note.created",
        "Note.create",
        "Note.creating",
        "Note.creates",
        "Note.updated",
        "Note.deleted",
        "Note.restored",
        "Note.restore",
    ],
)
def test_a_reserved_noun_or_a_thing_write_s_verb_is_no_type_a_caller_sends(event_type: str) -> None:
    with pytest.raises(BadRequest) as refused:
        check_sent_event_type(event_type, RESERVED)
    assert refused.value.code == "reserved_event_type" and refused.value.status == 400


@pytest.mark.parametrize(
    "event_type", ["Order.placed", "Note.recreated", "Refund.requested", "Approver.approved"]
)
def test_other_types_are_sent(event_type: str) -> None:
    assert check_sent_event_type(event_type, RESERVED) == event_type


@pytest.mark.parametrize("event_type", ["note.created", "Note", 5, None])
def test_a_type_that_is_no_type_is_invalid_first(event_type: Any) -> None:
    with pytest.raises(BadRequest) as refused:
        check_sent_event_type(event_type, RESERVED)
    assert refused.value.code == "invalid_event_type"


def _things() -> tuple[Things, MemoryStore, Events]:
    policy = NounPolicy(Registry(Noun("Approval")), reserved=RESERVED)
    events = Events()
    store = MemoryStore(events)
    return Things(store, events, nouns=policy), store, events


WRITES: list[tuple[str, Callable[[Things], Any]]] = [
    ("create", lambda t: t.create("Approval", {"$id": "a1"})),
    ("create_many", lambda t: t.create_many("Approval", [{"$id": "a1"}])),
    ("upsert", lambda t: t.upsert("Approval", {"$id": "a1"})),
    ("update", lambda t: t.update("Approval", "a0", {"x": 1})),
    ("replace", lambda t: t.replace("Approval", "a0", {"x": 1})),
    ("delete", lambda t: t.delete("Approval", "a0")),
    ("soft_delete", lambda t: t.soft_delete("Approval", "a0")),
    ("restore", lambda t: t.restore("Approval", "a0")),
]


@pytest.mark.parametrize(("name", "write"), WRITES, ids=[name for name, _ in WRITES])
def test_no_thing_of_a_reserved_noun_is_written(name: str, write: Callable[[Things], Any]) -> None:
    service, store, events = _things()
    with pytest.raises(BadRequest) as refused:
        write(service)
    assert refused.value.code == "reserved_event_type"
    assert store.records == {} and events.types == []
    # reads answer as for any noun; other nouns are written as before
    assert service.get("Approval", "a0") is None
    assert service.list("Approval", ThingQuery.build())["items"] == []
    assert service.create("Note", {"$id": "n1"})["$id"] == "n1" and events.types == ["Note.created"]


def test_no_action_has_a_subject_of_a_reserved_noun() -> None:
    policy = NounPolicy(Registry(), reserved=RESERVED)
    relationships = Relationships(None, lambda: 0, policy)  # type: ignore[arg-type]  # refused before SQL
    emitted: list[str] = []
    actions = Actions(
        None, None, lambda *a: emitted.append(a[0]) or "", relationships, lambda: 0, lambda: "", policy
    )  # type: ignore[arg-type]
    for verb in ("approve", "reject", "expire", "escalate", "request"):
        with pytest.raises(BadRequest) as refused:
            actions.record("Approval/forged", verb, "Order/o1")
        assert refused.value.code == "reserved_event_type"
    assert emitted == []
