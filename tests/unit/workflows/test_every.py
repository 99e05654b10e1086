"""The every DSL: each form compiles to the right cron; bad input fails at registration."""

from __future__ import annotations

from typing import Any

import pytest

from dotdo import CronError, every, on, workflow
from dotdo.workflows.every import SCHEDULES_MARK, Every, ScheduleSpec, parse_time_of_day
from dotdo.workflows.handlers import HANDLERS_MARK, On
from dotdo.workflows.steps import WORKFLOW_MARK, RetryPolicy


@pytest.mark.parametrize(
    ("spec", "cron"),
    [
        (every.Monday.at9am, "0 9 * * 1"),
        (every.day.at("6pm"), "0 18 * * *"),
        (every(5).minutes, "*/5 * * * *"),
        (every(1).minutes, "* * * * *"),
        (every(60).minutes, "0 * * * *"),
        (every.minute, "* * * * *"),
        (every.hour, "0 * * * *"),
        (every(2).hours, "0 */2 * * *"),
        (every(24).hours, "0 0 * * *"),
        (every.weekday.at("9:30am"), "30 9 * * 1-5"),
        (every.weekend.at("10am"), "0 10 * * 0,6"),
        (every.day.at("noon"), "0 12 * * *"),
        (every.day.at("midnight"), "0 0 * * *"),
        (every.day.at("18:00"), "0 18 * * *"),
        (every.day.at("12am"), "0 0 * * *"),
        (every.day.at("12pm"), "0 12 * * *"),
        (every.Tuesday.at("7:05pm"), "5 19 * * 2"),
        (every.Wednesday.at11pm, "0 23 * * 3"),
        (every.Thursday.at12am, "0 0 * * 4"),
        (every.Friday.at930am, "30 9 * * 5"),
        (every.Saturday.at1pm, "0 13 * * 6"),
        (every.Sunday.at("8am"), "0 8 * * 0"),
        (every.cron("*/15 9-17 * * 1-5"), "*/15 9-17 * * 1-5"),
    ],
)
def test_forms(spec: ScheduleSpec, cron: str) -> None:
    assert spec.cron == cron


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: every(90).minutes, "from 1 to 60"),
        (lambda: every(7).minutes, "does not divide 60"),
        (lambda: every(0).hours, "from 1 to 24"),
        (lambda: every(5).hours, "does not divide 24"),
        (lambda: every(2.5), "whole number"),
        (lambda: every.day.at("25pm"), "1-12"),
        (lambda: every.day.at("25:00"), "0-23"),
        (lambda: every.day.at("9:75am"), "0-59"),
        (lambda: every.day.at("teatime"), "not a time of day"),
        (lambda: every.cron("not cron"), "5 fields"),
        (lambda: every.day.at("9am", tz="Nowhere/City"), "Unknown time zone"),
    ],
)
def test_invalid_forms_fail_with_a_message(build: Any, message: str) -> None:
    with pytest.raises(CronError, match=message):
        build()


def test_unknown_attributes() -> None:
    with pytest.raises(AttributeError, match="use day, weekday"):
        every.fortnight  # noqa: B018
    with pytest.raises(AttributeError, match="at9am"):
        every.Monday.morning  # noqa: B018


def test_time_of_day() -> None:
    assert parse_time_of_day("9:30 PM") == (21, 30)
    assert parse_time_of_day("0:15") == (0, 15)


def test_unbound_forms_mark_methods_and_bound_forms_register() -> None:
    @every.day.at("9am", tz="Europe/Oslo")
    @every.hour
    def report() -> None: ...

    assert [(s.cron, s.tz) for s in getattr(report, SCHEDULES_MARK)] == [
        ("0 * * * *", None),
        ("0 9 * * *", "Europe/Oslo"),
    ]

    registered: list[tuple[str, Any]] = []
    bound = Every(lambda spec, handler: registered.append((spec.cron, handler)) or "id")
    assert bound.Monday.at9am("report") == "id"
    assert registered == [("0 9 * * 1", "report")]


def test_on_marks_and_registers() -> None:
    @on.Customer.created
    @on["*"]["*"]
    def handler(event: Any) -> None: ...

    assert getattr(handler, HANDLERS_MARK) == ("*.*", "Customer.created")
    seen: list[str] = []
    bound = On(lambda pattern, fn: (seen.append(pattern), lambda: None)[1])
    bound.Order["*"](print)
    bound["*"].shipped(print)
    assert seen == ["Order.*", "*.shipped"]
    from dotdo import BadRequest

    with pytest.raises(BadRequest):
        on.customer.created  # noqa: B018 - lower-case noun
    with pytest.raises(BadRequest):
        on.Customer["Created"]


def test_workflow_mark_and_retry_policy() -> None:
    @workflow
    async def flow(self: Any, value: Any) -> None: ...

    assert getattr(flow, WORKFLOW_MARK) is True
    policy = RetryPolicy.of({"limit": 3, "delay": 2, "backoff": 3})
    assert [policy.wait_ms(n) for n in (1, 2, 3)] == [2000, 6000, 18000]
    with pytest.raises(ValueError, match="limit"):
        RetryPolicy.of({"limit": 99})
    with pytest.raises(ValueError, match="backoff"):
        RetryPolicy.of({"backoff": 0.5})


def test_event_types_and_patterns() -> None:
    from dotdo import BadRequest
    from dotdo.semantic.eventtypes import pattern_matches, validate_event_type, validate_pattern

    assert validate_event_type("Customer.signedUp") == "Customer.signedUp"
    for bad in ["customer.created", "Customer", "Customer.", "Customer.*", "A.b.c", "Customer.Created", 5]:
        with pytest.raises(BadRequest):
            validate_event_type(bad)
    assert validate_pattern("*") == "*.*"
    assert pattern_matches("*.created", "Order.created") and not pattern_matches("*.created", "Order.updated")
    assert pattern_matches("Order.*", "Order.shipped") and not pattern_matches("Order.*", "Orders.shipped")
    with pytest.raises(BadRequest):
        validate_pattern("Cust*.created")
