"""DOSemantic: things, noun accessors, queries, nouns, verbs, actions and relationships.

Extends DOCore through its hooks: its own tables by migration, its routes, and
RPC methods. Persistence of things goes through `thing_store()`, which a
storage layer overrides, and events through `event_store()`, which it overrides too;
write events go through `emit()`, which the workflow layer overrides. An application's
hooks here: `thing_store()`, `event_store()` and `noun_factory(type_name)`.

    class App(DOSemantic):
        declared_nouns = (Noun("Customer", indexes=("email",)), Noun("Person", plural="People"))

        async def fetch(self, request): ...          # or routes() / @rpc methods
            customer = self.Customer().create(name="Ada", email="ada@example.com")
            self.Customer(customer["$id"]).update({"plan": "pro"})
            self.Customer().list(where={"plan": {"$in": ["pro", "team"]}}, order_by="-$created_at")
"""

from __future__ import annotations

import builtins
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from dotdo.core.durable import DOCore
from dotdo.core.migrations import Component
from dotdo.core.namespace import Layer
from dotdo.core.router import Router
from dotdo.errors import BadRequest, SqlSecurityError
from dotdo.remote.marks import rpc, seal_rpc_surface
from dotdo.semantic.graph import GRAPH_TABLES, Actions, EventLog, Relationships
from dotdo.semantic.ids import new_id
from dotdo.semantic.names import TYPE_NAME, validate_type_name
from dotdo.semantic.registry import REGISTRY_TABLES, Noun, Nouns, Verb, Verbs, check_declarations
from dotdo.semantic.routes import SemanticRoutes
from dotdo.semantic.store import THING_TABLES, SqliteThingStore, ThingStore
from dotdo.semantic.strict import NounPolicy, declared_fields
from dotdo.semantic.thing_cache import CachedThingStore
from dotdo.semantic.things import Things, validate_id
from dotdo.types import JSON

if TYPE_CHECKING:
    # The noun accessors, an as-of read's history and the SQL guard of `query` load with
    # their first use: a first answer seldom needs them (ADR 0036).
    from dotdo.semantic.accessors import InstanceAccessor, NounAccessor, NounFactory

__all__ = ["MAX_QUERY_BYTES", "MAX_QUERY_PARAMS", "MAX_QUERY_ROWS", "DOSemantic"]

MAX_QUERY_ROWS = 1000
"""How many rows `query` answers; past it, `truncated` is true."""
MAX_QUERY_BYTES = 4 * 1024 * 1024
"""Most bytes of values a `query` answers (strings as UTF-8, blobs as is); the rows past
them are left out and the answer says `truncated`."""
MAX_QUERY_PARAMS = 100
"""Cloudflare's SQLite binds at most 100 parameters a statement."""


def _now_ms() -> int:
    return int(time.time() * 1000)


