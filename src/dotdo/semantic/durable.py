"""DOSemantic: things, noun accessors, queries, nouns, verbs, actions and relationships.

Extends DOCore through its hooks: its own tables by migration, its routes, and
RPC methods. Persistence of things goes through `thing_store()`, which a
storage layer overrides; write events go through `emit()`, which the workflow
layer overrides. An application's hooks here: `thing_store()` and
`noun_factory(type_name)`.

    class App(DOSemantic):
        declared_nouns = (Noun("Customer", indexes=("email",)), Noun("Person", plural="People"))

        async def fetch(self, request): ...          # or routes() / @rpc methods
            customer = self.Customer().create(name="Ada", email="ada@example.com")
            self.Customer(customer["$id"]).update({"plan": "pro"})
            self.Customer().list(where={"plan": {"$in": ["pro", "team"]}}, order_by="-$created_at")
"""

from __future__ import annotations

import builtins
import math
import time
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from pyodide.ffi import JsException

from dotdo.core.durable import DOCore
from dotdo.core.http import HttpRequest, HttpResponse, decimal_integer, json_response
from dotdo.core.migrations import Component
from dotdo.core.namespace import Layer
from dotdo.core.preconditions import Preconditions, Verdict
from dotdo.core.router import Router
from dotdo.errors import BadRequest, NotFound, PreconditionFailed
from dotdo.remote.calls import body_arguments, invoke
from dotdo.remote.marks import rpc, seal_rpc_surface
from dotdo.semantic.accessors import InstanceAccessor, NounAccessor, NounFactory
from dotdo.semantic.graph import GRAPH_TABLES, Actions, EventLog, Hop, Relationships, as_ref
from dotdo.semantic.ids import new_id
from dotdo.semantic.names import TYPE_NAME, validate_type_name
from dotdo.semantic.query import ThingQuery
from dotdo.semantic.registry import REGISTRY_TABLES, Noun, Nouns, Verb, Verbs
from dotdo.semantic.sqlguard import SqlSecurityError, validate_sql_query
from dotdo.semantic.store import THING_TABLES, CachedThingStore, SqliteThingStore, ThingStore
from dotdo.semantic.strict import NounPolicy, declared_fields
from dotdo.semantic.things import Things, validate_id, version_tag
from dotdo.types import JSON
from dotdo.values import int64_error

__all__ = ["MAX_QUERY_BYTES", "MAX_QUERY_PARAMS", "MAX_QUERY_ROWS", "DOSemantic"]

MAX_QUERY_ROWS = 1000
MAX_QUERY_BYTES = 4 * 1024 * 1024
"""Most bytes of values a `query` answers (strings as UTF-8, blobs as is); the rows past
them are left out and the answer says `truncated`."""
MAX_QUERY_PARAMS = 100
"""Cloudflare's SQLite binds at most 100 parameters a statement."""
_NOUN = r":noun{[A-Z].*}"
_VERB = r":verb{[a-z].*}"


def _now_ms() -> int:
    return int(time.time() * 1000)


def _etag(thing: Mapping[str, Any]) -> dict[str, str]:
    return {"etag": str(version_tag(thing["$version"]))}


def _flag(request: HttpRequest, name: str) -> bool:
    value = (request.query(name) or "false").lower()
    if value not in ("true", "false", "1", "0"):
        raise BadRequest(f"{name} is true or false", code="invalid_query")
    return value in ("true", "1")


def _int_param(request: HttpRequest, name: str, default: int) -> int:
    value = request.query(name)
    if value is None or value == "":
        return default
    number = decimal_integer(value)
    if number is None:
        raise BadRequest(f"{name} is an integer", code=f"invalid_{name}")
    return number


