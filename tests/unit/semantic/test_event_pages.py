"""Event pages: a cursor is the id a previous page ended on; anything else is refused,
never answered with an empty (or a wrong) page."""

from __future__ import annotations

import pytest

from dotdo.core.migrations import migrate
from dotdo.core.sql import Sql
from dotdo.errors import BadRequest
from dotdo.semantic.graph import EventLog
from dotdo.semantic.graph_tables import GRAPH_TABLES
from dotdo.semantic.ids import IdGenerator, canonical_id
from tests.storage import Storage


def event_log() -> EventLog:
    sql = Sql(Storage())
    migrate(sql, [GRAPH_TABLES], 1)
    ids = IdGenerator()
    return EventLog(sql, lambda: 1_700_000_000_000, lambda: ids(1_700_000_000_000))


def test_pages_follow_their_cursors() -> None:
    log = event_log()
    made = [log.record("Customer.created", f"c{n}", {"n": n}) for n in range(5)]
    first = log.list(limit=2)
    assert [e["id"] for e in first["items"]] == made[:2] and canonical_id(first["cursor"]) == first["cursor"]
    second = log.list(cursor=first["cursor"], limit=2)
    assert [e["id"] for e in second["items"]] == made[2:4]


def test_a_page_says_whether_more_follow_and_the_last_full_page_has_no_cursor() -> None:
    """`GET /events` had no `has_more` where the action and edge pages do, and a last page
    that happened to be full still gave a cursor to an empty page."""
    log = event_log()
    made = [log.record("Customer.created", f"c{n}", {"n": n}) for n in range(4)]
    first = log.list(limit=2)
    assert first["has_more"] is True and first["cursor"] == made[1]
    last = log.list(cursor=first["cursor"], limit=2)
    assert [e["id"] for e in last["items"]] == made[2:]
    assert last["has_more"] is False and last["cursor"] is None
    whole = log.list(limit=4)  # full, and the last
    assert len(whole["items"]) == 4 and whole["has_more"] is False and whole["cursor"] is None


def test_a_cursor_in_upper_case_gives_the_same_next_page() -> None:
    """Crockford base32 is case-insensitive on input (the ULID spec): `01J...` is the id
    `01j...`, so its page is the same, not a 400."""
    log = event_log()
    made = [log.record("Customer.created", f"c{n}", {"n": n}) for n in range(5)]
    first = log.list(limit=2)
    second = log.list(cursor=first["cursor"].upper(), limit=2)
    assert [e["id"] for e in second["items"]] == made[2:4]
    assert second == log.list(cursor=first["cursor"], limit=2)


@pytest.mark.parametrize(
    "cursor",
    [
        "x",
        "zzzzzzzzzzzzzzzzzzzzzzzzzz!",
        "01ARZ3NDEKTSV4RRFFQ69G5FAU",
        "01arz3ndektsv4rrffq69g5fai",
        "0" * 25,
        " " * 26,
    ],
)
def test_a_cursor_no_page_returned_is_refused(cursor: str) -> None:
    log = event_log()
    log.record("Customer.created", "c1", {})
    with pytest.raises(BadRequest) as raised:
        log.list(cursor=cursor)
    assert raised.value.code == "invalid_cursor" and "26 Crockford base32 characters" in str(raised.value)
