"""One page of a thing list, from the store: wholly in SQL, or with the part of the where
clause SQLite cannot run checked in Python on the candidates; with its `total`,
`has_more` and `cursor` (`keyset`), as `Things.list` and `Things.list_text` answer it;
and how many things match a query (`count`: `Things.count`'s and every `total`'s one
path)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from dotdo.core.page_bytes import MAX_PAGE_BYTES, text_bytes
from dotdo.errors import QueryValidationError
from dotdo.semantic.keyset import page_cursor
from dotdo.semantic.wiretext import page_text
from dotdo.wire.codec import dumps

if TYPE_CHECKING:
    from dotdo.semantic.query import ThingQuery
    from dotdo.semantic.store import ThingRecord, ThingStore

__all__ = [
    "MAX_WALK_BYTES",
    "WALK_ROW_BYTES",
    "ListPage",
    "Walk",
    "count",
    "list_page",
    "matches",
    "residual_page",
    "sql_page",
]

MAX_WALK_BYTES = 32 * 1024 * 1024
"""What one request's residual walk may read: the candidates' properties (their JSON text's
UTF-8 bytes), each charged WALK_ROW_BYTES more. About 1 s of an object's time on the local
runtime, plus a `$regex`'s own matching (ADR 0059)."""

WALK_ROW_BYTES = 1024
"""A candidate's charge over its bytes: reading a row costs ~24 us whatever its size, what
~1 KiB of its text costs to read (bench/README.md)."""


@dataclasses.dataclass(frozen=True, slots=True)
class ListPage:
    """One page of a thing list: `query` as checked (the noun policy's); `records`, the
    page's records (with a residual, its last one only, for the cursor); `things`, the
    page's things (projected) when the residual was checked in Python, None when the
    records are the page; `total` (None: not counted), `has_more`, `cursor`."""

    query: ThingQuery
    records: list[ThingRecord]
    things: list[dict[str, Any]] | None
    total: int | None
    has_more: bool
    cursor: str | None

    def answer(self) -> dict[str, Any]:
        """`{"items": [...], "total": int | None, "has_more": bool, "cursor": str | None}`."""
        things = self.things
        if things is None:
            things = [self.query.project(record.wire()) for record in self.records]
        return {"items": things, "total": self.total, "has_more": self.has_more, "cursor": self.cursor}

    def text(self) -> str:
        """`codec.dumps(self.answer())`; a page read wholly in SQL and not projecting
        (`select`) is written from the things' stored text (`page_text`, ADR 0032)."""
        if self.things is None and self.query.select is None:
            return page_text(self.records, self.total, self.has_more, self.cursor)
        return dumps(self.answer())


def list_page(
    store: ThingStore, type_name: str, query: ThingQuery, checked: ThingQuery, mark: str | None
) -> ListPage:
    """The page `query` asks for, read by `checked` (`query` as the noun policy checked
    it); `mark` is the list's fingerprint when the query starts after a cursor
    (`keyset.checked_cursor`), for the next page's cursor."""
    things: list[dict[str, Any]] | None = None
    if checked.where.residual is None:
        records, total, has_more = sql_page(store, type_name, checked)
    else:
        things, records, total, has_more = residual_page(store, type_name, checked)
    cursor = page_cursor(type_name, mark, query, records, has_more)
    return ListPage(checked, records, things, total, has_more, cursor)


