"""Events, relationships and actions: what happened, and how things connect.

    events                "Noun.verb" records (write events and actions), newest last
    dotdo_relationships   directed edges (from, verb, to), indexed both ways
    dotdo_actions         the audit log: who did what to whom, with the event it raised

The `graph` component owns these tables (`GRAPH_TABLES`, in `graph_tables.py`).

`Actions.record` writes an event, an edge (when there is an object) and an audit
entry in one transaction.
"""

from __future__ import annotations

import builtins
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

from dotdo.core.page_rows import PageColumns
from dotdo.core.sql import Sql
from dotdo.core.state import MAX_VALUE_BYTES
from dotdo.errors import BadRequest, PayloadTooLarge
from dotdo.semantic.edge_pages import MAX_RELATED, EdgePages
from dotdo.semantic.eventtypes import validate_pattern
from dotdo.semantic.graph_tables import ACTION_COLUMNS, ACTION_PAGE, EVENT_COLUMNS, EVENT_PAGE, GRAPH_TABLES
from dotdo.semantic.hops import Hop, checked_limit
from dotdo.semantic.ids import id_cursor, id_page
from dotdo.semantic.names import check_unreserved_verb, validate_verb
from dotdo.semantic.refs import Ref, as_ref, thing_filter
from dotdo.semantic.registry import Verbs
from dotdo.semantic.strict import NounPolicy
from dotdo.values import ACTION_EVENT_DEPTH, MAX_STORED_DEPTH, Record, stored_json

Emit = Callable[[str, Any, "str | None", "str | None"], str]  # (type, data, subject, object) -> id

__all__ = [
    "GRAPH_TABLES",
    "Actions",
    "EventLog",
    "Hop",
    "Ref",
    "Relationships",
    "as_ref",
    "thing_filter",
]

MAX_HOPS = 5
"""Most hops in one traversal."""
MAX_EVENTS = 1000
"""Most events (or audit entries) one page holds."""


def _encode(data: Any, limit: int | None = None, depth: int = MAX_STORED_DEPTH) -> str:
    """`data` as stored JSON (`stored_json`); 400 `invalid_data` if it is not, 413
    `value_too_large` past `limit` bytes (checked on what a caller sends, not on events
    the layer records); `depth` as `stored_json`'s."""
    text = stored_json(data, what="data", code="invalid_data", depth=depth)
    if limit is not None and len(text.encode()) > limit:
        raise PayloadTooLarge(f"data is at most {limit} bytes as JSON", code="value_too_large")
    return text


