"""Application code that fails in odd ways, in-process: a handler, a schedule's method, a
step's action or a workflow that raises `SystemExit`, `KeyboardInterrupt` or
`GeneratorExit`, an error whose `__str__` raises, one whose message holds a lone surrogate
or runs to megabytes, and results past what a run's row holds. Each is that code's failure,
recorded as storable text (retried, a dead letter, a failed step or run), never a timer pass
that raises, a run left `running` or a delivery that is never counted. The storage holds
Cloudflare's 2 MB string limit, and CPython's sqlite3 refuses a lone surrogate as the
runtime's conversion mangles it."""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dotdo.core.state import MAX_VALUE_BYTES
from dotdo.semantic.eventtypes import Event
from dotdo.workflows.every import every
from dotdo.workflows.failures import ERROR_TEXT_CHARS, AppRaised, error_text, storable_text
from dotdo.workflows.handlers import on
from dotdo.workflows.steps import workflow
from tests.inprocess import App, InProcess, run

SQLITE_STRING_LIMIT = 2_000_000  # Cloudflare's cap on a string or BLOB


class Unprintable(Exception):
    def __str__(self) -> str:
        raise ValueError("no text for this error")


def odd(kind: str) -> BaseException:
    """A fresh exception of the odd kind `kind`."""
    return {
        "unprintable": lambda: Unprintable(),
        "surrogate": lambda: RuntimeError("bad \ud800 text"),
        "huge": lambda: RuntimeError("x" * (SQLITE_STRING_LIMIT + 1)),
        "exit": lambda: SystemExit(3),
        "keyboard": lambda: KeyboardInterrupt(),
        "generator_exit": lambda: GeneratorExit(),
    }[kind]()


KINDS = ["unprintable", "surrogate", "huge", "exit", "keyboard", "generator_exit"]


def held_to_cloudflare(obj: InProcess) -> InProcess:
    obj.storage.sql.db.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, SQLITE_STRING_LIMIT)
    return obj


def assert_storable(text: object) -> None:
    assert isinstance(text, str) and 0 < len(text) <= ERROR_TEXT_CHARS
    text.encode()  # no lone surrogate


class Odds(App):
    @on.Odd.raised
    async def first_raises(self, event: Event) -> None:
        self.log.append(("raises", event.data["kind"]))
        raise odd(event.data["kind"])

    @on.Odd.raised
    def then_notes(self, event: Event) -> None:
        self.log.append(("after", event.data["kind"]))

    async def scheduled(self) -> None:
        self.log.append(("scheduled",))
        raise odd(self.obj.journal[0])

    async def step(self, kind: str) -> Any:
        self.log.append(("step", kind))
        if kind == "huge_result":
            return "y" * (MAX_VALUE_BYTES + 1)
        if kind != "none":
            raise odd(kind)
        return None

    @workflow
    async def flow(self, spec: dict[str, Any]) -> Any:
        await self.obj.runs.do(self.step, spec["step"], retries={"limit": spec.get("limit", 0), "delay": 1})
        if spec.get("raise"):
            raise odd(spec["raise"])
        if spec.get("huge_result"):
            return "z" * (MAX_VALUE_BYTES + 1)
        return "done"


@pytest.mark.parametrize("kind", KINDS)
def test_a_handler_that_fails_oddly_gets_a_delivery_row_and_the_next_handler_runs(kind: str) -> None:
    obj = held_to_cloudflare(InProcess(Odds))  # retry_limit 3, retry_delay_ms 1000
    run(obj.bus.send("Odd.raised", {"kind": kind}))
    assert obj.journal == [("raises", kind), ("after", kind)]
    (row,) = obj.rows("SELECT attempts, last_error FROM dotdo_deliveries")
    assert row["attempts"] == 1
    assert_storable(row["last_error"])
    run(obj.tick(1_000))
    run(obj.tick(2_000))  # the timer passes do not raise: the retries are counted
    (dead,) = obj.bus.dead_letters()
    assert dead["attempts"] == 3 and dead["handler"] == "first_raises"
    assert_storable(dead["last_error"])


