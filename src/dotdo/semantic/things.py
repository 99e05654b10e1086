"""The thing service: create, read, update, delete and query things of any type.

It owns the rules (ids, timestamps, versions, merge semantics, validation, the write events) and
leaves persistence to a `ThingStore`. Every write and the event it emits land together or not at all."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from dotdo.core.preconditions import Preconditions
from dotdo.core.sql import synchronous
from dotdo.errors import BadRequest, Conflict, NotFound
from dotdo.semantic.ids import new_id
from dotdo.semantic.names import validate_type_name
from dotdo.semantic.store import Rerunnable, ThingRecord, ThingStore, read_many
from dotdo.semantic.strict import NounPolicy
from dotdo.semantic.thingdata import (
    check_body_id,
    check_preconditions,
    check_version,
    encode_properties,
    insert_new,
    merge_patch,
    split_input,
    validate_id,
    version_tag,
)

if TYPE_CHECKING:  # the query model loads with the first list or count (ADR 0036)
    from dotdo.semantic.list_pages import ListPage
    from dotdo.semantic.query import ThingQuery

__all__ = ["MAX_BATCH", "EventSink", "ListResult", "Things", "merge_patch", "validate_id", "version_tag"]

T = TypeVar("T")
ListResult = dict[str, Any]
"""A page of things: `{"items": [...], "total": int | None, "has_more": bool, "cursor": str | None}`."""
MAX_BATCH = 500
"""How many things one `create_many` (or `POST /:Noun` with an array) creates."""


class EventSink(Protocol):
    """Where write events go (`Customer.created`, ...); the workflow layer dispatches them."""

    def emit(
        self, event_type: str, data: Any = None, subject: str | None = None, object: str | None = None
    ) -> str:
        """Record an event and return its id (`send`'s argument order)."""


class Things:
    """Things of every type, on a store, with write events to a sink.

    `store` holds the records; `events` gets one event per write, in the write's transaction; `clock` gives
    epoch milliseconds, `ids` new ids (ULIDs); `nouns` is the noun policy (strict nouns, declared fields),
    None for any valid name; `on_erase(type, id)` runs in each hard delete's transaction.
    Every operation answers things in their wire form (ThingData: the `$` fields,
    then the properties) and raises 400 `invalid_type` (404 `unknown_noun` under a
    strict policy) for a type it cannot use.
    """

    def __init__(
        self,
        store: ThingStore,
        events: EventSink,
        clock: Callable[[], int] = lambda: int(time.time() * 1000),
        ids: Callable[[], str] = new_id,
        nouns: NounPolicy | None = None,
        on_erase: Callable[[str, str], None] = lambda type_name, thing_id: None,
    ) -> None:
        self.store = store
        self.events = events
        self._clock = clock
        self._ids = ids
        self._nouns = nouns
        """Which nouns and fields exist (strict mode, declared fields); None: any valid name."""
        self._on_erase = on_erase  # what goes with a thing deleted for good: DOSemantic's edges
        self._erased: dict[str, int] = {}
        """Ids deleted for good, with the creation time of the life that ended, while that
        time is not past: a life born and erased within the clock's current millisecond."""

    # -- input -------------------------------------------------------------

    def _type(self, type_name: str) -> str:
        """The one place every operation checks the noun it names."""
        return validate_type_name(type_name) if self._nouns is None else self._nouns.check(type_name)

    def _written(self, type_name: str) -> str:
        """`_type`, for a write: its event names the noun (400 `reserved_event_type`)."""
        return validate_type_name(type_name) if self._nouns is None else self._nouns.check_written(type_name)

    def _check_query(self, type_name: str, query: ThingQuery) -> ThingQuery:
        return query if self._nouns is None else self._nouns.check_query(type_name, query)

    def _selected(self, type_name: str, thing_id: str, include_deleted: bool) -> ThingRecord | None:
        """The thing of that type and id (a soft-deleted one only if `include_deleted`), or None."""
        record = self.store.read(thing_id)
        if record is None or record.type != type_name:
            return None
        return None if record.deleted_at is not None and not include_deleted else record

    def _current(self, type_name: str, thing_id: str, include_deleted: bool = False) -> ThingRecord:
        record = self._selected(type_name, validate_id(thing_id), include_deleted)
        if record is None:
            raise NotFound(f"No {type_name} with id {thing_id!r}", code="thing_not_found")
        return record

    def _split(
        self, type_name: str, data: Any, *, patch: bool = False
    ) -> tuple[dict[str, Any], str | None, int | None]:
        """`split_input`, with the properties checked against the declared fields. In a
        `patch` (a merge patch) a null removes its property and stores nothing, so a null
        passes under any name: a thing written before a field left `fields` can be cleared."""
        properties, thing_id, version = split_input(type_name, data)
        if self._nouns is not None:
            # a create's Python calls are counted (test_request_cost): no generator on its path
            names = [key for key, value in properties.items() if value is not None] if patch else properties
            self._nouns.check_fields(type_name, names)
        return properties, thing_id, version

    def check_condition(
        self, type_name: str, thing_id: str, condition: Preconditions, include_deleted: bool = False
    ) -> None:
        """Raise `PreconditionFailed` (412) unless `condition` holds for the thing as it is now.

        For a write that is not one of the methods here (a new edge from the thing):
        call it inside the write's `transaction` so nothing changes in between.
        """
        self._type(type_name)
        record = self._selected(type_name, validate_id(thing_id), include_deleted)
        check_preconditions(condition, type_name, thing_id, record)

    def _save(self, record: ThingRecord, previous: ThingRecord, event: str) -> dict[str, Any]:
        if not self.store.write(record, previous.version):
            raise Conflict(f"{record.type} {record.id!r} changed meanwhile; retry", code="version_conflict")
        thing = record.wire()
        self.events.emit(f"{record.type}.{event}", thing, record.id)
        return thing

    # -- writes ------------------------------------------------------------

    def _born(self, thing_id: str, now: int) -> int:
        """The creation time of a new life of `thing_id`: `now`, or 1 ms after the creation
        of a life of the same id erased while its creation time was not past, so that the
        new life's entity tags (`version_tag`: version and creation time) differ from the
        old one's. workerd's clock stands still while a request computes, so one request
        can create, erase and create again within a millisecond."""
        ended = self._erased.get(thing_id)
        return now if ended is None or ended < now else ended + 1

    def _insert(
        self, type_name: str, data: Any, now: int, condition: Preconditions | None = None
    ) -> tuple[ThingRecord, dict[str, Any]]:
        properties, thing_id, _ = self._split(type_name, data)
        if condition:
            self._check_new(type_name, thing_id, condition)
        record_id = thing_id or self._ids()
        born = self._born(record_id, now)
        record = ThingRecord(
            id=record_id,
            type=type_name,
            data=encode_properties(properties),
            created_at=born,
            updated_at=born,
            deleted_at=None,
            version=1,
        )
        insert_new(self.store, record)
        thing = record.wire()
        self.events.emit(f"{type_name}.created", thing, record.id)
        return record, thing

    def _check_new(self, type_name: str, thing_id: str | None, condition: Preconditions) -> None:
        # The thing a create names is the one with its $id; without one there is none yet.
        existing = None if thing_id is None else self._selected(type_name, thing_id, False)
        check_preconditions(condition, type_name, thing_id, existing)

    def create(self, type_name: str, data: Any, *, condition: Preconditions | None = None) -> dict[str, Any]:
        """Create a thing; `condition` (e.g. `If-None-Match: *`) applies to the thing its `$id` names."""
        return self.create_record(type_name, data, condition=condition)[1]

    def create_record(
        self, type_name: str, data: Any, *, condition: Preconditions | None = None
    ) -> tuple[ThingRecord, dict[str, Any]]:
        """`create`: the new thing's record (its answer's text: `wire_text`) and wire form."""
        self._written(type_name)
        return self.store.atomically(
            Rerunnable(f"{type_name}.create", lambda: self._insert(type_name, data, self._clock(), condition))
        )

    def create_many(
        self, type_name: str, items: Any, *, condition: Preconditions | None = None
    ) -> list[dict[str, Any]]:
        """Create several things in one transaction: all of them or none. `condition` holds
        for each item as things were before the batch (412 `precondition_failed`)."""
        self._written(type_name)
        if not isinstance(items, Sequence) or isinstance(items, str | bytes):
            raise BadRequest("create_many takes an array of things", code="invalid_data")
        if len(items) > MAX_BATCH:
            raise BadRequest(f"create_many takes at most {MAX_BATCH} things", code="batch_too_large")
        now = self._clock()

        def work() -> list[dict[str, Any]]:
            # One request: its preconditions hold for the state before it, for every item
            # (a repeated $id is then 409 `thing_exists`, as without them), not for the
            # things its earlier items just created.
            if condition:
                for item in items:
                    self._check_new(type_name, self._split(type_name, item)[1], condition)
            return [self._insert(type_name, item, now)[1] for item in items]

        return self.store.atomically(work)

    def update(
        self,
        type_name: str,
        thing_id: str,
        patch: Any,
        expected_version: int | None = None,
        *,
        condition: Preconditions | None = None,
    ) -> dict[str, Any]:
        """Merge `patch` into the thing (JSON Merge Patch: a null removes its property, and so
        passes the declared fields under any name). A `$id` in the patch must be
        `thing_id` (400 `id_mismatch`): a thing never changes its id.

        `expected_version` (or `$version` in the patch) guards it: 409 `version_conflict`
        on a mismatch. `condition` (the request's `If-Match` / `If-None-Match`) is
        checked in the same transaction: 412 `precondition_failed` when false.
        """
        self._written(type_name)

        def work() -> dict[str, Any]:
            properties, body_id, body_version = self._split(type_name, patch, patch=True)
            check_body_id(body_id, thing_id)
            record = self._current(type_name, thing_id)
            check_preconditions(condition, type_name, thing_id, record)
            check_version(record, expected_version if expected_version is not None else body_version)
            merged = merge_patch(record.properties(), properties)
            updated = record.evolve(
                data=encode_properties(merged), updated_at=self._clock(), version=record.version + 1
            )
            return self._save(updated, record, "updated")

        return self.store.atomically(work)

    def replace(
        self,
        type_name: str,
        thing_id: str,
        data: Any,
        expected_version: int | None = None,
        *,
        condition: Preconditions | None = None,
    ) -> dict[str, Any]:
        """Replace all of the thing's properties; guarded, and its `$id` checked, as `update`'s."""
        self._written(type_name)

        def work() -> dict[str, Any]:
            properties, body_id, body_version = self._split(type_name, data)
            check_body_id(body_id, thing_id)
            record = self._current(type_name, thing_id)
            check_preconditions(condition, type_name, thing_id, record)
            check_version(record, expected_version if expected_version is not None else body_version)
            replaced = record.evolve(
                data=encode_properties(properties), updated_at=self._clock(), version=record.version + 1
            )
            return self._save(replaced, record, "updated")

        return self.store.atomically(work)

    def upsert(self, type_name: str, data: Any) -> dict[str, Any]:
        """Create the thing named by `data["$id"]`, or merge `data` into it when it exists
        (its fields checked as the create's, or as the merge's: a null passes there)."""
        self._written(type_name)
        _, thing_id, _ = split_input(type_name, data)
        if thing_id is None:
            raise BadRequest("upsert needs the thing's $id", code="invalid_data")

        def work() -> dict[str, Any]:
            existing = self.store.read(thing_id)
            if existing is None:
                return self._insert(type_name, data, self._clock())[1]
            if existing.type != type_name:
                raise Conflict(f"{thing_id!r} is a {existing.type}, not a {type_name}", code="type_mismatch")
            if existing.deleted_at is not None:
                raise Conflict(f"{type_name} {thing_id!r} is deleted; restore it first", code="thing_deleted")
            return self.update(type_name, thing_id, data)

        return self.store.atomically(work)

    def delete(
        self,
        type_name: str,
        thing_id: str,
        expected_version: int | None = None,
        *,
        condition: Preconditions | None = None,
    ) -> bool:
        """Delete the thing for good (soft-deleted ones too); False when there was none.

        `expected_version` and `condition` guard it as they guard `update`; `on_erase` runs
        in its transaction (DOSemantic's edges go: a new life of the id inherits none).
        """
        self._written(type_name)

        def work() -> bool:
            record = self._selected(type_name, validate_id(thing_id), include_deleted=True)
            if record is None:
                return False
            check_preconditions(condition, type_name, thing_id, record)
            check_version(record, expected_version)
            self.store.remove(thing_id)
            self._on_erase(type_name, thing_id)
            now = self._clock()
            self._erased = {erased: born for erased, born in self._erased.items() if born >= now}
            if record.created_at >= now:  # a new life this millisecond must be told apart
                self._erased[thing_id] = record.created_at
            self.events.emit(
                f"{type_name}.deleted", {"$id": thing_id, "$type": type_name, "hard": True}, thing_id
            )
            return True

        return self.store.atomically(work)

    def soft_delete(
        self,
        type_name: str,
        thing_id: str,
        expected_version: int | None = None,
        *,
        condition: Preconditions | None = None,
    ) -> dict[str, Any]:
        """Hide the thing from reads and queries, keeping it restorable; idempotent.

        `expected_version` and `condition` guard it as they guard `update`; an
        already deleted thing is checked as it is (its version counts the delete).
        """
        self._written(type_name)

        def work() -> dict[str, Any]:
            record = self._current(type_name, thing_id, include_deleted=True)
            check_preconditions(condition, type_name, thing_id, record)
            check_version(record, expected_version)
            if record.deleted_at is not None:
                return record.wire()
            now = self._clock()
            deleted = record.evolve(deleted_at=now, updated_at=now, version=record.version + 1)
            return self._save(deleted, record, "deleted")

        return self.store.atomically(work)

    def restore(
        self,
        type_name: str,
        thing_id: str,
        expected_version: int | None = None,
        *,
        condition: Preconditions | None = None,
    ) -> dict[str, Any]:
        """Bring back a soft-deleted thing; a thing that is not deleted is returned as it is.

        `expected_version` and `condition` guard it as they guard `update`.
        """
        self._written(type_name)

        def work() -> dict[str, Any]:
            record = self._current(type_name, thing_id, include_deleted=True)
            check_preconditions(condition, type_name, thing_id, record)
            check_version(record, expected_version)
            if record.deleted_at is None:
                return record.wire()
            restored = record.evolve(deleted_at=None, updated_at=self._clock(), version=record.version + 1)
            return self._save(restored, record, "restored")

        return self.store.atomically(work)

    # -- reads -------------------------------------------------------------

    def get(self, type_name: str, thing_id: str, include_deleted: bool = False) -> dict[str, Any] | None:
        """The thing, or None when there is none of that type (or it is soft-deleted and
        `include_deleted` is False); 400 `invalid_id`."""
        record = self.get_record(type_name, thing_id, include_deleted)
        return None if record is None else record.wire()

    def get_many(self, keys: Sequence[tuple[str, str]]) -> list[dict[str, Any] | None]:
        """`get` of each (type, id) in order, the ids not in memory read together (a few
        statements, where the store has `read_many`); `get`'s 400s."""
        wanted = [(self._type(type_name), validate_id(thing_id)) for type_name, thing_id in keys]
        records = read_many(self.store, [thing_id for _, thing_id in wanted])
        found = [(type_name, records[thing_id]) for type_name, thing_id in wanted]
        return [r.wire() if r and r.type == t and r.deleted_at is None else None for t, r in found]

    def get_record(self, type_name: str, thing_id: str, include_deleted: bool = False) -> ThingRecord | None:
        """`get`'s thing as its record (its answer's text: `wire_text`), or None; `get`'s 400s."""
        self._type(type_name)
        return self._selected(type_name, validate_id(thing_id), include_deleted)

    def list(self, type_name: str, query: ThingQuery) -> ListResult:
        """`{"items": [...], "total": n, "has_more": bool, "cursor": str | None}`: one page,
        how many match in all (`total`, counted only `with_total`: else None unless the
        first page shows the end), where the next page starts (`cursor`, `keyset`); 400
        `invalid_cursor` for a cursor of another list."""
        return self._page(type_name, query).answer()

    def list_text(self, type_name: str, query: ThingQuery) -> str:
        """`codec.dumps(self.list(type_name, query))`; a query run wholly in SQL and not
        projecting (`select`) writes it from the things' stored text (`page_text`, ADR 0032)."""
        return self._page(type_name, query).text()

    def _page(self, type_name: str, query: ThingQuery) -> ListPage:
        from dotdo.semantic.keyset import checked_cursor  # with the first list
        from dotdo.semantic.list_pages import list_page

        self._type(type_name)
        mark = checked_cursor(type_name, query)
        return list_page(self.store, type_name, query, self._check_query(type_name, query), mark)

    def count(self, type_name: str, query: ThingQuery) -> int:
        """How many things of the type match `query` (its paging ignored); 400
        `unknown_field` for a path outside the declared fields."""
        from dotdo.semantic.list_pages import count  # with the first list or count

        self._type(type_name)
        return count(self.store, type_name, self._check_query(type_name, query))

    def find_first(self, type_name: str, query: ThingQuery) -> dict[str, Any] | None:
        """The first match in the query's order (projected by its `select`), or None."""
        self._type(type_name)
        query = self._check_query(type_name, query)
        if query.where.residual is None:
            records, _ = self.store.page(type_name, dataclasses.replace(query, limit=1))
            return query.project(records[0].wire()) if records else None
        from dotdo.semantic.list_pages import matches

        for thing in matches(self.store, type_name, query):
            return query.project(thing)
        return None

    def transaction(self, work: Callable[[], T]) -> T:
        """Run several thing operations atomically (and keep the cache true if they fail);
        TypeError when `work` is async (`core.sql.synchronous`)."""
        return self.store.atomically(lambda: synchronous(work))
