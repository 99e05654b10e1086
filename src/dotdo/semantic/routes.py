"""DOSemantic's HTTP routes, each a thin face over the services and the RPC methods:

    POST /query                           the read-only query (`query`)
    GET|POST /nouns, GET|POST /verbs      the registries
    GET /events                           the event log, oldest first, by cursor (since, until)
    GET|POST /actions                     the audit log; record an action
    POST|GET /:Noun                       create (one, or an array), list a page
    GET|PATCH|PUT|DELETE /:Noun/:id       read (ETag, 304; `?as_of=` ms: as it was), merge, replace, delete
    POST /:Noun/:id/restore               undo a soft delete
    GET|POST|DELETE /:Noun/:id/:verb      a page of the edges' other ends; add an edge; remove one

Writes to one thing honour `If-Match` / `If-None-Match` (RFC 9110 §13) and answer
its version and creation time as a strong ETag (`thingdata.version_tag`). The routes
reach the object only through `SemanticHost`; those that render an RPC method
(`query`, `register_noun`, `register_verb`, `record_action`) call it through the RPC
layer's argument check, so a body field of the wrong type is the same 400
`invalid_params`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from dotdo.core.http import HttpRequest, HttpResponse, decimal_integer, json_response, json_text_response
from dotdo.core.page_bytes import MAX_PAGE_BYTES
from dotdo.core.preconditions import Preconditions, Verdict
from dotdo.core.router import Router
from dotdo.errors import BadRequest, NotFound, PreconditionFailed
from dotdo.remote.fields import check_fields, invoke_body
from dotdo.semantic.graph import Actions, EventLog, Ref, Relationships, as_ref
from dotdo.semantic.names import QUERY_PARAMS, validate_type_name
from dotdo.semantic.registry import Nouns, Verbs
from dotdo.semantic.store import ThingRecord, data_bytes
from dotdo.semantic.thingdata import thing_tag, version_tag
from dotdo.semantic.things import Things, validate_id
from dotdo.types import JSON
from dotdo.values import int64_error

__all__ = ["SemanticHost", "SemanticRoutes"]

_NOUN = r":noun{[A-Z].*}"
_VERB = r":verb{[a-z].*}"


class SemanticHost(Protocol):
    """What the routes need of the object: its services, and the methods whose answers
    the routes share with RPC (an application's override of them counts on HTTP too)."""

    things: Things
    relationships: Relationships
    nouns: Nouns
    verbs: Verbs
    event_log: EventLog
    actions: Actions

    def query(self, sql: str, params: Sequence[JSON] | None = None) -> dict[str, Any]:
        """The read-only query: `{"rows", "truncated"}`."""

    def record_action(self, subject: Any, verb: str, object: Any = None, data: JSON = None) -> dict[str, Any]:
        """Record an action: event, edge and audit entry."""

    def register_noun(
        self, name: str, plural: str | None = None, indexes: Sequence[str] = ()
    ) -> dict[str, Any]:
        """Register a noun: its dict."""

    async def get_thing_as_of(
        self, type_name: str, thing_id: str, as_of: int, include_deleted: bool = False
    ) -> dict[str, Any] | None:
        """The thing as it was at `as_of` (epoch ms), or None."""

    async def list_events(
        self,
        pattern: str | None = None,
        subject: str | None = None,
        since: int | None = None,
        until: int | None = None,
        cursor: str | None = None,
        limit: int = 100,
    ) -> dict[str, Any]:
        """A page of events: `{"items", "has_more", "cursor"}`."""

    def register_verb(
        self,
        base: str,
        past: str | None = None,
        participle: str | None = None,
        third_person: str | None = None,
    ) -> dict[str, str]:
        """Register a verb: its forms."""


def _etag(thing: Mapping[str, Any]) -> dict[str, str]:
    return {"etag": str(thing_tag(thing))}


def _held(things: Things, type_name: str, thing_id: str) -> None:
    """404 `thing_not_found` unless this object holds the live thing the path names: an edge
    route answers a missing thing as every route naming one does (docs/api.md, "A missing
    target"), where RPC's `related`, `relate`, `unrelate` take any reference."""
    if things.get(type_name, thing_id) is None:
        raise NotFound(f"No {type_name} with id {thing_id!r}", code="thing_not_found")


def _body_end(body: Mapping[str, Any], fields: Sequence[str]) -> Any:
    """The edge's other end a body names: its `to` (then the body holds only `fields`), else
    the body itself, a thing or `{"$type", "$id"}`."""
    if "to" in body:
        check_fields(body, fields)
    elif "$type" not in body and "$id" not in body:
        # Read as a thing, `{"reason": ...}` was refused as "Invalid type name None": the
        # route looks like "do the verb", and the body was meant as its arguments.
        named = ", ".join(repr(key) for key in list(body)[:3]) or "nothing"
        raise BadRequest(
            'This route adds or removes an edge: the body is {"to": "Type/id", "data": ...} or a '
            f'thing with "$type" and "$id"; it named {named}. An action (a verb with an event) is '
            "POST /actions",
            code="invalid_ref",
        )
    return body.get("to", body)


def _edge_answer(
    request: HttpRequest, type_name: str, thing_id: str, target: Any, key: str, value: bool
) -> dict[str, Any]:
    """`{"from", "verb", "to", <key>: value}`: an edge route's answer (`created`, `deleted`)."""
    return {
        "from": Ref(type_name, thing_id).to_dict(),
        "verb": request.params["verb"],
        "to": as_ref(target).to_dict(),
        key: value,
    }


def _ends(things: Things, refs: Sequence[Ref]) -> list[dict[str, Any]]:
    """An edge page's ends as `GET /:Noun/:id/:verb` answers them: each the thing when this
    object holds it (and it is not deleted), else its reference `{"$type", "$id"}`; read
    together (`Things.get_many`), not a statement an end, and only the first ones whose
    properties fit a page (MAX_PAGE_BYTES, the first always; measured first, `data_bytes`)."""
    sizes = data_bytes(things.store, [ref.id for ref in refs])
    fitting = total = 0
    for ref in refs:
        total += sizes.get(ref.id, 0)
        if fitting and total > MAX_PAGE_BYTES:
            break
        fitting += 1
    refs = refs[:fitting]
    held = things.get_many([(ref.type, ref.id) for ref in refs])
    return [ref.to_dict() if thing is None else thing for ref, thing in zip(refs, held, strict=True)]


def _flag(request: HttpRequest, name: str) -> bool:
    value = (request.query(name) or "false").lower()
    if value not in ("true", "false", "1", "0"):
        raise BadRequest(f"{name} is true or false", code="invalid_query")
    return value in ("true", "1")


def _epoch_ms(request: HttpRequest, name: str, *, empty_is_absent: bool = True) -> int | None:
    """A query parameter in epoch milliseconds (a 64-bit integer), None when absent; 400
    `invalid_<name>` for anything else (an empty value too, unless `empty_is_absent`)."""
    value = request.query(name)
    if value is None or (value == "" and empty_is_absent):
        return None
    number = decimal_integer(value)
    if number is None or int64_error(number):
        raise BadRequest(f"{name} is epoch milliseconds (a 64-bit integer)", code=f"invalid_{name}")
    return number


class SemanticRoutes:
    """The handlers of the routes above, for one object (`host`)."""

    def __init__(self, host: SemanticHost) -> None:
        self._host = host

    def routes(self, router: Router) -> None:
        """Register every route in the module's table on `router`."""
        router.post("/query", scope="read", query=())(self._query)  # read-only SQL: a read
        router.get("/nouns", scope="read", query=())(self._list_nouns)
        router.post("/nouns", scope="admin", query=())(self._register_noun)
        router.get("/verbs", scope="read", query=())(self._list_verbs)
        router.post("/verbs", scope="admin", query=())(self._register_verb)
        router.get("/events", scope="read", query=("type", "subject", "since", "until", "cursor", "limit"))(
            self._events
        )
        router.get("/actions", scope="read", query=("thing", "limit", "cursor"))(self._list_actions)
        router.post("/actions", scope="write", query=())(self._action)
        router.post(f"/{_NOUN}", scope="write", query=())(self._create)
        router.get(f"/{_NOUN}", scope="read", query=QUERY_PARAMS)(self._list)
        router.get(f"/{_NOUN}/:id", scope="read", query=("as_of", "include_deleted"))(self._get)
        router.patch(f"/{_NOUN}/:id", scope="write", query=())(self._update)
        router.put(f"/{_NOUN}/:id", scope="write", query=())(self._replace)
        router.delete(f"/{_NOUN}/:id", scope="write", query=("hard",), body=False)(self._delete)
        router.post(f"/{_NOUN}/:id/restore", scope="write", query=(), body=False)(self._restore)
        router.get(
            f"/{_NOUN}/:id/{_VERB}",
            scope="read",
            query=("type", "direction", "limit", "cursor", "total"),  # `offset` refused: pages by cursor
        )(self._related)
        router.post(f"/{_NOUN}/:id/{_VERB}", scope="write", query=())(self._relate)
        router.delete(f"/{_NOUN}/:id/{_VERB}", scope="write", query=("to",))(self._unrelate)

    async def _create(self, request: HttpRequest) -> HttpResponse:
        type_name = validate_type_name(request.params["noun"])
        things = self._host.things
        condition = Preconditions.from_request(request)
        body = request.json()
        if isinstance(body, list):
            items = things.create_many(type_name, body, condition=condition)
            return json_response({"items": items}, status=201)
        if not isinstance(body, dict):
            raise BadRequest("Body is a thing (a JSON object) or an array of things", code="invalid_data")
        record, _ = things.create_record(type_name, body, condition=condition)
        tag = version_tag(record.version, record.created_at)
        return json_text_response(record.wire_text(), status=201, headers={"etag": str(tag)})

    async def _list(self, request: HttpRequest) -> HttpResponse:
        from dotdo.semantic.query import ThingQuery  # with the first list (ADR 0036)

        type_name = validate_type_name(request.params["noun"])
        query = ThingQuery.from_params({name: request.query(name) for name in QUERY_PARAMS})
        return json_text_response(self._host.things.list_text(type_name, query))

    async def _get(self, request: HttpRequest) -> HttpResponse:
        type_name = validate_type_name(request.params["noun"])
        condition = Preconditions.from_request(request)
        as_of = _epoch_ms(request, "as_of", empty_is_absent=False)
        found: ThingRecord | dict[str, Any] | None
        if as_of is None:  # the record: its answer is written from its stored text (ADR 0032)
            found = self._host.things.get_record(
                type_name, request.params["id"], _flag(request, "include_deleted")
            )
        else:  # the thing as it was then, from its write events (ADR 0024)
            found = await self._host.get_thing_as_of(
                type_name, request.params["id"], as_of, _flag(request, "include_deleted")
            )
        if found is None:  # RFC 9110 §13.2.1: a 404 is answered whatever the preconditions say
            raise NotFound(f"No {type_name} with id {request.params['id']!r}", code="thing_not_found")
        if isinstance(found, ThingRecord):
            tag, thing_id, version = version_tag(found.version, found.created_at), found.id, found.version
        else:
            tag, thing_id, version = thing_tag(found), found["$id"], found["$version"]
        headers = {"etag": str(tag)}
        verdict = condition.evaluate(tag, safe=True)
        if verdict is Verdict.NOT_MODIFIED:
            return HttpResponse(status=304, headers=headers)
        if verdict is Verdict.FAILED:
            raise PreconditionFailed(
                f"{type_name} {thing_id!r} is at version {version} (entity tag {tag}), so If-Match is false",
                current_version=version,
                headers=headers,
            )
        if isinstance(found, ThingRecord):
            return json_text_response(found.wire_text(), headers=headers)
        return json_response(found, headers=headers)

    async def _update(self, request: HttpRequest) -> HttpResponse:
        type_name = validate_type_name(request.params["noun"])
        condition = Preconditions.from_request(request)
        thing = self._host.things.update(type_name, request.params["id"], request.json(), condition=condition)
        return json_response(thing, headers=_etag(thing))

    async def _replace(self, request: HttpRequest) -> HttpResponse:
        type_name = validate_type_name(request.params["noun"])
        condition = Preconditions.from_request(request)
        thing = self._host.things.replace(
            type_name, request.params["id"], request.json(), condition=condition
        )
        return json_response(thing, headers=_etag(thing))

    async def _delete(self, request: HttpRequest) -> HttpResponse:
        type_name = validate_type_name(request.params["noun"])
        thing_id = request.params["id"]
        condition = Preconditions.from_request(request)
        if _flag(request, "hard"):
            if not self._host.things.delete(type_name, thing_id, condition=condition):
                raise NotFound(f"No {type_name} with id {thing_id!r}", code="thing_not_found")
            return json_response({"$id": thing_id, "$type": type_name, "deleted": True})
        thing = self._host.things.soft_delete(type_name, thing_id, condition=condition)
        return json_response(thing, headers=_etag(thing))

    async def _restore(self, request: HttpRequest) -> HttpResponse:
        type_name = validate_type_name(request.params["noun"])
        condition = Preconditions.from_request(request)
        thing = self._host.things.restore(type_name, request.params["id"], condition=condition)
        return json_response(thing, headers=_etag(thing))

    async def _related(self, request: HttpRequest) -> HttpResponse:
        type_name = validate_type_name(request.params["noun"])
        thing_id = validate_id(request.params["id"])
        things = self._host.things
        _held(things, type_name, thing_id)
        from dotdo.semantic.query import parse_total  # with the first list (ADR 0036)

        page = self._host.relationships.page(
            (type_name + "/" + thing_id),
            request.params["verb"],
            request.query("direction") or "out",
            request.query("type") or None,
            request.query_int("limit", 100),
            request.query("cursor") or None,
            parse_total(request.query("total")),
            # Every edge is answered, as `related` answers it: an end this object does not
            # hold (a thing of another object, one not yet created, one deleted) as its reference.
            ends=lambda refs: _ends(things, refs),
        )
        return json_response(page)

    async def _relate(self, request: HttpRequest) -> HttpResponse:
        type_name = validate_type_name(request.params["noun"])
        thing_id = validate_id(request.params["id"])
        body = request.json()
        if not isinstance(body, dict):
            raise BadRequest('Body is {"to": "Type/id" or a thing, "data": ...}', code="invalid_ref")
        target = _body_end(body, ("to", "data"))
        relationships = self._host.relationships
        created = self._change_edge(
            request,
            type_name,
            thing_id,
            lambda source, verb: relationships.relate(source, verb, target, body.get("data")),
        )
        answer = _edge_answer(request, type_name, thing_id, target, "created", created)
        return json_response(answer, status=201 if created else 200)

    async def _unrelate(self, request: HttpRequest) -> HttpResponse:
        type_name = validate_type_name(request.params["noun"])
        thing_id = validate_id(request.params["id"])
        target: Any = request.query("to")
        if target is None:  # else a body, as `POST` takes it
            body = request.json() if request.has_body else None
            if not isinstance(body, dict):
                raise BadRequest(
                    'The edge\'s end is ?to=Type/id or a body {"to": "Type/id"}', code="invalid_ref"
                )
            target = _body_end(body, ("to",))
        elif request.has_body:
            raise BadRequest("The edge's end is ?to= or a body, not both", code="invalid_ref")
        relationships = self._host.relationships
        deleted = self._change_edge(
            request, type_name, thing_id, lambda source, verb: relationships.unrelate(source, verb, target)
        )
        return json_response(_edge_answer(request, type_name, thing_id, target, "deleted", deleted))

    def _change_edge(
        self, request: HttpRequest, type_name: str, thing_id: str, change: Callable[[str, str], bool]
    ) -> bool:
        """`change(source, verb)` (relate or unrelate) in one transaction with the checks of
        the path's thing: held here (`_held`), and its preconditions, which guard its edges."""
        condition = Preconditions.from_request(request)
        things = self._host.things

        def work() -> bool:
            _held(things, type_name, thing_id)
            if condition:
                things.check_condition(type_name, thing_id, condition)
            return change(f"{type_name}/{thing_id}", request.params["verb"])

        changed: bool = things.transaction(work)
        return changed

    async def _query(self, request: HttpRequest) -> HttpResponse:
        body = request.json()
        if not isinstance(body, dict):
            raise BadRequest('Body is {"sql": "SELECT ...", "params": [...]}', code="invalid_sql")
        params = body.get("params")
        if params is not None and not isinstance(params, list | dict):
            raise BadRequest(
                "params is an array (a value a parameter) or an object (named parameters by name)",
                code="invalid_params",
            )
        return json_response(await invoke_body(self._host.query, body, {"params": "params"}, texts=["sql"]))

    async def _list_nouns(self, request: HttpRequest) -> HttpResponse:
        return json_response({"items": [noun.to_dict() for noun in self._host.nouns.all()]})

    async def _register_noun(self, request: HttpRequest) -> HttpResponse:
        body = request.json()
        if not isinstance(body, dict):
            raise BadRequest(
                'Body is {"name": "Person", "plural": "People", "indexes": [...]}', code="invalid_noun"
            )
        # `"indexes": null` or another non-array is refused by the argument check, as over
        # RPC (`body_arguments` passes a null on as None: the default, `()`, is not None).
        fields = {"plural": "plural", "indexes": "indexes"}
        return json_response(
            await invoke_body(self._host.register_noun, body, fields, texts=["name"]), status=201
        )

    async def _list_verbs(self, request: HttpRequest) -> HttpResponse:
        return json_response({"items": [forms.to_dict() for forms in self._host.verbs.all()]})

    async def _register_verb(self, request: HttpRequest) -> HttpResponse:
        body = request.json()
        if not isinstance(body, dict):
            raise BadRequest('Body is {"base": "run", "past": "ran", ...}', code="invalid_verb")
        fields = {"past": "past", "participle": "participle", "third_person": "third_person"}
        return json_response(
            await invoke_body(self._host.register_verb, body, fields, texts=["base"]), status=201
        )

    async def _events(self, request: HttpRequest) -> HttpResponse:
        page = await self._host.list_events(
            request.query("type") or None,
            request.query("subject") or None,
            _epoch_ms(request, "since"),
            _epoch_ms(request, "until"),
            request.query("cursor") or None,
            request.query_int("limit", 100),
        )
        return json_response(page)

    async def _list_actions(self, request: HttpRequest) -> HttpResponse:
        thing = request.query("thing")  # `?thing=` (empty) is no thing: refused, not "all"
        limit = request.query_int("limit", 100)
        return json_response(self._host.actions.page(thing, limit, request.query("cursor") or None))

    async def _action(self, request: HttpRequest) -> HttpResponse:
        body = request.json()
        if not isinstance(body, dict):
            raise BadRequest(
                'Body is {"subject": ..., "verb": ..., "object": ..., "data": ...}', code="invalid_action"
            )
        if "subject" not in body or "verb" not in body:
            raise BadRequest("An action has a subject and a verb", code="invalid_action")
        fields = {"subject": "subject", "verb": "verb", "object": "object", "data": "data"}
        return json_response(await invoke_body(self._host.record_action, body, fields), status=201)
