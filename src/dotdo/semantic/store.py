"""Thing persistence behind one small interface, `ThingStore`.

The thing service and the query layer only speak this interface, so a different
persistence (DOStorage's tiers: memory, write-ahead log, SQLite checkpoint,
archive) can stand behind it without touching them.

`SqliteThingStore` keeps things in the object's `things` table, and can answer its
queries over an `Overlay` of records newer than their rows (DOStorage's unflushed
writes, ADR 0030); `dotdo.semantic.thing_cache.CachedThingStore` puts a bounded LRU of
records in front of any store.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from dotdo.core.page_bytes import MAX_PAGE_BYTES, fitting_count
from dotdo.core.page_rows import PageColumns, in_order, share
from dotdo.core.sql import Sql
from dotdo.semantic.thing_tables import THING_TABLES
from dotdo.semantic.wiretext import thing_text

if TYPE_CHECKING:  # the query model and overlays load with the first list or count (ADR 0036)
    from dotdo.semantic.overlay import Overlay, OverlaySource
    from dotdo.semantic.query import ThingQuery

__all__ = [
    "THING_COLUMNS",
    "THING_TABLES",
    "QueriesBelow",
    "Rerunnable",
    "SqliteThingStore",
    "ThingRecord",
    "ThingStore",
]

T = TypeVar("T")


@dataclass(frozen=True)
class Rerunnable(Generic[T]):
    """Work for `ThingStore.atomically` that may be run again from the start after it was
    rolled back: everything it changes above SQLite is put back by the rollback hooks
    (`Sql.on_rollback`), and it runs no code but the framework's. `name` is its kind: work
    of one name mostly runs the same statements. A store may try it without a SQL
    transaction first (DOStorage's tiers, ADR 0034); any other store just calls it."""

    name: str
    work: Callable[[], T]

    def __call__(self) -> T:
        return self.work()


THING_COLUMNS = "id, type, data, created_at, updated_at, deleted_at, version"
"""The columns of `things`, in their order."""
_COLUMNS = THING_COLUMNS
_RECORD = f"json_array({_COLUMNS}) AS record"
"""A read's row: the seven columns as one JSON array (`ThingRecord.from_json`). The runtime
converts one value a row into Python instead of seven (each a crossing under Pyodide), and
SQLite writes the integers exactly, where the runtime's numbers are exact only to 2^53."""
_BY_ID = f"SELECT id, {_RECORD} FROM things WHERE id IN (SELECT value FROM json_each(?))"
"""The records of the ids a JSON array lists, in the table's order."""
_BY_ID_COLUMNS = PageColumns(("id", "record"), key="id", by_key=_BY_ID, measured=("record",))
_DECODER = json.JSONDecoder()
_SCAN_BATCH = 256


@dataclass(frozen=True)
class ThingRecord:
    """One stored thing; `data` is the properties as JSON text, the times are epoch
    milliseconds (`deleted_at` None unless soft-deleted), `version` counts from 1."""

    id: str
    type: str
    data: str
    created_at: int
    updated_at: int
    deleted_at: int | None
    version: int

    @classmethod
    def from_json(cls, text: str) -> ThingRecord:
        """The record of a `things` row read as `_RECORD` (`[id, type, data, created_at,
        updated_at, deleted_at, version]`, `data` a JSON string holding the stored text)."""
        # `raw_decode`: `json.loads` less its checks for text around the value, which
        # SQLite's `json_array` never writes; a list page reads twenty of these.
        values, _ = _DECODER.raw_decode(text)
        thing_id, type_name, data, created_at, updated_at, deleted_at, version = values
        return cls(thing_id, type_name, data, created_at, updated_at, deleted_at, version)

    def columns(self) -> tuple[str, str, str, int, int, int | None, int]:
        """The record as `things` columns, in `_COLUMNS` order: id, type, data, created_at,
        updated_at, deleted_at, version."""
        return (
            self.id,
            self.type,
            self.data,
            self.created_at,
            self.updated_at,
            self.deleted_at,
            self.version,
        )

    def properties(self) -> dict[str, Any]:
        """The user properties, `data` parsed (a fresh dict every call)."""
        value: dict[str, Any] = json.loads(self.data)
        return value

    def wire(self) -> dict[str, Any]:
        """The ThingData form: the `$` fields, then the properties (a fresh dict every call)."""
        thing: dict[str, Any] = {
            "$id": self.id,
            "$type": self.type,
            "$created_at": self.created_at,
            "$updated_at": self.updated_at,
        }
        if self.deleted_at is not None:
            thing["$deleted_at"] = self.deleted_at
        thing["$version"] = self.version
        thing.update(self.properties())
        return thing

    def wire_text(self) -> str:
        """`wire()` as JSON text, the same as `codec.dumps(self.wire())`, written from the
        stored `data` without parsing it where that is sure to give the same text
        (`semantic.wiretext`, ADR 0032). Raises as `codec.dumps` does."""
        return thing_text(self)

    def evolve(self, **changes: Any) -> ThingRecord:
        """A copy with the fields named in `changes` replaced (TypeError for a name that is
        no field, as `dataclasses.replace` raises)."""
        # `replace` reads the class's fields on every call; every update makes one of these.
        return type(self)(**{**self.__dict__, **changes})


class ThingStore(Protocol):
    """What the thing service needs from persistence."""

    def read(self, thing_id: str) -> ThingRecord | None:
        """The record with this id, soft-deleted or not; None when there is none. A store may
        add `read_many(ids) -> {id: record or None}`, `read` of many ids in a few statements."""

    def insert(self, record: ThingRecord) -> bool:
        """Store a new record; False (nothing written) when the id is taken."""

    def write(self, record: ThingRecord, expected_version: int) -> bool:
        """Overwrite the record if its stored version is `expected_version` (and its type is
        `record.type`: a thing keeps its type); False otherwise."""

    def remove(self, thing_id: str) -> bool:
        """Delete the record for good; False when there was none."""

    def scan(self, type_name: str, query: ThingQuery, most: int | None = None) -> Iterator[ThingRecord]:
        """Records of a type that the query's SQL part accepts, in the query's order, unpaged:
        all of them, or the first `most`."""

    def page(self, type_name: str, query: ThingQuery) -> tuple[list[ThingRecord], bool]:
        """One page (limit/offset) of the records a residual-free query selects, cut where
        their rows pass MAX_PAGE_BYTES (`Sql.page`); and whether it was cut."""

    def count(self, type_name: str, query: ThingQuery) -> int:
        """How many records a residual-free query selects (limit/offset ignored)."""

    def atomically(self, work: Callable[[], T]) -> T:
        """Run `work`; every write it makes lands, or none does (inside another, joins it)."""

    def on_rollback(self, hook: Callable[[], None]) -> None:
        """Call `hook` if the transaction now running rolls back; outside one, never."""


class SqliteThingStore:
    """Things in the object's SQLite database (`sql`), in the `things` table.

    `overlay`, when given, is asked for each query (`scan`, `page`, `count`) which records
    are newer than `things` for the queried type (`OverlaySource`). With one, the query
    reads the union of the table's other rows and those records, filtered and ordered by
    the same SQL, so it answers as if they had been written into `things` first; with
    None, it is exactly the query on the table. Reads by id, and writes, are the table's.
    """

    def __init__(self, sql: Sql, overlay: OverlaySource | None = None) -> None:
        self._sql = sql
        self._overlay = overlay

    def read(self, thing_id: str) -> ThingRecord | None:
        """As `ThingStore.read`: one primary-key lookup."""
        row = self._sql.first(f"SELECT {_RECORD} FROM things WHERE id = ?", thing_id)
        return None if row is None else ThingRecord.from_json(row["record"])

    def read_many(self, ids: Sequence[str]) -> dict[str, ThingRecord | None]:
        """`read` of each id (None: none), in byte-bounded pages (`_records`)."""
        found: dict[str, ThingRecord | None] = dict.fromkeys(ids)
        found.update(self._records(list(found)))
        return found

    def insert(self, record: ThingRecord) -> bool:
        """As `ThingStore.insert` (`ON CONFLICT(id) DO NOTHING`)."""
        written = self._sql.run(
            f"INSERT INTO things ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO NOTHING",
            *record.columns(),
        )
        return written > 0

    def write(self, record: ThingRecord, expected_version: int) -> bool:
        """As `ThingStore.write`: one `UPDATE ... WHERE id = ? AND version = ? AND type = ?`."""
        # `type` is matched, never assigned: it leads the table's key (ADR 0039), and SQLite
        # rewrites (and counts) the entry of every index on a column an UPDATE assigns,
        # changed or not: the id index and every declared property index carry it.
        written = self._sql.run(
            "UPDATE things SET data = ?, updated_at = ?, deleted_at = ?, version = ? "
            "WHERE id = ? AND version = ? AND type = ?",
            record.data,
            record.updated_at,
            record.deleted_at,
            record.version,
            record.id,
            expected_version,
            record.type,
        )
        return written > 0

    def remove(self, thing_id: str) -> bool:
        """As `ThingStore.remove`."""
        return self._sql.run("DELETE FROM things WHERE id = ?", thing_id) > 0

    @staticmethod
    def _table(query: ThingQuery) -> str:
        """`things`, read by the declared index the query names (`ThingQuery.index`) if any."""
        return "things" if query.index is None else f"things INDEXED BY {query.index}"

    def _filter(self, type_name: str, query: ThingQuery) -> tuple[str, list[Any]]:
        sql = "type = ?" if query.include_deleted else "type = ? AND deleted_at IS NULL"
        params = [type_name]
        if query.cursor is not None:
            from dotdo.semantic.keyset import after_sql

            # Before the clause (so it nests no deeper); a named parameter, as the clause's
            # operands are, so a statement using the condition twice binds it once.
            sql += f" AND {after_sql(query.order, query.cursor)}"
            params.append(query.cursor.param)
        if query.where.sql != "1":
            sql += f" AND {query.where.sql}"
        return sql, [*params, *query.where.params]

    def _overlay_for(self, type_name: str) -> Overlay | None:
        return None if self._overlay is None else self._overlay(type_name)

    def _ordered(
        self, type_name: str, query: ThingQuery, columns: str, limit: int, offset: int
    ) -> tuple[str, list[Any]]:
        """The statement and parameters selecting `columns` of the matches, in the query's
        order, `limit` (-1: all) from `offset`, over the overlay when there is one."""
        condition, params = self._filter(type_name, query)
        overlay = self._overlay_for(type_name)
        if overlay is not None:
            from dotdo.semantic.overlay import overlay_select

            return overlay_select(
                overlay, (condition, params), query.order_sql(), columns, limit, offset, self._table(query)
            )
        table = self._table(query)
        sql = f"SELECT {columns} FROM {table} WHERE {condition} ORDER BY {query.order_sql()} LIMIT ? OFFSET ?"
        return sql, [*params, limit, offset]

    def _select(
        self, type_name: str, query: ThingQuery, limit: int, offset: int
    ) -> tuple[list[ThingRecord], bool]:
        """The records of `limit` matches from `offset` in the query's order, cut where they
        pass MAX_PAGE_BYTES (ADR 0057), and whether they were: the matches' ids and sizes
        (the query's one walk of the table), each with its record when it is within a
        page's share, in one statement; then, by key, the larger records of those that fit.
        No record leaves SQLite unless the page answers it."""
        sql, params = self._ordered(type_name, query, "id, length(CAST(data AS BLOB)) AS n", limit, offset)
        overlay = self._overlay_for(type_name)
        if overlay is None:
            # A row no larger than a page's share (MAX_PAGE_BYTES over `limit`) brings its
            # record in the same statement: however many come, they fit. A larger one is
            # fetched by key once the sizes say it fits (a record never leaves SQLite
            # unless it is answered).
            sql = (
                f"SELECT p.id AS id, p.n AS n, CASE WHEN p.n <= {share(limit)} "
                f"THEN (SELECT json_array({_COLUMNS}) FROM things t WHERE t.id = p.id) END AS record "
                f"FROM ({sql}) p"
            )
        sized = self._sql.exec(sql, *params)
        fitting = fitting_count([int(row["n"]) for row in sized])
        kept = sized[:fitting]
        ids = [str(row["id"]) for row in kept]
        held: Mapping[str, ThingRecord | None] = (
            overlay.records
            if overlay is not None
            else {str(r["id"]): ThingRecord.from_json(str(r["record"])) for r in kept if r["record"]}
        )
        found = self._fetch([thing_id for thing_id in ids if thing_id not in held])
        return in_order(ids, held, found), fitting < len(sized)

    def _fetch(self, ids: list[str]) -> dict[str, ThingRecord]:
        """The stored records of `ids` by id, in one statement (the caller measured them)."""
        if not ids:
            return {}
        rows = self._sql.exec(
            f"SELECT {_RECORD} FROM things WHERE id IN (SELECT value FROM json_each(?))", json.dumps(ids)
        )
        return {record.id: record for record in (ThingRecord.from_json(row["record"]) for row in rows)}

    def scan(self, type_name: str, query: ThingQuery, most: int | None = None) -> Iterator[ThingRecord]:
        """As `ThingStore.scan`, lazily: at most MAX_PAGE_BYTES of records read at a time,
        so a consumer that stops (a residual's walk, ADR 0059) has read little past where it
        stopped; a record deleted while the scan runs is skipped. Over an overlay, each
        batch reads the records it holds then."""
        # The first batch as a page; past it, the ids of the remaining matches in order (one
        # sort, a few bytes a thing; `most` of them at most), then, 256 at a time, their
        # sizes and their rows by primary key in runs that fit a page. Paging on with OFFSET
        # would re-walk every earlier row for each batch.
        batch_size = _SCAN_BATCH if most is None else min(most, _SCAN_BATCH)
        first, cut = self._select(type_name, query, batch_size, 0)
        yield from first
        left = -1 if most is None else most - len(first)
        if (len(first) < _SCAN_BATCH and not cut) or left == 0:
            return
        sql, params = self._ordered(type_name, query, "id", left, len(first))
        ids = [str(row["id"]) for row in self._sql.exec(sql, *params)]
        for start in range(0, len(ids), _SCAN_BATCH):
            batch = ids[start : start + _SCAN_BATCH]
            overlay = self._overlay_for(type_name)
            held: Mapping[str, ThingRecord | None] = {} if overlay is None else overlay.records
            sizes = self.data_bytes([thing_id for thing_id in batch if thing_id not in held])
            run: list[str] = []  # the batch's ids since the last read, in order
            size = 0
            for thing_id in batch:
                if thing_id not in held and thing_id in sizes:
                    if size and size + sizes[thing_id] > MAX_PAGE_BYTES:
                        yield from self._in_order(run, held)
                        run, size = [], 0
                    size += sizes[thing_id]  # at least 2: properties are a JSON object
                run.append(thing_id)
            yield from self._in_order(run, held)

    def _in_order(self, ids: list[str], held: Mapping[str, ThingRecord | None]) -> Iterator[ThingRecord]:
        """The records of `ids` in their order: those `held`, the others read by key."""
        yield from in_order(ids, held, self._fetch([thing_id for thing_id in ids if thing_id not in held]))

    def data_bytes(self, ids: Sequence[str]) -> dict[str, int]:
        """The UTF-8 bytes of the properties of each id held (an absent id left out), in one
        statement that reads no properties out of SQLite."""
        rows = self._sql.exec(
            "SELECT id, length(CAST(data AS BLOB)) AS n FROM things "
            "WHERE id IN (SELECT value FROM json_each(?))",
            json.dumps(list(ids)),
        )
        return {str(row["id"]): int(row["n"]) for row in rows}

    def _records(self, ids: list[str]) -> dict[str, ThingRecord]:
        """The stored records of `ids` by id (an id with none left out), read in as many
        byte-bounded pages as they take."""
        found: dict[str, ThingRecord] = {}
        wanted = ids
        while wanted:
            rows, cut = self._sql.page(_BY_ID, json.dumps(wanted), columns=_BY_ID_COLUMNS, rows=len(wanted))
            for row in rows:
                record = ThingRecord.from_json(row["record"])
                found[record.id] = record
            wanted = [thing_id for thing_id in wanted if thing_id not in found] if cut else []
        return found

    def page(self, type_name: str, query: ThingQuery) -> tuple[list[ThingRecord], bool]:
        """As `ThingStore.page`: one `SELECT ... ORDER BY ... LIMIT ? OFFSET ?`."""
        return self._select(type_name, query, query.limit, query.offset)

    def count(self, type_name: str, query: ThingQuery) -> int:
        """As `ThingStore.count`: one `SELECT count(*)` (over an overlay, the table's rows
        not in it plus its matching records)."""
        condition, params = self._filter(type_name, query)
        overlay = self._overlay_for(type_name)
        if overlay is None:
            table = self._table(query)
            row = self._sql.first(f"SELECT count(*) AS n FROM {table} WHERE {condition}", *params)
        else:
            from dotdo.semantic.overlay import overlay_count

            sql, bound = overlay_count(overlay, (condition, params), self._table(query))
            row = self._sql.first(sql, *bound)
        return int(row["n"]) if row else 0

    def atomically(self, work: Callable[[], T]) -> T:
        """As `ThingStore.atomically`: `Sql.transaction` (a savepoint inside another)."""
        return self._sql.transaction(work)

    def on_rollback(self, hook: Callable[[], None]) -> None:
        """As `ThingStore.on_rollback`: `Sql.on_rollback`."""
        self._sql.on_rollback(hook)


class QueriesBelow:
    """`scan`, `page` and `count` answered by the store below (`_inner`): for a store in
    front of another that queries go through (the LRU cache, DOStorage's tiers, whose store
    below reads their unflushed things as an overlay)."""

    _inner: ThingStore

    def scan(self, type_name: str, query: ThingQuery, most: int | None = None) -> Iterator[ThingRecord]:
        """As `ThingStore.scan`, from the store below."""
        return self._inner.scan(type_name, query, most)

    def page(self, type_name: str, query: ThingQuery) -> tuple[list[ThingRecord], bool]:
        """As `ThingStore.page`, from the store below."""
        return self._inner.page(type_name, query)

    def count(self, type_name: str, query: ThingQuery) -> int:
        """As `ThingStore.count`, from the store below."""
        return self._inner.count(type_name, query)


def read_many(store: ThingStore, ids: Sequence[str]) -> dict[str, ThingRecord | None]:
    """`store.read_many(ids)`, or `read` of each id where the store has no `read_many`."""
    many: Callable[[Sequence[str]], dict[str, ThingRecord | None]] | None = getattr(store, "read_many", None)
    return {thing_id: store.read(thing_id) for thing_id in ids} if many is None else many(ids)


def data_bytes(store: ThingStore, ids: Sequence[str]) -> dict[str, int]:
    """`store.data_bytes(ids)`: the UTF-8 bytes of each held thing's properties by id (an
    absent one left out); empty where the store cannot tell without reading them."""
    sizes: Callable[[Sequence[str]], dict[str, int]] | None = getattr(store, "data_bytes", None)
    return {} if sizes is None else sizes(ids)