class DOSemantic(DOCore):
    """DOCore plus the semantic model: Nouns, Verbs, Things, Actions, relationships.

    Made by the runtime with `ctx` (the DurableObjectState) and `env` (the bindings),
    as DOCore is; the declared nouns and verbs are registered then. Thing operations
    answer ThingData (`{"$id", "$type", "$created_at", "$updated_at", "$version", ...}`,
    times in epoch milliseconds); their errors are the accessors' (`NounAccessor`,
    `InstanceAccessor`).
    """

    declared_nouns: ClassVar[tuple[Noun, ...]] = ()
    """Nouns registered (plural, indexed properties) every time the object starts."""
    declared_verbs: ClassVar[tuple[Verb, ...]] = ()
    """Verbs with irregular forms, registered every time the object starts."""
    strict_nouns: ClassVar[bool] = False
    """Refuse things, relationships and actions of a noun that is not registered (declared or
    registered at run time) with 404 `unknown_noun`, naming the closest known noun."""
    reserved_event_nouns: ClassVar[frozenset[str]] = frozenset()
    """Nouns whose events only the framework raises (DOFull: `Approval`): no caller sends one
    (`send_event`), and no thing or action of such a noun is written (`NounPolicy.check_written`):
    400 `reserved_event_type`, so nothing forges a decision that handlers and waits take for real."""
    thing_cache_size: ClassVar[int] = 1024
    """How many things (by id) the LRU in front of SQLite remembers."""

    _declared_fields: ClassVar[dict[str, frozenset[str]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._declared_fields = declared_fields(cls.declared_nouns)  # a bad declaration fails here
        check_declarations(cls.__name__, cls.declared_nouns, cls.declared_verbs)

    _dotdo_layer: ClassVar[Layer] = Layer.of(
        hooks=("thing_store", "event_store", "noun_factory"),
        attributes=("event_log", "nouns", "noun_policy", "verbs", "relationships", "things", "actions"),
    )

    def __init__(self, ctx: Any, env: Any) -> None:
        super().__init__(ctx, env)
        self.event_log = self.event_store()
        self.nouns = Nouns(self.sql, _now_ms)
        self.verbs = Verbs(self.sql, _now_ms)
        self.noun_policy = NounPolicy(
            self.nouns, self.strict_nouns, self._declared_fields, self.reserved_event_nouns
        )
        self.relationships = Relationships(self.sql, _now_ms, self.noun_policy)
        self.things = Things(
            self.thing_store(), self, _now_ms, new_id, self.noun_policy, on_erase=self.relationships.forget
        )
        self.actions = Actions(
            self.sql, self.verbs, self.emit, self.relationships, _now_ms, new_id, self.noun_policy
        )
        self.nouns.register_declared(self.declared_nouns)
        for verb in self.declared_verbs:
            self.verbs.register(verb.base, verb.past, verb.participle, verb.third_person, apart=False)

    def __getattr__(self, name: str) -> NounFactory:
        # Only reached when normal lookup fails, so real attributes and methods always win.
        if TYPE_NAME.fullmatch(name) and "things" in self.__dict__:
            return self.noun_factory(name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    # -- hooks -------------------------------------------------------------

    def migrations(self) -> builtins.list[Component]:
        """DOCore's components, then `things`, `registry` and `graph` (ADR 0013)."""
        return [*super().migrations(), THING_TABLES, REGISTRY_TABLES, GRAPH_TABLES]

    def thing_store(self) -> ThingStore:
        """Where things live: SQLite behind an LRU cache. DOStorage puts its tiers here."""
        return CachedThingStore(SqliteThingStore(self.sql), self.thing_cache_size)

    def event_store(self) -> EventLog:
        """Where events live: the `events` table (`EventLog`). DOStorage puts its tiers here
        (events in the write-ahead log, then in packed segments); what is returned is an `EventLog`."""
        return EventLog(self.sql, _now_ms, new_id)

    def emit(
        self, event_type: str, data: Any = None, subject: str | None = None, object: str | None = None
    ) -> str:
        """Record an event (`Noun.verb`) and return its id; the workflow layer also dispatches
        it to handlers. The arguments are in `send`'s order."""
        return self.event_log.record(event_type, subject, data, object)

    def routes(self, router: Router) -> None:
        """DOCore's routes, then `SemanticRoutes`' (`/:Noun`, `/nouns`, `/query`, ...)."""
        super().routes(router)
        SemanticRoutes(self).routes(router)

    # -- the Python API ----------------------------------------------------

    def noun_factory(self, type_name: str) -> NounFactory:
        """What `self.<TypeName>` returns; the workflow layer adds cross-object calls."""
        from dotdo.semantic.accessors import NounFactory

        return NounFactory(self.things, self.relationships, validate_type_name(type_name))

    def rpc_noun(self, name: str) -> NounAccessor | None:
        """Every type name is a noun remote callers reach on this object: `api.Customer.list()`,
        `api.Customer("c-1").get()`, the pipeline target `["Customer", "c-1"]`."""
        return self.noun(name) if TYPE_NAME.fullmatch(name) else None

    def noun(self, type_name: str, thing_id: str | None = None) -> Any:
        """`self.noun("Customer")` / `self.noun("Customer", id)`: accessors for any type name."""
        factory = self.noun_factory(type_name)
        return factory() if thing_id is None else factory(thing_id)

    @rpc
    def record_action(self, subject: Any, verb: str, object: Any = None, data: JSON = None) -> dict[str, Any]:
        """Record that `subject` did `verb` (to `object`): event, edge and audit entry, atomically."""
        return self.actions.record(subject, verb, object, data)

    @rpc(scope="read")
    def list_actions(self, thing: Any = None, limit: int = 100, cursor: str | None = None) -> dict[str, Any]:
        """`GET /actions`: the audit log a page at a time, oldest first (`Actions.page`)."""
        return self.actions.page(thing, limit, cursor)

    @rpc(scope="read")
    def query(self, sql: str, params: Sequence[JSON] | Mapping[str, JSON] | None = None) -> dict[str, Any]:
        """Run one read-only SELECT (checked by `validate_sql_query`: 400 `invalid_sql`, or
        `query_too_costly` for work its text multiplies): `{"rows", "truncated"}`, at most
        MAX_QUERY_ROWS rows holding at most MAX_QUERY_BYTES of values (the rows past either
        are left out, `truncated` true), and MAX_QUERY_PARAMS parameters (400 `invalid_params`
        past them). What it computes on the way is bounded only by those checks and the data.

        `params` is a list (a value a parameter, by number) or a mapping binding the named
        parameters by name (`{"id": 7}` for `:id`; `sqlguard.query_params`); its values are
        None, booleans, integers within 64 bits (bound exactly, as INTEGER), floats other
        than NaN, strings, or bytes (a BLOB); anything else, a count the query does not
        take or a name it does not use is a 400 `invalid_params`. Rows keep SQLite's values
        (`Sql.exact_rows`): INTEGER as an exact int, REAL as a number, TEXT as str, BLOB as
        bytes, NULL as None.
        """
        from dotdo.semantic.sqlguard import is_query_plan, query_params, validate_sql_query

        validate_sql_query(sql)
        values = query_params(sql, params, MAX_QUERY_PARAMS)
        statement = sql.strip().rstrip(";")

        def work() -> tuple[builtins.list[dict[str, Any]], bool]:
            if is_query_plan(statement):  # a few short rows; EXPLAIN cannot be a subquery
                plan = self.sql.exec(statement, *values)
                return plan[:MAX_QUERY_ROWS], len(plan) > MAX_QUERY_ROWS
            # The limit is written in, not bound: every one of SQLite's parameters is the caller's.
            # Measured in SQLite first, so the rows read are those that fit: `SELECT data FROM
            # things` over a thousand 1 MiB things would not fit in the object's memory.
            fitting, seen, measured = self.sql.rows_within(
                statement, *values, limit=MAX_QUERY_ROWS + 1, max_bytes=MAX_QUERY_BYTES
            )
            kept = min(fitting, MAX_QUERY_ROWS)
            rows, written = self.sql.exact_rows(statement, *values, limit=kept)
            if written or measured:  # rolls the transaction back
                raise SqlSecurityError("The query wrote to the database")
            return rows, kept < seen

        from pyodide.ffi import JsException  # the runtime's only: the module imports under CPython

        try:
            rows, truncated = self.sql.transaction(work)
        except SqlSecurityError:
            raise
        except JsException as exc:  # SQLite's own complaint about the query: a client error
            raise SqlSecurityError(f"Query failed: {exc}", code="query_failed") from exc
        return {"rows": rows, "truncated": truncated}

    # -- RPC ---------------------------------------------------------------

    @rpc
    def create_thing(self, type_name: str, data: Mapping[str, JSON]) -> dict[str, Any]:
        """`self.noun(type_name).create(data)`: the new thing; 409 `thing_exists`."""
        return self.things.create(type_name, data)

    @rpc
    def create_things(
        self, type_name: str, items: Sequence[Mapping[str, JSON]]
    ) -> builtins.list[dict[str, Any]]:
        """`self.noun(type_name).create_many(items)`: up to 500 new things, all or none."""
        return self.things.create_many(type_name, items)

    @rpc(scope="read")
    def get_thing(
        self, type_name: str, thing_id: str, include_deleted: bool = False
    ) -> dict[str, Any] | None:
        """`self.noun(type_name, thing_id).get(include_deleted)`: the thing, or None."""
        return self.things.get(type_name, thing_id, include_deleted)

    @rpc(scope="read")
    async def get_thing_as_of(
        self, type_name: str, thing_id: str, as_of: int, include_deleted: bool = False
    ) -> dict[str, Any] | None:
        """The thing as it was at `as_of` (epoch ms; writes at that millisecond included),
        from its write events (each carries the whole thing after it): None when it did not
        exist then, was hard-deleted by then, or was soft-deleted and `include_deleted` is
        False. 400 `invalid_type`, `invalid_id`; 404 `unknown_noun` when strict. DOStorage
        also reads the events its archive (L3) moved out of SQLite."""
        self.noun(type_name)
        validate_id(thing_id)
        from dotdo.semantic.history import thing_at

        _, thing = thing_at(self.event_log, type_name, thing_id, as_of)
        if thing is None or (thing.get("$deleted_at") is not None and not include_deleted):
            return None
        return thing

    @rpc(scope="read")
    async def list_events(
        self,
        pattern: str | None = None,
        subject: str | None = None,
        since: int | None = None,
        until: int | None = None,
        cursor: str | None = None,
        limit: int = 100,
    ) -> dict[str, Any]:
        """`GET /events`: `{"items": [...], "has_more", "cursor"}`, oldest first, `since <= timestamp <
        until` (epoch ms), `pattern` `Noun.verb` (`*` for either part; `?type=` on HTTP),
        `cursor` from the previous page (`EventLog.list`). 400 `invalid_event_pattern`,
        `invalid_limit`. DOStorage also reaches the archive (L3)."""
        return self.event_log.list(pattern, subject, since, cursor, limit, until)

    @rpc
    def update_thing(
        self, type_name: str, thing_id: str, patch: Mapping[str, JSON], expected_version: int | None = None
    ) -> dict[str, Any]:
        """`self.noun(type_name, thing_id).update(patch, expected_version)`: merged (RFC 7386);
        404 `thing_not_found`, 409 `version_conflict`."""
        return self.things.update(type_name, thing_id, patch, expected_version)

    @rpc
    def replace_thing(
        self, type_name: str, thing_id: str, data: Mapping[str, JSON], expected_version: int | None = None
    ) -> dict[str, Any]:
        """`self.noun(type_name, thing_id).replace(data, expected_version)`: all properties
        replaced; 404 `thing_not_found`, 409 `version_conflict`."""
        return self.things.replace(type_name, thing_id, data, expected_version)

    @rpc
    def upsert_thing(self, type_name: str, data: Mapping[str, JSON]) -> dict[str, Any]:
        """`self.noun(type_name).upsert(data)`: created, or merged into the thing `data["$id"]`
        names; 400 `invalid_data` without `$id`, 409 `type_mismatch` / `thing_deleted`."""
        return self.things.upsert(type_name, data)

    @rpc
    def delete_thing(
        self, type_name: str, thing_id: str, hard: bool = False, expected_version: int | None = None
    ) -> dict[str, Any]:
        """`self.noun(type_name, thing_id).delete(hard, expected_version)`: the soft-deleted
        thing, or `{"$id", "$type", "deleted": True}` when `hard`; 404 `thing_not_found` when
        absent; 409 `version_conflict` when `expected_version` is not the stored one."""
        accessor: InstanceAccessor = self.noun(type_name, thing_id)
        return accessor.delete(hard, expected_version)

    @rpc
    def restore_thing(
        self, type_name: str, thing_id: str, expected_version: int | None = None
    ) -> dict[str, Any]:
        """`self.noun(type_name, thing_id).restore(expected_version)`: the thing, no longer
        deleted; 404 `thing_not_found`, 409 `version_conflict`."""
        return self.things.restore(type_name, thing_id, expected_version)

    @rpc(scope="read")
    def list_things(
        self,
        type_name: str,
        where: Mapping[str, JSON] | None = None,
        order_by: Any = None,
        limit: int | None = None,
        offset: int | None = None,
        select: str | Sequence[str] | None = None,
        include_deleted: bool = False,
        cursor: str | None = None,
    ) -> builtins.list[dict[str, Any]]:
        """`self.noun(type_name).list(...)`: the matching things, a list."""
        accessor: NounAccessor = self.noun(type_name)
        return accessor.list(where, order_by, limit, offset, select, include_deleted, cursor)

    @rpc(scope="read")
    def page_things(
        self,
        type_name: str,
        where: Mapping[str, JSON] | None = None,
        order_by: Any = None,
        limit: int | None = None,
        offset: int | None = None,
        select: str | Sequence[str] | None = None,
        include_deleted: bool = False,
        with_total: bool = False,
        cursor: str | None = None,
    ) -> dict[str, Any]:
        """`self.noun(type_name).page(...)`: `{"items", "total", "has_more", "cursor"}`
        (`total` counted only `with_total`, as `GET /:Noun?total=exact`)."""
        accessor: NounAccessor = self.noun(type_name)
        return accessor.page(where, order_by, limit, offset, select, include_deleted, with_total, cursor)

    @rpc(scope="read")
    def find_first_thing(
        self,
        type_name: str,
        where: Mapping[str, JSON] | None = None,
        order_by: Any = None,
        include_deleted: bool = False,
    ) -> dict[str, Any] | None:
        """`self.noun(type_name).find_first(...)`: the first match, or None."""
        accessor: NounAccessor = self.noun(type_name)
        return accessor.find_first(where, order_by, include_deleted)

    @rpc(scope="read")
    def count_things(
        self, type_name: str, where: Mapping[str, JSON] | None = None, include_deleted: bool = False
    ) -> int:
        """`self.noun(type_name).count(where, include_deleted)`: how many match."""
        accessor: NounAccessor = self.noun(type_name)
        return accessor.count(where, include_deleted)

    @rpc
    def relate(self, source: Any, verb: str, target: Any, data: JSON = None) -> bool:
        """Add the edge source -verb-> target (each a thing, `{"$type", "$id"}` or `"Type/id"`),
        with optional JSON `data`; False when it was there already. 400 `invalid_ref`,
        `invalid_verb`, `invalid_data`; 413 `value_too_large`; 404 `unknown_noun` when strict."""
        return self.relationships.relate(source, verb, target, data)

    @rpc
    def unrelate(self, source: Any, verb: str, target: Any) -> bool:
        """Remove the edge source -verb-> target; False when there was none."""
        return self.relationships.unrelate(source, verb, target)

    @rpc(scope="read")
    def related(
        self, thing: Any, verb: str, direction: str = "out", type_name: str | None = None, limit: int = 100
    ) -> builtins.list[dict[str, str]]:
        """`{"$type", "$id"}` of the things one `verb` edge away: targets (`direction="out"`)
        or sources (`"in"`), of `type_name` only when given, oldest edge first, at most
        `limit` (1-1000, else 400 `invalid_limit`): the first page (`related_page` for the next)."""
        return [ref.to_dict() for ref in self.relationships.related(thing, verb, direction, type_name, limit)]

    @rpc(scope="read")
    def related_page(
        self,
        thing: Any,
        verb: str,
        direction: str = "out",
        type_name: str | None = None,
        limit: int = 100,
        cursor: str | None = None,
        with_total: bool = False,
    ) -> dict[str, Any]:
        """`related` a page at a time (`EdgePages.page`): `{"items": [{"$type", "$id"}],
        "total", "has_more", "cursor"}`, oldest edge first; pass `cursor` back for the next
        page (None on the last). `total` counts every edge with `with_total=True`, else is
        null unless this first page holds them all. `related`'s errors, and 400
        `invalid_cursor` for a cursor no page answered."""
        page = self.relationships.page(thing, verb, direction, type_name, limit, cursor, with_total)
        return {**page, "items": [ref.to_dict() for ref in page["items"]]}

    @rpc(scope="read")
    def traverse(self, start: Any, hops: Sequence[Any], limit: int = 100) -> builtins.list[dict[str, str]]:
        """`{"$type", "$id"}` of the things reached from `start` by following 1-5 `hops`
        breadth-first, each frontier capped at `limit` (1-1000). A hop is an object
        (`Hop.from_json`): `{"verb": "placed"}` (`direction` `"out"` by default, or `"in"`;
        `type` a noun, or null for any), e.g. `[{"verb": "placed"}, {"verb": "contains",
        "direction": "out", "type": "Product"}]`. 400 `invalid_traversal` (a hop that is not
        such an object names its keys), `invalid_verb`, `invalid_direction`,
        `invalid_type`, `invalid_limit`."""
        if not isinstance(hops, list | tuple):
            raise BadRequest("hops is an array of hop objects", code="invalid_traversal")
        return [ref.to_dict() for ref in self.relationships.traverse(start, hops, limit)]

    @rpc(scope="admin")
    def register_noun(
        self, name: str, plural: str | None = None, indexes: Sequence[str] = ()
    ) -> dict[str, Any]:
        """Register a noun (admin scope): `{"name", "singular", "plural", "indexes"}`, an index
        created for each of `indexes`. 400 `invalid_type`, `invalid_noun`."""
        return self.nouns.register(name, plural, indexes).to_dict()

    @rpc(scope="admin")
    def register_verb(
        self,
        base: str,
        past: str | None = None,
        participle: str | None = None,
        third_person: str | None = None,
    ) -> dict[str, str]:
        """Register a verb's irregular forms (admin scope), the others derived:
        `{"base", "past", "participle", "third_person"}`. 400 `invalid_verb`, `reserved_verb`."""
        return self.verbs.register(base, past, participle, third_person).to_dict()


seal_rpc_surface(DOSemantic)
