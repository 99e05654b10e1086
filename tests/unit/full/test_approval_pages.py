"""Approvals page by cursor, as every other list does (`approvals_page`, `GET
/approvals?status=&limit=&cursor=`): a walk answers every approval once, oldest request
first, past `limit` and past a page cut by its bytes, and the overdue rule (a pending
approval whose time ran out is listed as expired) holds across pages while time passes and
the timer times approvals out between them. Before, `approvals(status, limit)` answered
the first `limit` approvals, however many megabytes, and nothing reached the rest."""

from __future__ import annotations

from typing import Any

import pytest

from dotdo.core.page_bytes import MAX_PAGE_BYTES
from dotdo.errors import BadRequest
from tests.inprocess import run
from tests.unit.full.test_hitl import Desk, Refunds
from tests.unit.semantic.test_page_bytes import BIG, COUNT, _check, _walk


def walk(obj: Desk, status: str | None, limit: int, between: Any = None) -> list[list[tuple[str, str]]]:
    """Every page of `status` as `(run_id, status)` pairs, calling `between(n)` after the
    n-th page is read."""
    pages: list[list[tuple[str, str]]] = []
    cursor = None
    while not pages or cursor is not None:
        page = obj.hitl.approvals_page(status, limit, cursor)
        pages.append([(a["run_id"], a["status"]) for a in page["items"]])
        cursor = page["cursor"]
        assert page["has_more"] is (cursor is not None)
        if between is not None:
            between(len(pages))
    return pages


def test_a_walk_of_approval_pages_answers_every_approval_once_cut_by_bytes() -> None:
    obj = Desk(Refunds)
    runs = [f"r{n:02d}" for n in range(COUNT)]
    for run_id in runs:
        obj.clock.advance(1)
        run(obj.runs.start("refund", {"pad": "v" * BIG}, run_id))
    for status in (None, "pending"):

        def read(cursor: str | None, status: str | None = status) -> dict[str, Any]:
            page = obj.hitl.approvals_page(status, 1000, cursor)
            return {**page, "items": [{"id": a["run_id"]} for a in page["items"]]}

        _check(_walk(read), runs)
    assert [a["run_id"] for a in obj.hitl.approvals(None, 1000)] == runs[: MAX_PAGE_BYTES // BIG]
    assert obj.hitl.approvals_page("approved", 1000) == {"items": [], "has_more": False, "cursor": None}


def test_approvals_requested_in_one_millisecond_page_by_id() -> None:
    obj = Desk(Refunds)
    runs = [f"r{n}" for n in range(5)]
    for run_id in runs:  # the clock stands still: one requested_at, ordered by id
        run(obj.runs.start("refund", {"amount": 1}, run_id))
    assert walk(obj, None, 2) == [
        [("r0", "pending"), ("r1", "pending")],
        [("r2", "pending"), ("r3", "pending")],
        [("r4", "pending")],
    ]
    first = obj.hitl.approvals_page(None, 2)
    upper = first["cursor"].upper()  # the id folds as every id does
    assert obj.hitl.approvals_page(None, 2, upper) == obj.hitl.approvals_page(None, 2, first["cursor"])


def desk() -> Desk:
    """Six approvals, a millisecond apart: r0 and r2 run out after 10 s, r4 after 30 s
    (then it escalates to `boss`), the others never."""
    obj = Desk(Refunds)
    for n, timeout in enumerate([10, None, 10, None, 30, None]):
        obj.clock.advance(1)
        request: dict[str, Any] = {"amount": n, "timeout": timeout}
        if n == 4:
            request["escalate_to"] = ["boss"]
        run(obj.runs.start("refund", request, f"r{n}"))
    return obj


def test_an_approval_that_runs_out_between_pages_is_neither_skipped_nor_repeated() -> None:
    """Each page answers what every approval is when it is read, by a place that never
    moves (`requested_at`, then id): one that runs out after its page was read is not
    listed again; one further on is listed at its place as expired, under `status=expired`
    and never as pending; an escalation's successor is requested later, so it comes last."""
    obj = desk()

    def run_out(n: int) -> None:  # r0 and r2 run out after the first page; no timer runs
        if n == 1:
            obj.clock.advance(10_000)

    assert walk(obj, None, 2, run_out) == [
        [("r0", "pending"), ("r1", "pending")],
        [("r2", "expired"), ("r3", "pending")],
        [("r4", "pending"), ("r5", "pending")],
    ]
    obj = desk()
    assert walk(obj, "pending", 2, run_out) == [
        [("r0", "pending"), ("r1", "pending")],  # r0 runs out after this page: not again
        [("r3", "pending"), ("r4", "pending")],  # r2 ran out: expired, not pending
        [("r5", "pending")],
    ]
    obj = desk()
    obj.clock.advance(10_000)  # r0 and r2 ran out; the timer has not run

    def timed_out(n: int) -> None:  # the alarm times r0 and r2 out, and r4, which escalates
        if n == 1:
            run(obj.tick(30_000))

    assert walk(obj, "expired", 1, timed_out) == [
        [("r0", "expired")],
        [("r2", "expired")],
        [("r4", "expired")],
    ]
    assert walk(obj, "pending", 2) == [
        [("r1", "pending"), ("r3", "pending")],
        [("r5", "pending"), ("r4", "pending")],  # r4's successor, requested when r4 timed out
    ]


def test_a_cursor_no_page_answered_is_refused() -> None:
    obj = Desk(Refunds)
    run(obj.runs.start("refund", {"amount": 1}, "r0"))
    run(obj.runs.start("refund", {"amount": 2}, "r1"))
    approval_id = obj.hitl.approvals()[0]["id"]
    for bad in ("nope", approval_id, f"x.{approval_id}", f"-1.{approval_id}", f"1.{approval_id}x", "1.", 7):
        with pytest.raises(BadRequest) as refused:
            obj.hitl.approvals_page(None, 10, bad)  # type: ignore[arg-type]
        assert refused.value.code == "invalid_cursor"
    with pytest.raises(BadRequest) as refused:
        obj.hitl.approvals_page("pending", 0)
    assert refused.value.code == "invalid_limit"
    with pytest.raises(BadRequest) as refused:
        obj.hitl.approvals_page("late", 10)
    assert refused.value.code == "invalid_status"
    assert obj.hitl.approvals(None, 1) == obj.hitl.approvals_page(None, 1)["items"]  # the first page