def test_a_handlers_error_text_names_what_it_raised() -> None:
    obj = held_to_cloudflare(InProcess(Odds))
    for kind in ("exit", "unprintable", "surrogate", "huge"):
        run(obj.bus.send("Odd.raised", {"kind": kind}))
    texts = [row["last_error"] for row in obj.rows("SELECT last_error FROM dotdo_deliveries ORDER BY id")]
    assert texts[0] == "SystemExit: 3"
    assert texts[1] == "Unprintable"  # its __str__ raised: named by its type
    assert texts[2] == "RuntimeError: bad \ufffd text"
    assert texts[3].startswith("RuntimeError: xxx") and texts[3].endswith("more characters)")


@pytest.mark.parametrize("kind", KINDS)
def test_a_schedule_that_fails_oddly_keeps_its_error_and_the_pass_goes_on(kind: str) -> None:
    obj = held_to_cloudflare(InProcess(Odds))
    obj.journal.append(kind)
    obj.scheduler.add(every(30).minutes, "scheduled")
    done = run(obj.tick(1_800_000))
    assert done["schedules"] == 1
    (schedule,) = obj.scheduler.list()
    assert_storable(schedule["last_error"])
    assert schedule["firing_attempts"] == 1


@pytest.mark.parametrize("kind", KINDS)
def test_a_step_that_fails_oddly_fails_its_run_with_storable_text(kind: str) -> None:
    obj = held_to_cloudflare(InProcess(Odds))
    failed = run(obj.runs.start("flow", {"step": kind}, "r-1"))
    assert failed["status"] == "failed"
    assert_storable(failed["error"])
    retried = run(obj.runs.start("flow", {"step": kind, "limit": 1}, "r-2"))
    assert retried["status"] == "waiting"  # its failure counted, a retry due
    run(obj.tick(1_000))
    assert obj.runs.status("r-2")["status"] == "failed"
    assert obj.storage.alarm is None  # nothing left running


@pytest.mark.parametrize("kind", KINDS)
def test_a_workflow_that_fails_oddly_fails_its_run(kind: str) -> None:
    obj = held_to_cloudflare(InProcess(Odds))
    failed = run(obj.runs.start("flow", {"step": "none", "raise": kind}, "r-1"))
    assert failed["status"] == "failed"
    assert_storable(failed["error"])
    assert obj.storage.alarm is None


def test_results_past_the_value_bound_fail_the_step_or_the_run() -> None:
    obj = held_to_cloudflare(InProcess(Odds))
    step = run(obj.runs.start("flow", {"step": "huge_result"}, "r-1"))
    assert step["status"] == "failed" and "value_too_large" not in step["error"]
    assert f"is at most {MAX_VALUE_BYTES} bytes as JSON" in step["error"]
    whole = run(obj.runs.start("flow", {"step": "none", "huge_result": True}, "r-2"))
    assert whole["status"] == "failed" and f"is at most {MAX_VALUE_BYTES} bytes" in whole["error"]
    assert obj.storage.alarm is None


@given(st.text(), st.integers(min_value=64, max_value=10_000))
def test_storable_text_is_utf8_and_within_its_limit(text: str, limit: int) -> None:
    stored = storable_text(text, limit)
    stored.encode()
    assert len(stored) <= limit
    if len(text) <= limit and "\ud800" not in text:
        assert stored == text or any("\ud800" <= c <= "\udfff" for c in text)


def test_error_text_names_the_original_of_a_contained_exception() -> None:
    assert error_text(AppRaised(KeyboardInterrupt())) == "KeyboardInterrupt"
    assert error_text(RuntimeError("")) == "RuntimeError"
    assert error_text(ValueError("\udfff")) == "ValueError: \ufffd"