class EventLog:
    """The `events` table: every event, in id (ULID) order. `sql` is the object's
    database, `clock` gives epoch milliseconds, `ids` new ULIDs."""

    _page_columns: ClassVar[PageColumns] = EVENT_PAGE  # of `_page_sql`'s statement

    def __init__(self, sql: Sql, clock: Callable[[], int], ids: Callable[[], str]) -> None:
        self._sql = sql
        self._clock = clock
        self._ids = ids

    def record(self, event_type: str, subject: str | None, data: Any, object_id: str | None = None) -> str:
        """Store one event (`event_type` already checked, `subject` / `object_id` thing ids)
        and return its id; 400 `invalid_data` when `data` is not storable JSON."""
        event = self.new_event(event_type, subject, data, object_id)
        self._sql.run(
            "INSERT INTO events (id, type, data, timestamp, subject, object) VALUES (?, ?, ?, ?, ?, ?)",
            *event.values(),
        )
        return str(event["id"])

    def new_event(
        self, event_type: str, subject: str | None, data: Any, object_id: str | None = None
    ) -> dict[str, Any]:
        """The row `record` stores, not stored: `{"id", "type", "data", "timestamp", "subject",
        "object"}` in that order, `data` as its JSON text; 400 `invalid_data` as `record`
        (data nested deeper than MAX_STORED_DEPTH; a record the framework built around
        values, a `values.Record`, deeper than its own bound)."""
        return {
            "id": self._ids(),
            "type": event_type,
            # `depth_of(data)`, inline: every event of every write is made here.
            "data": _encode(data, depth=data.depth if type(data) is Record else MAX_STORED_DEPTH),
            "timestamp": self._clock(),
            "subject": subject,
            "object": object_id,
        }

    def get(self, event_id: str) -> dict[str, Any] | None:
        """One event by id, as `list` answers its items, or None when there is none."""
        row = self._sql.first(f"SELECT {EVENT_COLUMNS} FROM events WHERE id = ?", event_id)
        return None if row is None else _item(row)

    def list(
        self,
        pattern: str | None = None,
        subject: str | None = None,
        since: int | None = None,
        cursor: str | None = None,
        limit: int = 100,
        until: int | None = None,
        *,
        used_bytes: int = 0,
    ) -> dict[str, Any]:
        """Events oldest first: `{"items": [...], "has_more", "cursor"}`, `cursor` the id of
        the last item when more follow (`has_more`, exact: one more row is read), else None,
        as the other pages answer; fewer than `limit` where their rows pass MAX_PAGE_BYTES
        (`Sql.page`, with the `used_bytes` the page holds already: then maybe none).

        `pattern` is `Noun.verb` with `*` for either part; `since` and `until` are epoch ms
        (`since <= timestamp < until`); `cursor` continues after the page that returned it;
        `limit` is 1 to MAX_EVENTS. 400 `invalid_event_pattern`, `invalid_limit`,
        `invalid_cursor` (not an event id: a made-up cursor would silently answer an empty
        or a wrong page).
        """
        conditions: list[str] = ["1"]
        params: list[Any] = []
        if pattern:
            noun, _, verb = validate_pattern(pattern).partition(".")
            if noun != "*":
                conditions.append("type >= ? AND type < ?")  # the noun's range: index-friendly
                params.extend([f"{noun}.", f"{noun}/"])
            if verb != "*":
                conditions.append("substr(type, instr(type, '.') + 1) = ?")
                params.append(verb)
        if subject:
            conditions.append("subject = ?")
            params.append(subject)
        if since is not None:
            conditions.append("timestamp >= ?")
            params.append(since)
        if until is not None:
            conditions.append("timestamp < ?")
            params.append(until)
        limit = checked_limit(limit, MAX_EVENTS)
        statement, bound = self._page_sql(conditions, params, id_cursor(cursor) if cursor else None)
        rows, cut = self._sql.page(
            statement,
            *bound,
            limit + 1,  # one more: whether there is a next page
            columns=self._page_columns,
            rows=limit + 1,
            used=used_bytes,
        )
        return id_page([_item(r) for r in rows], limit, more=cut)

    def _page_sql(
        self, conditions: builtins.list[str], params: builtins.list[Any], after: str | None
    ) -> tuple[str, builtins.list[Any]]:
        """A `list` page's statement (its last parameter, the `LIMIT`, the caller's) and its
        other parameters: the events passing `conditions` after the event `after` (or all), by
        id. Ids are sorted, not rows (ADR 0057: a type's events by `events_by_type`)."""
        if after is not None:
            conditions, params = [*conditions, "id > ?"], [*params, after]
        return (
            f"SELECT {EVENT_COLUMNS} FROM events WHERE id IN (SELECT id FROM events "
            f"WHERE {' AND '.join(conditions)} ORDER BY id LIMIT ?) ORDER BY id",
            params,
        )


def _item(row: Mapping[str, Any]) -> dict[str, Any]:
    """An event row (its `data` JSON text) as answered: `data` decoded."""
    return {
        "id": row["id"],
        "type": row["type"],
        "data": json.loads(str(row["data"])),
        "timestamp": row["timestamp"],
        "subject": row["subject"],
        "object": row["object"],
    }


