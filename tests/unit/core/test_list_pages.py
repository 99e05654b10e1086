"""Every list read through `Sql.page` is one statement a page while its rows are within
their share of the page's bytes, and answers what it answered when it measured its rows
in one statement and read them in a second: the state list, events (the direct log and
DOStorage's segments), the audit log, workflow runs, dead letters, delayed sends (the page
and the alarm's pass), approvals (the page and the timer's pass) and `read_many`. Each
component's statements run on SQLite behind the SQL facade; the old reading is
`Sql.page` replaced by `two_statements`."""

from __future__ import annotations

import itertools
import json
import random
from collections.abc import Callable
from typing import Any

import pytest

from dotdo.core.migrations import Component, migrate
from dotdo.core.sql import Sql
from dotdo.core.state import STATE_MIGRATIONS, StateStore
from dotdo.full.hitl_store import HITL_TABLES, HitlStore
from dotdo.semantic.graph import GRAPH_TABLES, Actions, EventLog, Relationships
from dotdo.semantic.registry import REGISTRY_TABLES, Verbs
from dotdo.semantic.store import THING_TABLES, SqliteThingStore, ThingRecord
from dotdo.workflows.bus_store import DeliveryStore, SendStore
from dotdo.workflows.run_store import RunStore
from dotdo.workflows.tables import WORKFLOW_MIGRATIONS
from tests.inprocess import T0
from tests.storage import Clock, Storage
from tests.unit.core.test_page_rows import two_statements
from tests.unit.storage.test_tiers import Node

Read = Callable[[Any, int], tuple[Any, Any]]
"""A page after a place (None: the first) of at most a limit: the answer and the next place
(None: the last page)."""

LARGER = 100_000
"""Bytes past a page's share at limit 100 (4 MiB over 101 rows: 41,527), well within a page."""


def _sql(*components: Component) -> tuple[Storage, Sql]:
    storage = Storage()
    sql = Sql(storage)
    migrate(sql, list(components), 1)
    return storage, sql


def _next(rows: list[dict[str, Any]], cut: bool, limit: int, place: Callable[[dict[str, Any]], Any]) -> Any:
    """The place after a store's page of `rows` (None: nothing follows)."""
    return place(rows[-1]) if rows and (cut or len(rows) == limit) else None


def state_list(sizes: list[int]) -> tuple[Storage, Read]:
    storage, sql = _sql(Component("core", STATE_MIGRATIONS))
    state = StateStore(sql)
    for n, size in enumerate(sizes):
        state.set(f"k{n:02d}", "v" * size)

    def read(after: Any, limit: int) -> tuple[Any, Any]:
        page = state.list(limit=limit, cursor=after)
        return page.to_dict(), page.cursor

    return storage, read


def _events(tiered: bool) -> Callable[[list[int]], tuple[Storage, Read]]:
    def events(sizes: list[int]) -> tuple[Storage, Read]:
        node = Node(Storage(), Clock(T0), tiered=tiered)
        for n, size in enumerate(sizes):
            node.events.record("Order.placed", f"o{n}", {"pad": "v" * size})
            if tiered and n == len(sizes) // 2:
                node.tiers.flush()  # the first half in segments, the rest pending

        def read(after: Any, limit: int) -> tuple[Any, Any]:
            page = node.events.list(pattern="Order.*", cursor=after, limit=limit)
            return page, page["cursor"]

        return node.storage, read

    return events


def audit_log(sizes: list[int]) -> tuple[Storage, Read]:
    storage, sql = _sql(REGISTRY_TABLES, GRAPH_TABLES)
    ids = iter(f"01j{n:023d}" for n in range(1, 10_000))
    relationships = Relationships(sql, lambda: 1)
    actions = Actions(
        sql, Verbs(sql, lambda: 1), lambda *e: next(ids), relationships, lambda: 1, lambda: next(ids)
    )
    for n, size in enumerate(sizes):
        actions.record(f"Task/t{n}", "start", None, {"pad": "v" * size})

    def read(after: Any, limit: int) -> tuple[Any, Any]:
        page = actions.page(None, limit, after)
        return page, page["cursor"]

    return storage, read


def workflow_runs(sizes: list[int]) -> tuple[Storage, Read]:
    storage, sql = _sql(Component("workflow", WORKFLOW_MIGRATIONS))
    runs = RunStore(sql)
    for n, size in enumerate(sizes):
        runs.create(f"r{n:02d}", "refund", "{}", T0, T0)
        runs.finish(f"r{n:02d}", "failed", T0 + n, error="e" * size)

    def read(after: Any, limit: int) -> tuple[Any, Any]:
        rows, cut = runs.page(None, None, after, limit)
        return (rows, cut), _next(rows, cut, limit, lambda row: row["id"])

    return storage, read


def dead_letters(sizes: list[int]) -> tuple[Storage, Read]:
    storage, sql = _sql(GRAPH_TABLES, Component("workflow", WORKFLOW_MIGRATIONS))
    ids = (f"{n:026d}" for n in itertools.count())
    log = EventLog(sql, Clock(T0), lambda: next(ids))
    letters = DeliveryStore(sql)
    for n, size in enumerate(sizes):
        event = log.record("Order.placed", f"o{n}", {"n": n})
        letters.add(f"d{n:02d}", event, "refuse", 3, None, "x" * size, T0 + n)

    def read(after: Any, limit: int) -> tuple[Any, Any]:
        rows, cut = letters.dead(after, limit)
        return (rows, cut), _next(rows, cut, limit, lambda row: row["id"])

    return storage, read


