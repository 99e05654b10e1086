"""`reindex` walks a searchable noun's things by the list's cursor (ADR 0048), not by
`offset`: a thing deleted while a batch was embedded shifted every later offset back, so
the walk skipped as many things, and one created earlier in the list's order shifted them
on, so it embedded one again."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

from dotdo.core.sql import Sql
from dotdo.full.ai.search import REINDEX_BATCH, Search, SqliteVectors
from dotdo.semantic.query import ThingQuery
from dotdo.semantic.store import THING_TABLES, SqliteThingStore
from dotdo.semantic.things import Things
from tests.storage import Storage
from tests.unit.full.test_ai import Clock, FakeProvider, make_ai


class NoEvents:
    def emit(
        self, event_type: str, data: object = None, subject: str | None = None, object: str | None = None
    ) -> str:
        return "event"


def _things(clock: Clock) -> Things:
    sql = Sql(Storage())
    for migration in THING_TABLES.migrations:
        for statement in migration.statements:
            sql.run(statement) if isinstance(statement, str) else statement(sql)
    return Things(SqliteThingStore(sql), NoEvents(), clock)


def test_a_reindex_embeds_each_thing_once_whatever_is_written_during_it() -> None:
    clock = Clock()
    provider = FakeProvider()
    ai, sql = make_ai(provider, clock=clock, cache_ttl=0)
    things = _things(clock)
    for index in range(2 * REINDEX_BATCH + 50):
        things.create("Customer", {"$id": f"c{index:03d}", "name": f"customer {index}"})
    pages = 0

    def live_things(type_name: str, limit: int, cursor: str | None) -> tuple[Any, str | None]:
        nonlocal pages
        page = things.list(type_name, ThingQuery.build(limit=limit, cursor=cursor, with_total=False))
        pages += 1
        if pages == 1:  # while the first batch is embedded: ten of it deleted, two things created
            for thing in page["items"][:10]:
                things.soft_delete(type_name, thing["$id"])
            things.create(type_name, {"$id": "a-first", "name": "created first in order"})
            clock.now += 1
            things.create(type_name, {"$id": "z-last", "name": "created last"})
        return page["items"], page["cursor"]

    search = Search({"Customer": ("name",)}, ai, SqliteVectors(sql, clock), lambda *_: None, live_things)
    done = asyncio.run(search.reindex("Customer"))
    embedded = Counter(text for _, texts in provider.calls for text in texts)
    originals = {f"customer {index}" for index in range(2 * REINDEX_BATCH + 50)}
    assert {text for text in embedded if text in originals} == originals  # none skipped
    assert max(embedded.values()) == 1  # none repeated
    assert embedded["created last"] == 1  # one written after the walk's position is reached
    assert done == sum(embedded.values()) and pages == 3


def test_a_reindex_of_a_noun_with_no_things_asks_for_one_page() -> None:
    clock = Clock()
    ai, sql = make_ai(FakeProvider(), clock=clock, cache_ttl=0)
    asked: list[str | None] = []

    def empty(type_name: str, limit: int, cursor: str | None) -> tuple[Any, str | None]:
        asked.append(cursor)
        return [], None

    search = Search({"Customer": ("name",)}, ai, SqliteVectors(sql, clock), lambda *_: None, empty)
    assert asyncio.run(search.reindex("Customer")) == 0 and asked == [None]