class Relationships(EdgePages):
    """The `dotdo_relationships` table: directed edges (from, verb, to), at most one per
    triple, each end a reference (type and id: `Customer/a -owns-> Order/p1` and `-owns->
    Project/p1` are two edges, ADR 0041), with optional JSON data, read a page at a time
    (`EdgePages.page`). `sql` is the object's database, `clock` gives epoch milliseconds;
    `nouns` checks the nouns at either end (None: any valid name)."""

    def __init__(self, sql: Sql, clock: Callable[[], int], nouns: NounPolicy | None = None) -> None:
        self._sql = sql
        self._clock = clock
        self._nouns = nouns
        """Which nouns exist (strict mode); None: any valid name."""

    def ref(self, value: Any, role: str = "thing") -> Ref:
        """`as_ref`, with the noun checked against the policy (404 `unknown_noun` in strict mode)."""
        found = as_ref(value, role)
        if self._nouns is not None:
            self._nouns.check(found.type)
        return found

    def relate(self, source: Any, verb: str, target: Any, data: Any = None) -> bool:
        """Add the edge source -verb-> target (each as `as_ref` takes it); False when it was
        there already. 400 `invalid_verb`, `reserved_verb` (a form of a verb of the thing
        store's own events, as an action's verb: `check_unreserved_verb`), `invalid_data`;
        413 `value_too_large` when `data` is past 1 MiB of JSON."""
        src, dst = self.ref(source, "source"), self.ref(target, "target")
        check_unreserved_verb(validate_verb(verb), "an edge")
        return (
            self._sql.run(
                "INSERT INTO dotdo_relationships (from_id, from_type, verb, to_id, to_type, data, "
                "created_at) VALUES (?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT(from_id, verb, to_id, from_type, to_type) DO NOTHING",
                src.id,
                src.type,
                verb,
                dst.id,
                dst.type,
                None if data is None else _encode(data, MAX_VALUE_BYTES),
                self._clock(),
            )
            > 0
        )

    def unrelate(self, source: Any, verb: str, target: Any) -> bool:
        """Remove the edge source -verb-> target; False when there was none (an edge between
        the same ids under other types is another edge: it stays)."""
        src, dst = self.ref(source, "source"), self.ref(target, "target")
        validate_verb(verb)
        return (
            self._sql.run(
                "DELETE FROM dotdo_relationships WHERE from_id = ? AND verb = ? AND to_id = ? "
                "AND from_type = ? AND to_type = ?",
                src.id,
                verb,
                dst.id,
                src.type,
                dst.type,
            )
            > 0
        )

    def forget(self, type_name: str, thing_id: str) -> None:
        """Remove every edge from or to the thing `type_name`/`thing_id`, of any verb (a hard
        delete's, `Things.delete`: a new life of the id starts with none); the same id under
        another type is another thing's. One row written an edge, as the runtime counts a DELETE."""
        for end in ("from", "to"):  # each a prefix of an index: the primary key, the backward one
            where = f"{end}_id = ? AND {end}_type = ?"
            self._sql.run(f"DELETE FROM dotdo_relationships WHERE {where}", thing_id, type_name)

    def related(
        self, thing: Any, verb: str, direction: str = "out", type_name: str | None = None, limit: int = 100
    ) -> list[Ref]:
        """Things one `verb` edge away: targets (`out`) or sources (`in`), oldest edge first,
        at most `limit`: the items of `page`'s first page (its errors too)."""
        items: list[Ref] = self.page(thing, verb, direction, type_name, limit)["items"]
        return items

    def traverse(self, start: Any, hops: Sequence[Hop | Mapping[str, Any]], limit: int = 100) -> list[Ref]:
        """Follow 1 to MAX_HOPS hops (each a Hop or its JSON form, `Hop.from_json`)
        breadth-first; each hop's frontier is capped at `limit` (1 to MAX_RELATED) things,
        oldest edge first. `start` is named as `thing_filter` takes it: `"Type/id"` (a
        thing, `{"$type", "$id"}`, a Ref) follows the edges of that type and id only, so a
        type that is not the thing's reaches nothing; a bare id those of the thing of any
        type. Each later hop follows the edges of the things reached, by type and id.
        400 `invalid_traversal`, `invalid_limit`, `invalid_ref`, `invalid_type`, `invalid_id`."""
        named = thing_filter(start, "start")
        origin = (named, None) if isinstance(named, str) else (named.id, self.ref(named).type)
        if not hops or len(hops) > MAX_HOPS:
            raise BadRequest(f"A traversal has 1 to {MAX_HOPS} hops", code="invalid_traversal")
        checked = [
            hop.checked() if isinstance(hop, Hop) else Hop.from_json(hop, i) for i, hop in enumerate(hops)
        ]
        if self._nouns is not None:
            for hop in checked:
                if hop.type is not None:
                    self._nouns.check(hop.type)
        limit = checked_limit(limit, MAX_RELATED)
        frontier: list[tuple[str, str | None]] = [origin]
        result: list[Ref] = []
        for hop in checked:
            near, near_type, far, far_type = (
                ("from_id", "from_type", "to_id", "to_type")
                if hop.direction == "out"
                else ("to_id", "to_type", "from_id", "from_type")
            )
            # The frontier (up to `limit` [id, type] pairs) is one JSON parameter: Cloudflare's
            # SQLite takes at most 100 bound parameters a statement. The ids alone select by
            # the index; the pairs keep the edges of those types (all of them for a bare id).
            pairs = json.dumps(frontier)
            params: list[Any] = [hop.verb, pairs]
            conditions = f"verb = ? AND {near} IN (SELECT json_extract(value, '$[0]') FROM json_each(?))"
            if frontier[0][1] is not None:
                conditions += (
                    f" AND ({near}, {near_type}) IN "
                    "(SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(?))"
                )
                params.append(pairs)
            if hop.type:
                conditions += f" AND {far_type} = ?"
                params.append(hop.type)
            rows = self._sql.exec(
                f"SELECT {far} AS id, {far_type} AS type, min(created_at) AS first FROM dotdo_relationships "
                f"WHERE {conditions} GROUP BY {far}, {far_type} ORDER BY first, {far} LIMIT ?",
                *params,
                limit,
            )
            result = [Ref(str(r["type"]), str(r["id"])) for r in rows]
            frontier = [(ref.id, ref.type) for ref in result]
            if not frontier:
                break
        return result


