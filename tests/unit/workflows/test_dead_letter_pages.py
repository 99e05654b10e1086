"""Dead letters page by id, as every other list does (`dead_letters_page`, `GET
/events/dead?limit=&cursor=`): a walk answers every letter once, in order, past `limit`
and past a page cut by its bytes. Before, `dead_letters(limit)` answered the first
`limit` letters and nothing could reach the rest. The event's type comes with each
letter, read for the letters a page reads: joined to DOStorage's `events` VIEW, the
statement copied every event of every segment before its first letter."""

from __future__ import annotations

from typing import Any

import pytest

from dotdo.core.page_bytes import MAX_PAGE_BYTES
from dotdo.errors import BadRequest
from dotdo.semantic.eventtypes import Event
from dotdo.semantic.ids import new_id
from dotdo.storage.segments import events_into_segments
from dotdo.workflows.bus import DeliveryPolicy
from dotdo.workflows.bus_store import DeliveryStore
from dotdo.workflows.handlers import on
from tests.inprocess import T0, App, InProcess, run
from tests.unit.semantic.test_page_bytes import BIG, COUNT, _check, _walk


class Failing(App):
    @on.Order.placed
    async def refuse(self, event: Event) -> None:
        raise RuntimeError(f"order {event.data['n']} refused")


def dead_ends() -> InProcess:
    """An object whose every delivery is a dead letter at its first failure."""
    return InProcess(Failing, policy=DeliveryPolicy(retry_limit=1, retry_delay_ms=1000, handler_timeout=2.0))


def test_a_walk_of_dead_letter_pages_answers_every_letter_once_in_order() -> None:
    obj = dead_ends()
    events = [run(obj.bus.send("Order.placed", {"n": n})) for n in range(7)]
    letters = obj.rows("SELECT id FROM dotdo_deliveries WHERE status = 'dead' ORDER BY id")
    assert len(letters) == 7
    pages: list[list[dict[str, Any]]] = []
    cursor = None
    while not pages or cursor is not None:
        page = obj.bus.dead_letters_page(3, cursor)
        pages.append(page["items"])
        cursor = page["cursor"]
        assert page["has_more"] is (cursor is not None)
    assert [[d["id"] for d in p] for p in pages] == [[r["id"] for r in letters[i : i + 3]] for i in (0, 3, 6)]
    walked = [d for p in pages for d in p]
    assert [(d["event_id"], d["type"], d["handler"], d["attempts"]) for d in walked] == [
        (event_id, "Order.placed", "refuse", 1) for event_id in events
    ]
    assert [d["last_error"] for d in walked][-1] == "RuntimeError: order 6 refused"
    assert obj.bus.dead_letters(3) == obj.bus.dead_letters_page(3)["items"]  # the first page, a list
    assert obj.bus.dead_letters_page(3, letters[3]["id"].upper())["items"][0]["id"] == letters[4]["id"]
    for bad in ("nope", "1.01jb", 7, "", letters[0]["id"] + "x"):
        with pytest.raises(BadRequest) as refused:
            obj.bus.dead_letters_page(3, bad)  # type: ignore[arg-type]
        assert refused.value.code == "invalid_cursor"
    for limit in (0, 1001, True):
        with pytest.raises(BadRequest) as refused:
            obj.bus.dead_letters_page(limit)
        assert refused.value.code == "invalid_limit"


def test_dead_letter_pages_are_cut_by_their_bytes() -> None:
    """Letters written with megabyte errors (before an error's text had its cap): each page
    stops before the one that would take it past 4 MiB and the walk goes on from there."""
    obj = dead_ends()
    event_id = run(obj.bus.send("Order.shipped"))  # no handler: no letter of its own
    store = DeliveryStore(obj.sql, obj.find_event)
    made = [new_id() for _ in range(COUNT)]
    for delivery_id in made:
        store.add(delivery_id, event_id, "refuse", 3, None, "e" * BIG, T0)
    _check(_walk(lambda cursor: obj.bus.dead_letters_page(1000, cursor)), made)
    assert len(obj.bus.dead_letters(1000)) == MAX_PAGE_BYTES // BIG


def test_a_dead_letter_page_reads_no_event_segment() -> None:
    """On DOStorage `events` is a VIEW over the event segments: a page of dead letters reads
    the dead deliveries only, and each letter's type from the event log (`find_event`)."""
    obj = dead_ends()
    ids = [run(obj.bus.send("Order.placed", {"n": n, "pad": "p" * 1000})) for n in range(5)]
    events_into_segments(obj.sql)  # what DOStorage's migration does: `events` is the VIEW now
    assert obj.rows("SELECT type FROM sqlite_master WHERE name = 'events'") == [{"type": "view"}]
    found: list[str] = []

    def find_event(event_id: str) -> Event | None:
        found.append(event_id)
        return Event(event_id, "Order.placed", {}, T0, None, None)

    read: list[Any] = []

    def authorizer(action: int, table: Any, column: Any, database: Any, source: Any) -> int:
        read.append(table)
        return 0  # SQLITE_OK

    obj.storage.sql.db.set_authorizer(authorizer)
    try:
        letters, cut = DeliveryStore(obj.sql, find_event).dead(None, 10)
    finally:
        obj.storage.sql.db.set_authorizer(None)
    assert [letter["event_id"] for letter in letters] == ids and not cut
    assert {letter["type"] for letter in letters} == {"Order.placed"} and found == ids
    assert "dotdo_event_segments" not in read and "dotdo_deliveries" in read
