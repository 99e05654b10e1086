"""An event's data nests at most 32 levels (MAX_STORED_DEPTH), as every value a caller
stores; a record the framework builds around such a value (an action's event, an
approval's) is a `values.Record` that carries its own bound, `around(levels, inner)`: the
levels it adds, counted exactly, over the bound of what it carries. The bound used to be a
one-shot flag on the log, set by a wrapper around `emit` for "the next record": an
application's override of `emit` that recorded an event of its own first handed that event
the allowance and left the framework's record without it."""

from __future__ import annotations

from typing import Any

import pytest

from dotdo.core.migrations import migrate
from dotdo.core.sql import Sql
from dotdo.errors import BadRequest
from dotdo.semantic.graph import GRAPH_TABLES, Actions, EventLog, Relationships
from dotdo.semantic.registry import REGISTRY_TABLES, Verbs
from dotdo.values import (
    ACTION_EVENT_DEPTH,
    APPROVAL_EVENT_DEPTH,
    MAX_STORED_DEPTH,
    Record,
    around,
    depth_of,
)
from tests.storage import Storage


def arrays(depth: int) -> Any:
    value: Any = [1]
    for _ in range(depth - 1):
        value = [value]
    return value


def log() -> tuple[Sql, EventLog]:
    sql = Sql(Storage())
    migrate(sql, [REGISTRY_TABLES, GRAPH_TABLES], 1)
    ids = iter(f"01j{n:023d}" for n in range(1, 10_000))
    return sql, EventLog(sql, lambda: 1, lambda: next(ids))


def actions_on(sql: Sql, emit: Any) -> Actions:
    ids = iter(f"01k{n:023d}" for n in range(1, 10_000))
    verbs, relationships = Verbs(sql, lambda: 1), Relationships(sql, lambda: 1)
    return Actions(sql, verbs, emit, relationships, lambda: 1, lambda: next(ids))


def refused(record: Any, *args: Any, bound: int = MAX_STORED_DEPTH) -> BadRequest:
    """The refusal of `record(*args)`, naming `bound`: the bound of what was checked."""
    with pytest.raises(BadRequest) as caught:
        record(*args)
    assert caught.value.code == "invalid_data" and f"deeper than {bound} levels" in caught.value.message
    return caught.value


@pytest.mark.parametrize("depth", [MAX_STORED_DEPTH + 1, MAX_STORED_DEPTH + 2])
def test_an_events_data_nests_as_deep_as_any_value(depth: int) -> None:
    _, events = log()
    events.record("Deep.emitted", None, arrays(MAX_STORED_DEPTH))
    refused(events.record, "Deep.emitted", None, arrays(depth))


def test_a_record_nests_its_own_levels_over_what_it_carries_and_no_more() -> None:
    _, events = log()
    assert ACTION_EVENT_DEPTH == around(1) == MAX_STORED_DEPTH + 1
    assert APPROVAL_EVENT_DEPTH == around(2) == MAX_STORED_DEPTH + 2  # {"from": {"payload": ...}}
    for depth in (ACTION_EVENT_DEPTH, APPROVAL_EVENT_DEPTH):
        deep = Record(depth, {"from": arrays(depth - 1)})
        assert depth_of(deep) == depth and deep == {"from": arrays(depth - 1)}
        event_id = events.record("Deep.emitted", None, deep)
        assert events.get(event_id)["data"] == deep  # type: ignore[index]
        refused(events.record, "Deep.emitted", None, Record(depth, {"from": arrays(depth)}), bound=depth)
    # the bound went with the record that had it, and with no other
    refused(events.record, "Deep.emitted", None, {"from": arrays(MAX_STORED_DEPTH)})


def test_an_actions_event_wraps_data_at_the_bound() -> None:
    sql, events = log()
    actions = actions_on(sql, lambda t, data, s, o: events.record(t, s, data, o))
    answer = actions.record("Customer/c1", "visit", None, arrays(MAX_STORED_DEPTH))
    assert events.get(answer["event"]["id"])["data"]["data"] == arrays(MAX_STORED_DEPTH)  # type: ignore[index]
    refused(actions.record, "Customer/c1", "visit", None, arrays(MAX_STORED_DEPTH + 1))


def test_an_emit_that_records_an_event_of_its_own_first_hands_it_no_allowance() -> None:
    """An application's `emit` override that records an audit event before passing the
    action's event on: the audit event is held to 32 levels and the action's keeps its bound
    (with the one-shot flag, the audit event took the allowance and the action failed)."""
    sql, events = log()
    audit: list[str] = []

    def emit(event_type: str, data: Any, subject: str | None, object_id: str | None) -> str:
        try:
            events.record("Audit.noted", None, arrays(MAX_STORED_DEPTH + 1))
        except BadRequest as error:
            audit.append(error.message)
        return events.record(event_type, subject, data, object_id)

    answer = actions_on(sql, emit).record("Customer/c1", "visit", None, arrays(MAX_STORED_DEPTH))
    assert events.get(answer["event"]["id"])["data"]["data"] == arrays(MAX_STORED_DEPTH)  # type: ignore[index]
    assert audit == ["data is nested deeper than 32 levels"]
    assert [item["type"] for item in events.list()["items"]] == ["Customer.visited"]


def test_an_emit_that_fails_before_recording_leaves_nothing_behind() -> None:
    sql, events = log()

    def fails(event_type: str, data: Any, subject: str | None, object_id: str | None) -> str:
        raise ValueError("refused before recording")

    with pytest.raises(ValueError):
        actions_on(sql, fails).record("Customer/c1", "visit", None, arrays(MAX_STORED_DEPTH))
    refused(events.record, "Deep.emitted", None, arrays(MAX_STORED_DEPTH + 1))