class Actions:
    """`record(subject, verb, object, data)`: an event, an edge and an audit entry, atomically.

    `sql` holds `dotdo_actions`; `verbs` gives the past tense the event and edge are
    named by; `emit(type, data, subject, object)` records the event; `relationships`
    adds the edge; `clock` gives epoch milliseconds and `ids` new ULIDs; `nouns` the noun
    policy (its reserved nouns name no action's event), None for any valid name.
    """

    def __init__(
        self,
        sql: Sql,
        verbs: Verbs,
        emit: Emit,
        relationships: Relationships,
        clock: Callable[[], int],
        ids: Callable[[], str],
        nouns: NounPolicy | None = None,
    ) -> None:
        self._nouns = nouns
        self._sql = sql
        self._verbs = verbs
        self._emit = emit
        self._relationships = relationships
        self._clock = clock
        self._ids = ids

    def record(self, subject: Any, verb: str, object: Any = None, data: Any = None) -> dict[str, Any]:
        """Record that `subject` did `verb` (to `object`): the event `Noun.<past>` (the
        subject's noun), the edge subject -past-> object when there is an object, and the
        audit entry, in one transaction. Answers `{"id", "event": {"id", "type"}, "subject",
        "verb", "object", "data", "created_at"}`. 400 `invalid_ref`, `invalid_verb` and
        `reserved_verb` (`Verbs.for_action`), `reserved_event_type` (a subject of a reserved
        noun, `NounPolicy.check_written`), `invalid_data`; 413 `value_too_large`."""
        who = self._relationships.ref(subject, "subject")
        if self._nouns is not None:
            self._nouns.check_written(who.type)
        what = None if object is None else self._relationships.ref(object, "object")
        stored = None if data is None else _encode(data, MAX_VALUE_BYTES)
        past = self._verbs.for_action(verb).past
        event_type = f"{who.type}.{past}"
        fields = {
            "subject": who.to_dict(),
            "verb": verb,
            "object": None if what is None else what.to_dict(),
            "data": data,
        }
        payload = Record(ACTION_EVENT_DEPTH, fields)  # its bound goes with it through `emit`

        def work() -> dict[str, Any]:
            event_id = self._emit(event_type, payload, who.id, None if what is None else what.id)
            if what is not None:
                self._relationships.relate(who, past, what, data)
            action_id = self._ids()
            now = self._clock()
            self._sql.run(
                "INSERT INTO dotdo_actions (id, verb, subject_type, subject_id, object_type, object_id, "
                "data, event_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                action_id,
                verb,
                who.type,
                who.id,
                None if what is None else what.type,
                None if what is None else what.id,
                stored,
                event_id,
                now,
            )
            return {
                "id": action_id,
                "event": {"id": event_id, "type": event_type},
                **payload,
                "created_at": now,
            }

        return self._sql.transaction(work)

    def list(self, thing: Any = None, limit: int = 100) -> list[dict[str, Any]]:
        """Audit entries, oldest first, at most `limit` (1 to MAX_EVENTS): the items of
        `page`'s first page (its errors too)."""
        items: list[dict[str, Any]] = self.page(thing, limit)["items"]
        return items

    def page(self, thing: Any = None, limit: int = 100, cursor: str | None = None) -> dict[str, Any]:
        """A page of audit entries, oldest first: `{"items", "has_more", "cursor"}`, at most
        `limit` (1 to MAX_EVENTS) entries after `cursor` (the previous page's: the last
        entry's id, a ULID; None on the last page, and `has_more` false). With `thing`, those
        where it is the subject or the object. `thing` is named as `thing_filter` takes it:
        `"Type/id"` (or a thing, `{"$type", "$id"}`, a Ref) matches that type and id, so a
        type that is not the thing's matches nothing (an action's ends may be things of other
        objects, which this one cannot look up); a bare id matches the thing of any type.
        400 `invalid_ref`, `invalid_type`, `invalid_id`, `invalid_limit`, `invalid_cursor`;
        404 `unknown_noun` for a type not registered, in strict mode."""
        limit = checked_limit(limit, MAX_EVENTS)
        if cursor is not None:
            cursor = id_cursor(cursor)
        named = None if thing is None else thing_filter(thing)
        conditions = "1"
        params: list[Any] = []
        if isinstance(named, str):
            conditions, params = "(subject_id = ? OR object_id = ?)", [named, named]
        elif named is not None:
            self._relationships.ref(named)  # the noun, checked in strict mode
            conditions = "((subject_id = ? AND subject_type = ?) OR (object_id = ? AND object_type = ?))"
            params = [named.id, named.type, named.id, named.type]
        if cursor is not None:
            conditions += " AND id > ?"
            params.append(cursor)
        rows, cut = self._sql.page(
            f"SELECT {ACTION_COLUMNS} FROM dotdo_actions WHERE {conditions} ORDER BY id LIMIT ?",
            *params,
            limit + 1,  # one more: whether there is a next page
            columns=ACTION_PAGE,
            rows=limit + 1,
        )
        items = [
            {
                "id": r["id"],
                "verb": r["verb"],
                "subject": {"$type": r["subject_type"], "$id": r["subject_id"]},
                "object": None
                if r["object_id"] is None
                else {"$type": r["object_type"], "$id": r["object_id"]},
                "data": None if r["data"] is None else json.loads(str(r["data"])),
                "event_id": r["event_id"],
                "created_at": r["created_at"],
            }
            for r in rows  # one more than `limit`, when there is a next page: `id_page` drops it
        ]
        return id_page(items, limit, more=cut)