def delayed_sends(sizes: list[int]) -> tuple[Storage, Read]:
    storage, sql = _sql(Component("workflow", WORKFLOW_MIGRATIONS))
    sends = SendStore(sql)
    for n, size in enumerate(sizes):
        sends.add(f"s{n:02d}", "Order.placed", json.dumps({"pad": "v" * size}), f"o{n}", None, T0 + n % 3)

    def read(after: Any, limit: int) -> tuple[Any, Any]:
        rows, cut = sends.page(after, limit)
        due = sends.due(T0 + 1, limit) if after is None else None  # the alarm's pass
        return (rows, cut, due), _next(rows, cut, limit, lambda row: (row["due_at"], row["id"]))

    return storage, read


def approvals(sizes: list[int]) -> tuple[Storage, Read]:
    storage, sql = _sql(HITL_TABLES)
    hitl = HitlStore(sql)
    for n, size in enumerate(sizes):
        timeout = 10 if n % 2 else None
        hitl.add_approval(
            f"a{n:02d}", "refund", "p" * size, None, None, timeout, f"r{n}", f"s{n}", T0 + n % 4
        )

    def read(after: Any, limit: int) -> tuple[Any, Any]:
        rows, cut = hitl.approvals(None, after, limit, T0)
        due = hitl.due_approvals(T0 + 100, limit) if after is None else None  # the timer's pass
        return (rows, cut, due), _next(rows, cut, limit, lambda row: (row["requested_at"], row["id"]))

    return storage, read


LISTS: dict[str, tuple[Callable[[list[int]], tuple[Storage, Read]], int]] = {
    "state": (state_list, 0),
    "events": (_events(tiered=False), 0),
    "events on segments": (_events(tiered=True), 0),
    "audit log": (audit_log, 0),
    "workflow runs": (workflow_runs, 0),
    "dead letters": (dead_letters, 1),  # and whether `events` is a table
    "delayed sends": (delayed_sends, 0),
    "approvals": (approvals, 0),
}
"""Each list, and the statements a page of it runs beside its rows'."""


def _statements(storage: Storage, read: Read, after: Any, limit: int) -> tuple[Any, int]:
    before = len(storage.sql.statements)
    answer = read(after, limit)
    return answer, len(storage.sql.statements) - before


@pytest.mark.parametrize("name", LISTS)
def test_a_page_of_rows_within_their_share_is_one_statement(name: str) -> None:
    make, others = LISTS[name]
    passes = 1 if name in ("delayed sends", "approvals") else 0  # their alarm pass, a page too
    storage, read = make([10] * 3 + [LARGER] + [10] * 3)
    (answer, _), statements = _statements(storage, read, None, 2)
    assert statements == others + 1 + passes, answer  # its sizes and rows together
    (answer, _), statements = _statements(storage, read, None, 100)
    assert statements == others + 2 + 2 * passes, answer  # the larger row, by key


@pytest.mark.parametrize("name", LISTS)
def test_every_page_answers_what_two_statements_answered(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    make, _ = LISTS[name]
    rng = random.Random(name)
    for _ in range(16):
        sizes = rng.choices(
            [0, 10, 3_000, 30_000, 300_000, 1_000_000], [1, 4, 2, 2, 2, 4], k=rng.randint(1, 20)
        )
        limit = rng.choice([1, 3, 10, 100, 1000, 1000])
        pages: dict[bool, list[Any]] = {}
        statements: dict[bool, int] = {}
        for old in (True, False):
            with monkeypatch.context() as patch:
                if old:
                    patch.setattr(Sql, "page", two_statements)
                storage, read = make(sizes)
                pages[old], statements[old], after = [], 0, None
                while True:
                    (answer, after), count = _statements(storage, read, after, limit)
                    pages[old].append(answer)
                    statements[old] += count
                    if after is None:
                        break
        assert pages[False] == pages[True], (sizes, limit)
        assert statements[False] <= statements[True], (sizes, limit)


def test_read_many_is_one_statement_while_the_things_are_within_their_share(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ids = [f"i{n:02d}" for n in range(45)]  # the last one is not there
    answers: dict[bool, list[Any]] = {}
    for old in (True, False):
        storage, sql = _sql(THING_TABLES)
        store = SqliteThingStore(sql)
        for n, size in enumerate([10] * 40 + [200_000] + [2_000_000] * 3):
            store.insert(ThingRecord(ids[n], "Item", json.dumps({"pad": "v" * size}), 1, 1, None, 1))
        answers[old] = []
        with monkeypatch.context() as patch:
            if old:
                patch.setattr(Sql, "page", two_statements)
            for wanted in (ids[:40], ids[:41], ids):
                before = len(storage.sql.statements)
                answers[old].append((store.read_many(wanted), len(storage.sql.statements) - before))
    assert [found for found, _ in answers[False]] == [found for found, _ in answers[True]]
    # 41 things: the one of 200 KB is past its share (4 MiB over 41), read by key; all 44: the
    # third of 2 MB is cut from the first page, whose large ones are read by key, and the
    # second page reads two of them by key too
    assert [count for _, count in answers[False]] == [1, 2, 4]
    found = answers[False][2][0]
    assert found["i44"] is None and len(found["i43"].data) > 2_000_000