class DOSemantic(DOCore):
    """DOCore plus the semantic model: Nouns, Verbs, Things, Actions, relationships."""

    declared_nouns: ClassVar[tuple[Noun, ...]] = ()
    """Nouns registered (plural, indexed properties) every time the object starts."""
    declared_verbs: ClassVar[tuple[Verb, ...]] = ()
    """Verbs with irregular forms, registered every time the object starts."""
    strict_nouns: ClassVar[bool] = False
    """Refuse things, relationships and actions of a noun that is not registered (declared or
    registered at run time) with 404 `unknown_noun`, naming the closest known noun."""
    thing_cache_size: ClassVar[int] = 1024

    _declared_fields: ClassVar[dict[str, frozenset[str]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._declared_fields = declared_fields(cls.declared_nouns)  # a bad declaration fails here

    _dotdo_layer: ClassVar[Layer] = Layer.of(
        hooks=("thing_store", "noun_factory"),
        attributes=("event_log", "nouns", "noun_policy", "verbs", "relationships", "things", "actions"),
    )

    def __init__(self, ctx: Any, env: Any) -> None:
        super().__init__(ctx, env)
        self.event_log = EventLog(self.sql, _now_ms, new_id)
        self.nouns = Nouns(self.sql, _now_ms)
        self.verbs = Verbs(self.sql, _now_ms)
        self.noun_policy = NounPolicy(self.nouns, self.strict_nouns, self._declared_fields)
        self.relationships = Relationships(self.sql, _now_ms, self.noun_policy)
        self.things = Things(self.thing_store(), self, _now_ms, new_id, self.noun_policy)
        self.actions = Actions(self.sql, self.verbs, self.emit, self.relationships, _now_ms, new_id)
        for noun in self.declared_nouns:
            self.nouns.register(noun.name, noun.plural, noun.indexes)
        for verb in self.declared_verbs:
            self.verbs.register(verb.base, verb.past, verb.participle, verb.third_person)

    def __getattr__(self, name: str) -> NounFactory:
        # Only reached when normal lookup fails, so real attributes and methods always win.
        if TYPE_NAME.fullmatch(name) and "things" in self.__dict__:
            return self.noun_factory(name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    # -- hooks -------------------------------------------------------------

    def migrations(self) -> builtins.list[Component]:
        return [*super().migrations(), THING_TABLES, REGISTRY_TABLES, GRAPH_TABLES]

    def thing_store(self) -> ThingStore:
        """Where things live: SQLite behind an LRU cache. DOStorage puts its tiers here."""
        return CachedThingStore(SqliteThingStore(self.sql), self.thing_cache_size)

    def emit(
        self, event_type: str, data: Any = None, subject: str | None = None, object: str | None = None
    ) -> str:
        """Record an event (`Noun.verb`) and return its id; the workflow layer also dispatches
        it to handlers. The arguments are in `send`'s order."""
        return self.event_log.record(event_type, subject, data, object)

    def routes(self, router: Router) -> None:
        super().routes(router)
        router.post("/query")(self._http_query)
        router.get("/nouns")(self._http_list_nouns)
        router.post("/nouns")(self._http_register_noun)
        router.get("/verbs")(self._http_list_verbs)
        router.post("/verbs")(self._http_register_verb)
        router.get("/events")(self._http_events)
        router.get("/actions")(self._http_list_actions)
        router.post("/actions")(self._http_action)
        router.post(f"/{_NOUN}")(self._http_create)
        router.get(f"/{_NOUN}")(self._http_list)
        router.get(f"/{_NOUN}/:id")(self._http_get)
        router.patch(f"/{_NOUN}/:id")(self._http_update)
        router.put(f"/{_NOUN}/:id")(self._http_replace)
        router.delete(f"/{_NOUN}/:id")(self._http_delete)
        router.post(f"/{_NOUN}/:id/restore")(self._http_restore)
        router.get(f"/{_NOUN}/:id/{_VERB}")(self._http_related)
        router.post(f"/{_NOUN}/:id/{_VERB}")(self._http_relate)

    # -- the Python API ----------------------------------------------------

    def noun_factory(self, type_name: str) -> NounFactory:
        """What `self.<TypeName>` returns; the workflow layer adds cross-object calls."""
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
    def query(self, sql: str, params: Sequence[JSON] | None = None) -> dict[str, Any]:
        """Run one read-only SELECT (checked by `validate_sql_query`): `{"rows", "truncated"}`,
        at most MAX_QUERY_ROWS rows holding at most MAX_QUERY_BYTES of values (the rows
        past either are left out, `truncated` true), and MAX_QUERY_PARAMS parameters (400
        `invalid_params` past them).

        `params` are None, booleans, integers within 64 bits (bound exactly, as INTEGER),
        floats other than NaN, strings, or bytes (a BLOB); anything else is a 400
        `invalid_params`. Rows keep SQLite's values (`Sql.exact_rows`): INTEGER as an exact
        int, REAL as a number, TEXT as str, BLOB as bytes, NULL as None.
        """
        validate_sql_query(sql)
        values = list(params or [])
        if len(values) > MAX_QUERY_PARAMS:
            raise BadRequest(f"A query takes at most {MAX_QUERY_PARAMS} params", code="invalid_params")
        for index, value in enumerate(values):
            error = _param_error(value)
            if error:
                raise BadRequest(f"params[{index}]: {error}", code="invalid_params")
        statement = sql.strip().rstrip(";")

        def work() -> tuple[builtins.list[dict[str, Any]], bool]:
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
        return self.things.create(type_name, data)

    @rpc
    def create_things(
        self, type_name: str, items: Sequence[Mapping[str, JSON]]
    ) -> builtins.list[dict[str, Any]]:
        return self.things.create_many(type_name, items)

    @rpc(scope="read")
    def get_thing(
        self, type_name: str, thing_id: str, include_deleted: bool = False
    ) -> dict[str, Any] | None:
        return self.things.get(type_name, thing_id, include_deleted)

    @rpc
    def update_thing(
        self, type_name: str, thing_id: str, patch: Mapping[str, JSON], expected_version: int | None = None
    ) -> dict[str, Any]:
        return self.things.update(type_name, thing_id, patch, expected_version)

    @rpc
    def replace_thing(
        self, type_name: str, thing_id: str, data: Mapping[str, JSON], expected_version: int | None = None
    ) -> dict[str, Any]:
        return self.things.replace(type_name, thing_id, data, expected_version)

    @rpc
    def upsert_thing(self, type_name: str, data: Mapping[str, JSON]) -> dict[str, Any]:
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
    ) -> builtins.list[dict[str, Any]]:
        """`self.noun(type_name).list(...)`: the matching things, a list."""
        accessor: NounAccessor = self.noun(type_name)
        return accessor.list(where, order_by, limit, offset, select, include_deleted)

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
        with_total: bool = True,
    ) -> dict[str, Any]:
        """`self.noun(type_name).page(...)`: `{"items", "total", "has_more"}`."""
        accessor: NounAccessor = self.noun(type_name)
        return accessor.page(where, order_by, limit, offset, select, include_deleted, with_total)

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
        return self.things.count(type_name, ThingQuery.build(where, include_deleted=include_deleted))

    @rpc
    def relate(self, source: Any, verb: str, target: Any, data: JSON = None) -> bool:
        return self.relationships.relate(source, verb, target, data)

    @rpc
    def unrelate(self, source: Any, verb: str, target: Any) -> bool:
        return self.relationships.unrelate(source, verb, target)

    @rpc(scope="read")
    def related(
        self, thing: Any, verb: str, direction: str = "out", type_name: str | None = None, limit: int = 100
    ) -> builtins.list[dict[str, str]]:
        return [ref.to_dict() for ref in self.relationships.related(thing, verb, direction, type_name, limit)]

    @rpc(scope="read")
    def traverse(
        self, start: Any, hops: Sequence[Mapping[str, Any]], limit: int = 100
    ) -> builtins.list[dict[str, str]]:
        """`hops`: `[{"verb": "placed"}, {"verb": "contains", "direction": "out", "type": "Product"}]`."""
        steps = [_hop(h) for h in hops] if isinstance(hops, Sequence) else []
        return [ref.to_dict() for ref in self.relationships.traverse(start, steps, limit)]

    @rpc(scope="admin")
    def register_noun(
        self, name: str, plural: str | None = None, indexes: Sequence[str] = ()
    ) -> dict[str, Any]:
        return self.nouns.register(name, plural, indexes).to_dict()

    @rpc(scope="admin")
    def register_verb(
        self,
        base: str,
        past: str | None = None,
        participle: str | None = None,
        third_person: str | None = None,
    ) -> dict[str, str]:
        return _verb_dict(self.verbs.register(base, past, participle, third_person))

    # -- HTTP ----------------------------------------------------------------

    def _accessor(self, request: HttpRequest) -> NounAccessor:
        accessor: NounAccessor = self.noun(request.params["noun"])
        return accessor

    async def _http_create(self, request: HttpRequest) -> HttpResponse:
        accessor = self._accessor(request)
        condition = Preconditions.from_request(request)
        body = request.json()
        if isinstance(body, list):
            items = self.things.create_many(accessor.type, body, condition=condition)
            return json_response({"items": items}, status=201)
        if not isinstance(body, dict):
            raise BadRequest("Body is a thing (a JSON object) or an array of things", code="invalid_data")
        thing = self.things.create(accessor.type, body, condition=condition)
        return json_response(thing, status=201, headers=_etag(thing))

    async def _http_list(self, request: HttpRequest) -> HttpResponse:
        type_name = validate_type_name(request.params["noun"])
        names = ("where", "order_by", "limit", "offset", "select", "include_deleted", "total")
        query = ThingQuery.from_params({name: request.query(name) for name in names})
        return json_response(self.things.list(type_name, query))

    async def _http_get(self, request: HttpRequest) -> HttpResponse:
        type_name = validate_type_name(request.params["noun"])
        condition = Preconditions.from_request(request)
        thing = self.things.get(type_name, request.params["id"], _flag(request, "include_deleted"))
        if thing is None:  # RFC 9110 §13.2.1: a 404 is answered whatever the preconditions say
            raise NotFound(f"No {type_name} with id {request.params['id']!r}", code="thing_not_found")
        verdict = condition.evaluate(version_tag(thing["$version"]), safe=True)
        if verdict is Verdict.NOT_MODIFIED:
            return HttpResponse(status=304, headers=_etag(thing))
        if verdict is Verdict.FAILED:
            raise PreconditionFailed(
                f"{type_name} {thing['$id']!r} is at version {thing['$version']}, so If-Match is false",
                current_version=thing["$version"],
                headers=_etag(thing),
            )
        return json_response(thing, headers=_etag(thing))

    async def _http_update(self, request: HttpRequest) -> HttpResponse:
        type_name = validate_type_name(request.params["noun"])
        condition = Preconditions.from_request(request)
        thing = self.things.update(type_name, request.params["id"], request.json(), condition=condition)
        return json_response(thing, headers=_etag(thing))

    async def _http_replace(self, request: HttpRequest) -> HttpResponse:
        type_name = validate_type_name(request.params["noun"])
        condition = Preconditions.from_request(request)
        thing = self.things.replace(type_name, request.params["id"], request.json(), condition=condition)
        return json_response(thing, headers=_etag(thing))

    async def _http_delete(self, request: HttpRequest) -> HttpResponse:
        type_name = validate_type_name(request.params["noun"])
        thing_id = request.params["id"]
        condition = Preconditions.from_request(request)
        if _flag(request, "hard"):
            if not self.things.delete(type_name, thing_id, condition=condition):
                raise NotFound(f"No {type_name} with id {thing_id!r}", code="thing_not_found")
            return json_response({"$id": thing_id, "$type": type_name, "deleted": True})
        thing = self.things.soft_delete(type_name, thing_id, condition=condition)
        return json_response(thing, headers=_etag(thing))

    async def _http_restore(self, request: HttpRequest) -> HttpResponse:
        type_name = validate_type_name(request.params["noun"])
        condition = Preconditions.from_request(request)
        thing = self.things.restore(type_name, request.params["id"], condition=condition)
        return json_response(thing, headers=_etag(thing))

    async def _http_related(self, request: HttpRequest) -> HttpResponse:
        type_name = validate_type_name(request.params["noun"])
        thing_id = validate_id(request.params["id"])
        if self.things.get(type_name, thing_id) is None:
            raise NotFound(f"No {type_name} with id {thing_id!r}", code="thing_not_found")
        target_type = request.query("type") or None
        refs = self.relationships.related(
            (type_name + "/" + thing_id),
            request.params["verb"],
            request.query("direction") or "out",
            target_type,
            _int_param(request, "limit", 100),
        )
        items = [t for t in (self.things.get(ref.type, ref.id) for ref in refs) if t is not None]
        return json_response({"items": items, "total": len(items)})

    async def _http_relate(self, request: HttpRequest) -> HttpResponse:
        type_name = validate_type_name(request.params["noun"])
        thing_id = validate_id(request.params["id"])
        body = request.json()
        if not isinstance(body, dict):
            raise BadRequest('Body is {"to": "Type/id" or a thing, "data": ...}', code="invalid_ref")
        source = f"{type_name}/{thing_id}"
        target = body.get("to", body)
        condition = Preconditions.from_request(request)

        def work() -> bool:
            if condition:  # the path names the thing: its preconditions guard its new edge
                self.things.check_condition(type_name, thing_id, condition)
            return self.relationships.relate(source, request.params["verb"], target, body.get("data"))

        created = self.things.transaction(work)
        return json_response(
            {"from": as_ref(source).to_dict(), "verb": request.params["verb"], "to": as_ref(target).to_dict(),
             "created": created},
            status=201 if created else 200,
        )  # fmt: skip

    async def _http_query(self, request: HttpRequest) -> HttpResponse:
        body = request.json()
        if not isinstance(body, dict):
            raise BadRequest('Body is {"sql": "SELECT ...", "params": [...]}', code="invalid_sql")
        params = body.get("params")
        if params is not None and not isinstance(params, list):
            raise BadRequest("params is an array", code="invalid_params")
        arguments = {"sql": body.get("sql", ""), **body_arguments(body, {"params": "params"})}
        return json_response(await invoke(self.query, arguments))

    async def _http_list_nouns(self, request: HttpRequest) -> HttpResponse:
        return json_response({"items": [noun.to_dict() for noun in self.nouns.all()]})

    async def _http_register_noun(self, request: HttpRequest) -> HttpResponse:
        body = request.json()
        if not isinstance(body, dict):
            raise BadRequest(
                'Body is {"name": "Person", "plural": "People", "indexes": [...]}', code="invalid_noun"
            )
        indexes = body.get("indexes")
        if indexes is not None and not isinstance(indexes, list):
            raise BadRequest("indexes is an array of property names", code="invalid_noun")
        fields = {"plural": "plural", "indexes": "indexes"}
        arguments = {"name": body.get("name", ""), **body_arguments(body, fields)}
        return json_response(await invoke(self.register_noun, arguments), status=201)

    async def _http_list_verbs(self, request: HttpRequest) -> HttpResponse:
        return json_response({"items": [_verb_dict(forms) for forms in self.verbs.all()]})

    async def _http_register_verb(self, request: HttpRequest) -> HttpResponse:
        body = request.json()
        if not isinstance(body, dict):
            raise BadRequest('Body is {"base": "run", "past": "ran", ...}', code="invalid_verb")
        fields = {"past": "past", "participle": "participle", "third_person": "third_person"}
        arguments = {"base": body.get("base", ""), **body_arguments(body, fields)}
        return json_response(await invoke(self.register_verb, arguments), status=201)

    async def _http_events(self, request: HttpRequest) -> HttpResponse:
        since = request.query("since") or None
        since_ms = None if since is None else decimal_integer(since)
        if since is not None and since_ms is None:
            raise BadRequest("since is epoch milliseconds", code="invalid_since")
        page = self.event_log.list(
            request.query("type") or None,
            request.query("subject") or None,
            since_ms,
            request.query("cursor") or None,
            _int_param(request, "limit", 100),
        )
        return json_response(page)

    async def _http_list_actions(self, request: HttpRequest) -> HttpResponse:
        thing = request.query("thing") or None
        return json_response({"items": self.actions.list(thing, _int_param(request, "limit", 100))})

    async def _http_action(self, request: HttpRequest) -> HttpResponse:
        body = request.json()
        if not isinstance(body, dict):
            raise BadRequest(
                'Body is {"subject": ..., "verb": ..., "object": ..., "data": ...}', code="invalid_action"
            )
        if "subject" not in body or "verb" not in body:
            raise BadRequest("An action has a subject and a verb", code="invalid_action")
        fields = {"subject": "subject", "verb": "verb", "object": "object", "data": "data"}
        return json_response(await invoke(self.record_action, body_arguments(body, fields)), status=201)


seal_rpc_surface(DOSemantic)


def _param_error(value: Any) -> str | None:
    """Why a query parameter cannot be bound, or None."""
    if value is None or isinstance(value, bool | str | bytes):
        return None
    if isinstance(value, int):
        return int64_error(value)
    if isinstance(value, float):
        return "NaN has no SQLite value" if math.isnan(value) else None
    return "params are strings, numbers, booleans, null or bytes"


def _hop(value: Any) -> Hop:
    if not isinstance(value, Mapping) or "verb" not in value:
        raise BadRequest(
            'A hop is {"verb": ..., "direction": "out"|"in", "type": ...}', code="invalid_traversal"
        )
    return Hop(value["verb"], value.get("direction", "out"), value.get("type"))


def _verb_dict(forms: Any) -> dict[str, str]:
    return {
        "base": forms.base,
        "past": forms.past,
        "participle": forms.participle,
        "third_person": forms.third_person,
    }
