"""One page of a thing list, from the store: wholly in SQL, or with the part of the where
clause SQLite cannot run checked in Python on the candidates; with its `total` and
`has_more`. `Things.list` adds the page's `cursor` (`keyset`)."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dotdo.semantic.query import ThingQuery
    from dotdo.semantic.store import ThingRecord, ThingStore

__all__ = ["residual_page", "sql_page"]


def _uncursored(query: ThingQuery) -> ThingQuery:
    """`query` from the start: what a `total` counts, before a cursor as after it."""
    return query if query.cursor is None else dataclasses.replace(query, cursor=None)


def sql_page(
    store: ThingStore, type_name: str, query: ThingQuery
) -> tuple[list[ThingRecord], int | None, bool]:
    """A residual-free query's page: its records, `total` (None: not counted), `has_more`
    (one record more is read). A first page that reaches the end is its own count; a page
    after a cursor does not know what came before it, so it counts only `with_total`."""
    probe = dataclasses.replace(query, limit=query.limit + 1)
    records = store.page(type_name, probe)
    has_more = len(records) > query.limit
    page = records[: query.limit]
    total: int | None = None
    if not has_more and query.cursor is None and (query.offset == 0 or page):
        total = query.offset + len(page)  # the page reaches the end: no need to count
    elif query.with_total:
        total = store.count(type_name, _uncursored(query))
    return page, total, has_more


def residual_page(
    store: ThingStore, type_name: str, query: ThingQuery
) -> tuple[list[dict[str, Any]], list[ThingRecord], int | None, bool]:
    """A page of a query with a residual: its things (projected), its last record (a list of
    at most one, for the cursor), `total`, `has_more`. The candidates are walked in order
    and checked in Python; the walk goes on past the page only to count from the start."""
    items: list[dict[str, Any]] = []
    last: list[ThingRecord] = []
    matched = 0
    end = query.offset + query.limit
    counting = query.with_total and query.cursor is None
    for record in store.scan(type_name, query):
        thing = record.wire()
        if not query.where.accepts(thing):
            continue
        if query.offset <= matched < end:
            items.append(query.project(thing))
            last = [record]
        matched += 1
        if not counting and matched > end:
            break
    has_more = matched > end
    total = matched if counting or (not has_more and query.cursor is None) else None
    if total is None and query.with_total:  # after a cursor: what came before counts too
        everything = _uncursored(query)
        total = sum(
            1 for record in store.scan(type_name, everything) if everything.where.accepts(record.wire())
        )
    return items, last, total, has_more
