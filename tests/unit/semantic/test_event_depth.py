"""An event's data nests at most 32 levels (MAX_STORED_DEPTH), as every value a caller
stores; only a record the framework builds around such a value (`EventLog.framework`: an
action's event, an approval's) may nest FRAMEWORK_DEPTH levels more. The log gave that
allowance to every event, so the application's own `self.emit` recorded 34 levels."""

from __future__ import annotations

from typing import Any

import pytest

from dotdo.core.migrations import migrate
from dotdo.core.sql import Sql
from dotdo.errors import BadRequest
from dotdo.semantic.graph import GRAPH_TABLES, Actions, EventLog, Relationships
from dotdo.semantic.registry import REGISTRY_TABLES, Verbs
from dotdo.values import FRAMEWORK_DEPTH, MAX_STORED_DEPTH
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


def emit_with(events: EventLog) -> Any:
    return lambda event_type, data, subject, object_id: events.record(event_type, subject, data, object_id)


@pytest.mark.parametrize("depth", [MAX_STORED_DEPTH + 1, MAX_STORED_DEPTH + FRAMEWORK_DEPTH])
def test_an_events_data_nests_as_deep_as_any_value(depth: int) -> None:
    _, events = log()
    events.record("Deep.emitted", None, arrays(MAX_STORED_DEPTH))
    with pytest.raises(BadRequest) as refused:
        events.record("Deep.emitted", None, arrays(depth))
    assert refused.value.code == "invalid_data" and "deeper than 32 levels" in refused.value.message


def test_a_framework_record_nests_framework_depth_more_and_only_itself() -> None:
    _, events = log()
    framework = events.framework(emit_with(events))
    framework("Approval.escalated", arrays(MAX_STORED_DEPTH + FRAMEWORK_DEPTH), None, None)
    with pytest.raises(BadRequest):
        framework("Approval.escalated", arrays(MAX_STORED_DEPTH + FRAMEWORK_DEPTH + 1), None, None)
    with pytest.raises(BadRequest):  # the allowance went with the record that had it
        events.record("Deep.emitted", None, arrays(MAX_STORED_DEPTH + 1))

    def refuses(event_type: str, data: Any, subject: str | None, object_id: str | None) -> str:
        raise ValueError("refused before recording")

    with pytest.raises(ValueError):
        events.framework(refuses)("Deep.emitted", None, None, None)
    with pytest.raises(BadRequest):  # nor is it left behind by an emit that recorded nothing
        events.record("Deep.emitted", None, arrays(MAX_STORED_DEPTH + 1))


def test_an_actions_event_wraps_data_at_the_bound() -> None:
    sql, events = log()
    ids = iter(f"01k{n:023d}" for n in range(1, 10_000))
    emit = events.framework(emit_with(events))
    actions = Actions(
        sql, Verbs(sql, lambda: 1), emit, Relationships(sql, lambda: 1), lambda: 1, lambda: next(ids)
    )
    answer = actions.record("Customer/c1", "visit", None, arrays(MAX_STORED_DEPTH))
    assert events.get(answer["event"]["id"])["data"]["data"] == arrays(MAX_STORED_DEPTH)  # type: ignore[index]