class Walk:
    """The candidates of a query with a residual, in its order, read until they pass
    MAX_WALK_BYTES (the first is always read): `stopped` then, and `last` is the last one
    read, the key a page that stops there continues after."""

    def __init__(self, store: ThingStore, type_name: str, query: ThingQuery) -> None:
        """The walk over `store.scan(type_name, query)`: nothing is read until iterated."""
        # Each candidate costs at least WALK_ROW_BYTES, so the walk stops by this many (the
        # first is free, hence the 2): the scan reads no further ids than that.
        self._records = store.scan(type_name, query, most=MAX_WALK_BYTES // WALK_ROW_BYTES + 2)
        self._spent = 0
        self.stopped = False
        self.last: ThingRecord | None = None

    def __iter__(self) -> Iterator[ThingRecord]:
        for record in self._records:
            self._spent += text_bytes(record.data) + WALK_ROW_BYTES
            if self._spent > MAX_WALK_BYTES and self.last is not None:
                self.stopped = True
                return
            self.last = record
            yield record

    def too_costly(self, what: str) -> QueryValidationError:
        """400 `query_too_costly`: `what` needs more of the walk than one request reads."""
        return QueryValidationError(
            f"{what} checks more than {MAX_WALK_BYTES // (1024 * 1024)} MiB of things in Python "
            "(a $regex, or a clause too long for one statement): add a condition SQLite runs, "
            "or page by cursor without a total",
            code="query_too_costly",
        )


def matches(store: ThingStore, type_name: str, query: ThingQuery) -> Iterator[dict[str, Any]]:
    """The things (wire form) of a query with a residual, in its order: its SQL part's
    candidates, the residual checked in Python; 400 `query_too_costly` (QueryValidationError)
    when the walk passes MAX_WALK_BYTES before it ends."""
    walk = Walk(store, type_name, query)
    for record in walk:
        thing = record.wire()
        if query.where.accepts(thing):
            yield thing
    if walk.stopped:
        raise walk.too_costly("the query")


def count(store: ThingStore, type_name: str, query: ThingQuery) -> int:
    """How many things match `query` from the start: its cursor and paging ignored, so a
    page after a cursor counts what came before it too (its `total`); 400
    `query_too_costly` when a residual's walk passes MAX_WALK_BYTES."""
    if query.cursor is not None:
        query = dataclasses.replace(query, cursor=None)
    if query.where.residual is None:
        return store.count(type_name, query)
    walk = Walk(store, type_name, query)
    counted = sum(1 for record in walk if query.where.accepts(record.wire()))
    if walk.stopped:
        raise walk.too_costly("counting the matches")
    return counted


def sql_page(
    store: ThingStore, type_name: str, query: ThingQuery
) -> tuple[list[ThingRecord], int | None, bool]:
    """A residual-free query's page: its records, `total` (None: not counted), `has_more`
    (one record more is read, or the page was cut by its bytes). A first page that reaches
    the end is its own count; a page after a cursor does not know what came before it, so it
    counts only `with_total`."""
    probe = dataclasses.replace(query, limit=query.limit + 1)
    records, cut = store.page(type_name, probe)
    has_more = cut or len(records) > query.limit
    page = records[: query.limit]
    total: int | None = None
    if not has_more and query.cursor is None and (query.offset == 0 or page):
        total = query.offset + len(page)  # the page reaches the end: no need to count
    elif query.with_total:
        total = count(store, type_name, query)
    return page, total, has_more


def residual_page(
    store: ThingStore, type_name: str, query: ThingQuery
) -> tuple[list[dict[str, Any]], list[ThingRecord], int | None, bool]:
    """A page of a query with a residual: its things (projected), the record its cursor goes
    on after (a list of at most one), `total`, `has_more`. The candidates are walked in order
    and checked in Python; the walk goes on past the page only to count from the start. The
    page ends before the thing whose properties would take it past MAX_PAGE_BYTES (as
    `Sql.page` cuts a page), `has_more` then true. A walk that passes MAX_WALK_BYTES (`Walk`)
    ends the page there too, `has_more` true and the cursor after the last candidate read,
    matched or not (the next page may hold nothing); it is a 400 `query_too_costly` when
    the answer needs the rest: a total, an `offset` not yet reached, `limit` 0."""
    items: list[dict[str, Any]] = []
    last: list[ThingRecord] = []
    matched = 0
    end = query.offset + query.limit
    counting = query.with_total and query.cursor is None
    size = 0
    walk = Walk(store, type_name, query)
    for record in walk:
        thing = record.wire()
        if not query.where.accepts(thing):
            continue
        if query.offset <= matched < end:
            size += text_bytes(record.data)
            if items and size > MAX_PAGE_BYTES:
                end = matched  # the page ends before this thing: it is the next page's first
            else:
                items.append(query.project(thing))
                last = [record]
        matched += 1
        if not counting and matched > end:
            break
    if walk.stopped:
        if query.with_total:
            raise walk.too_costly("counting the matches")
        if query.limit == 0 or matched < query.offset:
            raise walk.too_costly("reaching the page")
        assert walk.last is not None  # the walk reads its first candidate whatever it costs
        return items, [walk.last], None, True
    has_more = matched > end
    total = matched if counting or (not has_more and query.cursor is None) else None
    if total is None and query.with_total:  # after a cursor: what came before counts too
        total = count(store, type_name, query)
    return items, last, total, has_more
