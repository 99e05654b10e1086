"""A Python client for a dotdo object: RPC, pipelines, nouns and event subscriptions.

    async with Client("https://acme.api.example.com", token=token) as client:
        await client.call("get", "greeting")
        summary = await client.pipeline().get_user("alice").get_orders().summarize()
        ada = await client.Customer.create({"name": "Ada"})
        await client.Customer(ada["$id"]).update({"plan": "pro"}, expected_version=ada["$version"])
        async with client.subscribe("Customer.*") as events:  # subscribed when entered
            async for event in events:
                ...

`client.Customer` and `client.Customer("id")` have the methods of `self.Customer()`
and `self.Customer("id")` in the object, with the same answers: each is one
pipeline call to that very method. The token (a capability token, or the
operator token) goes as `Authorization: Bearer`, on the event socket's handshake
too, never in a URL. Runs anywhere httpx and websockets do
(dotdo's `client` extra); never inside a Worker. Server errors are raised as
`RpcError` with the server's `code`. A host under `.localhost`
(`acme.localhost:8787`) is reached on 127.0.0.1 with its name in
the Host header, as the local runtime expects.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from typing import Any, cast
from urllib.parse import urlsplit, urlunsplit

import httpx

from dotdo.client_events import EventSubscription
from dotdo.errors import RpcError
from dotdo.remote.names import TYPE_NAME
from dotdo.wire.codec import decode, encode

__all__ = ["Client", "EventSubscription", "NounResource", "Pipeline", "RpcError", "ThingResource"]


def _raise_for(response: httpx.Response) -> Any:
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.is_success:
        return body
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        raise RpcError(
            str(error.get("code")), str(error.get("message")), response.status_code, error.get("step")
        )
    raise RpcError("http_error", f"HTTP {response.status_code}", response.status_code)


class Client:
    """A connection to one dotdo object, named by its URL (`base_url`: the tenant's host,
    as `https://acme.api.example.com`); use it as an async context manager.

    `token` is a capability token, sent as `X-Capability` (and as `?token=` on
    sockets); `timeout` bounds each HTTP request, in seconds.
    """

    def __init__(self, base_url: str, token: str | None = None, *, timeout: float = 30.0) -> None:
        parts = urlsplit(base_url.rstrip("/"))
        self._host = parts.netloc
        connect_netloc = parts.netloc
        hostname = parts.hostname or ""
        if hostname.endswith(".localhost"):
            connect_netloc = "127.0.0.1" + (f":{parts.port}" if parts.port else "")
        self._base = urlunsplit((parts.scheme, connect_netloc, parts.path, "", ""))
        self._token = token
        headers = {"host": self._host}
        if token:
            headers["authorization"] = f"Bearer {token}"
        self._http = httpx.AsyncClient(base_url=self._base, headers=headers, timeout=timeout)

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP connections; `async with` does it on exit."""
        await self._http.aclose()

    # -- RPC ---------------------------------------------------------------

    async def call(self, method: str, /, *params: Any, **named: Any) -> Any:
        """Call an `@rpc` method of the object (`POST /rpc`) with positional `params` or
        `named` ones (not both: TypeError); its result, decoded (`$bigint`, `$bytes`, ... tags
        become Python values). RpcError with the server's code on any error (`method_not_found`,
        `forbidden`, `invalid_params`, ...)."""
        if params and named:
            raise TypeError("call() takes positional or named parameters, not both")
        body = encode(named if named else list(params))
        response = await self._http.post("/rpc", json={"method": method, "params": body})
        return decode(_raise_for(response)["result"])

    async def events(
        self,
        type: str | None = None,
        subject: str | None = None,
        since: int | None = None,
        until: int | None = None,
        cursor: str | None = None,
        limit: int = 100,
    ) -> dict[str, Any]:
        """One page of the object's events, oldest first, archived ones included:
        `{"items", "has_more", "cursor"}` (`list_events`; `since <= timestamp < until`, epoch ms; pass
        the answer's `cursor` for the next page, None on the last)."""
        page = await self.call("list_events", type, subject, since, until, cursor, limit)
        return cast("dict[str, Any]", page)

    def pipeline(self, *target: str) -> Pipeline:
        """A chain of calls sent in one request when awaited; start at the object, or at
        a noun (`pipeline("Customer")`, `pipeline("Customer", id)`)."""
        return Pipeline(self, list(target), [])

    async def _run(self, target: list[str], steps: list[dict[str, Any]]) -> Any:
        body = {"pipeline": {"target": target, "pipeline": steps}}
        response = await self._http.post("/rpc/pipeline", json=body)
        return decode(_raise_for(response)["result"])

    # -- nouns ----------------------------------------------------------------

    def __getattr__(self, name: str) -> NounResource:
        if TYPE_NAME.fullmatch(name):
            return NounResource(self, name)
        raise AttributeError(name)

    def noun(self, type_name: str) -> NounResource:
        """`client.noun("Customer")`, as `client.Customer`: for a type name held in a variable."""
        return NounResource(self, type_name)

    # -- AI (DOFull) ------------------------------------------------------------

    async def generate(
        self,
        prompt: str,
        *,
        schema: Mapping[str, Any] | None = None,
        system: str | None = None,
        model: str | None = None,
    ) -> Any:
        """The object's `ai.generate` (`ai_generate`): text, or with `schema` the JSON value it
        describes. RpcError `ai_budget_exhausted` (429), `ai_unavailable` /
        `ai_invalid_output` (503), `invalid_schema` (400)."""
        return await self.call("ai_generate", prompt, schema, system, model)

    async def embed(self, texts: str | Sequence[str], *, model: str | None = None) -> dict[str, Any]:
        """The object's `ai_embed`: `{"model", "vectors"}`, one vector per text (1-100); a
        single string is sent as a list of one (the method takes a list only)."""
        result: dict[str, Any] = await self.call(
            "ai_embed", [texts] if isinstance(texts, str) else list(texts), model
        )
        return result

    # -- human in the loop (DOFull) --------------------------------------------

    async def approvals(self, status: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """The object's approvals, oldest first: those with `status` ("pending",
        "approved", "rejected", "expired"; None: all), at most `limit` (1 to 1000), each as
        `GET /approvals/:id` answers it: the first page (`approvals_page`). Scope `read`."""
        return cast("list[dict[str, Any]]", await self.call("approvals", status, limit))

    async def approvals_page(
        self, status: str | None = None, limit: int = 100, cursor: str | None = None
    ) -> dict[str, Any]:
        """`approvals` a page at a time: `{"items", "has_more", "cursor"}`; pass `cursor`
        back for the next page (None on the last). RpcError `invalid_cursor` too."""
        return cast("dict[str, Any]", await self.call("approvals_page", status, limit, cursor))

    async def approval(self, approval_id: str) -> dict[str, Any]:
        """One approval; RpcError `approval_not_found` when there is none."""
        return cast("dict[str, Any]", await self.call("approval", approval_id))

    async def decide_approval(
        self, approval_id: str, decision: str, comment: str | None = None, value: Any = None
    ) -> dict[str, Any]:
        """Decide a pending approval ("approve" or "reject") as the token's subject, with an
        optional `comment` and `value` (any JSON value: the answer the decision gives); the
        waiting workflow resumes before this returns the approval. Needs the `approve`
        scope; RpcError `approval_decided`, `approval_expired`, `approver_not_allowed`,
        `approval_not_found`, `invalid_decision`, `invalid_data`, `value_too_large`."""
        answer = await self.call("decide_approval", approval_id, decision, comment, value)
        return cast("dict[str, Any]", answer)

    # -- events ---------------------------------------------------------------

    def subscribe(self, *patterns: str) -> EventSubscription:
        """Events matching any of `patterns` (`Customer.*`, `*.created`), as they are sent,
        over one `/ws/rpc` socket, as an `EventSubscription` (`dotdo.client_events`: `async
        with client.subscribe(...) as events:` is subscribed when entered; its refusals and
        closes are RpcError; it does not reconnect)."""
        scheme = "wss" if self._base.startswith("https") else "ws"
        connect_to = urlsplit(self._base)
        # The base URL's path stays in front (`http://127.0.0.1:8787/@acme`: the tenant).
        url = f"{scheme}://{self._host}{connect_to.path}/ws/rpc"
        options: dict[str, Any] = {}
        if self._token:  # a header: a URL's query string ends up in logs
            options["additional_headers"] = {"authorization": f"Bearer {self._token}"}
        if connect_to.netloc != self._host:  # a .localhost tenant: the socket goes to loopback
            options.update(host=connect_to.hostname, port=connect_to.port)
        return EventSubscription(url, options, patterns)

    # -- fan-out and rooms (DOFull) -----------------------------------------------

    async def fan_out(
        self,
        targets: Sequence[str],
        method: str,
        *args: Any,
        concurrency: int = 6,
        timeout: float = 30.0,
        retries: int = 0,
    ) -> dict[str, Any]:
        """Have the object call `method(*args)` on every target (`"Noun/id"`), 1-6 at a time:
        `{"method", "ok", "succeeded", "failed", "outcomes": [{"target", "ok", "value",
        "error", "attempts"}]}`. Needs an admin token; RpcError `invalid_fanout` for bad
        targets or options."""
        options = {"concurrency": concurrency, "timeout": timeout, "retries": retries}
        # A string or a mapping goes as it is, for the server to refuse as the wrong type:
        # `list()` made one target of each character, or of each key.
        sent = targets if isinstance(targets, str | Mapping) else list(targets)
        return dict(await self.call("fan_out_call", sent, method, list(args), *options.values()))

    async def broadcast_to_room(self, room: str, data: Any = None, owner: str | None = None) -> int:
        """Send `data` to every socket in `room` (on the object named `owner`, default this
        one); how many sockets took it."""
        return int(await self.call("broadcast_to_room", room, data, owner))


class Pipeline:
    """`client.pipeline().get_user("alice").get_orders()["total"]`, awaited as one request
    (`POST /rpc/pipeline`): each attribute call or item adds a step. Awaiting it gives the
    last step's value; RpcError's `step` names the step (0-based) that failed.

    Made by `Client.pipeline`: `client` sends it, `target` names where it starts
    (`[]`, `["Customer"]`, `["Customer", id]`), `steps` are the calls so far."""

    def __init__(self, client: Client, target: list[str], steps: list[dict[str, Any]]) -> None:
        self._client = client
        self._target = target
        self._steps = steps

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)

        def call(*args: Any) -> Pipeline:
            step = {"type": "method", "name": name, "args": encode(list(args))}
            return Pipeline(self._client, self._target, [*self._steps, step])

        return call

    def __getitem__(self, name: str | int) -> Pipeline:
        return Pipeline(self._client, self._target, [*self._steps, {"type": "property", "name": name}])

    def __await__(self) -> Any:
        return self._client._run(self._target, self._steps).__await__()


class NounResource:
    """The things of one noun, `client.Customer`: the methods of `self.Customer()` in the
    object, with the same arguments and the same answers (each one pipeline call).
    Made by `client.Customer` / `client.noun(type_name)`; `type` is the type name."""

    def __init__(self, client: Client, type_name: str) -> None:
        self._client = client
        self.type = type_name

    def __call__(self, thing_id: str) -> ThingResource:
        return ThingResource(self._client, self.type, thing_id)

    async def _call(self, method: str, args: list[Any], options: dict[str, Any] | None = None) -> Any:
        return await _call_accessor(self._client, [self.type], method, args, options)

    async def create(self, data: Mapping[str, Any] | None = None, /, **properties: Any) -> dict[str, Any]:
        """The new thing; 409 `thing_exists` when its `$id` is taken."""
        return cast("dict[str, Any]", await self._call("create", [{**(data or {}), **properties}]))

    async def create_many(self, items: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """The new things, all or none."""
        result: list[dict[str, Any]] = await self._call("create_many", [[dict(i) for i in items]])
        return result

    async def upsert(self, data: Mapping[str, Any]) -> dict[str, Any]:
        """The thing named by `data["$id"]`, created or merged."""
        return cast("dict[str, Any]", await self._call("upsert", [dict(data)]))

    async def list(
        self,
        where: Mapping[str, Any] | None = None,
        order_by: Any = None,
        limit: int | None = None,
        offset: int | None = None,
        select: str | Sequence[str] | None = None,
        include_deleted: bool = False,
        cursor: str | None = None,
    ) -> list[dict[str, Any]]:
        """The matching things, a list (`page` for `total`, `has_more` and `cursor`), after
        `cursor` when given."""
        options = {"where": where, "order_by": order_by, "limit": limit, "offset": offset, "select": select}
        options["cursor"] = cursor  # `_options` leaves out what is None
        result: list[dict[str, Any]] = await self._call("list", [], _options(options, include_deleted))
        return result

    async def page(
        self,
        where: Mapping[str, Any] | None = None,
        order_by: Any = None,
        limit: int | None = None,
        offset: int | None = None,
        select: str | Sequence[str] | None = None,
        include_deleted: bool = False,
        with_total: bool = False,
        cursor: str | None = None,
    ) -> dict[str, Any]:
        """`{"items", "total", "has_more", "cursor"}`; `total` is null unless the first page
        reaches the end or `with_total=True` counts every match; `cursor`, a page's `cursor`
        of the same query, gives the next page."""
        options = {"where": where, "order_by": order_by, "limit": limit, "offset": offset, "select": select}
        if with_total:
            options["with_total"] = True
        options["cursor"] = cursor
        return cast("dict[str, Any]", await self._call("page", [], _options(options, include_deleted)))

    async def count(self, where: Mapping[str, Any] | None = None, include_deleted: bool = False) -> int:
        """How many things match `where` (all of the type when None)."""
        return cast(int, await self._call("count", [], _options({"where": where}, include_deleted)))

    async def find_first(
        self, where: Mapping[str, Any] | None = None, order_by: Any = None, include_deleted: bool = False
    ) -> dict[str, Any] | None:
        """The first match, or None."""
        options = _options({"where": where, "order_by": order_by}, include_deleted)
        return cast("dict[str, Any] | None", await self._call("find_first", [], options))

    async def search(self, text: str, limit: int = 10) -> builtins.list[dict[str, Any]]:
        """DOFull's semantic search, `self.Customer().search`: `[{"score", "thing"}]`, best
        first. RpcError `noun_not_searchable` (404) unless the class opts the noun in."""
        result: builtins.list[dict[str, Any]] = await self._call("search", [text, limit])
        return result


class ThingResource:
    """One thing, `client.Customer("id")`: the methods of `self.Customer("id")` in the object.
    Made by calling a `NounResource` (`client`, `type_name`) with the `thing_id`."""

    def __init__(self, client: Client, type_name: str, thing_id: str) -> None:
        self._client = client
        self._target = [type_name, thing_id]

    async def _call(self, method: str, args: list[Any]) -> Any:
        return await _call_accessor(self._client, self._target, method, args)

    async def get(self, include_deleted: bool = False, as_of: int | None = None) -> dict[str, Any] | None:
        """The thing, or None when there is none; with `as_of` (epoch ms), as it was then
        (the object's `get_thing_as_of`, which reads its history, archived or not)."""
        if as_of is not None:
            type_name, thing_id = self._target
            then: dict[str, Any] | None = await self._client.call(
                "get_thing_as_of", type_name, thing_id, as_of, include_deleted
            )
            return then
        result: dict[str, Any] | None = await self._call("get", [include_deleted])
        return result

    async def update(self, patch: Mapping[str, Any], expected_version: int | None = None) -> dict[str, Any]:
        """Merge `patch` (RFC 7386); 409 `version_conflict` when `expected_version` is stale."""
        return cast("dict[str, Any]", await self._call("update", [dict(patch), expected_version]))

    async def replace(self, data: Mapping[str, Any], expected_version: int | None = None) -> dict[str, Any]:
        """Replace all of its properties with `data`; 404 `thing_not_found`, 409
        `version_conflict` as for `update`."""
        return cast("dict[str, Any]", await self._call("replace", [dict(data), expected_version]))

    async def delete(self, hard: bool = False) -> dict[str, Any]:
        """Soft delete: the thing with `$deleted_at`; `hard=True`: `{"$id", "$type", "deleted"}`."""
        return cast("dict[str, Any]", await self._call("delete", [hard]))

    async def soft_delete(self) -> dict[str, Any]:
        """`delete()`: the thing with `$deleted_at` (restorable)."""
        return cast("dict[str, Any]", await self._call("soft_delete", []))

    async def restore(self) -> dict[str, Any]:
        """Bring back a soft-deleted thing (one not deleted comes back as it is)."""
        return cast("dict[str, Any]", await self._call("restore", []))

    async def relate(self, verb: str, target: Any, data: Any = None) -> bool:
        """Add the edge this -verb-> target; False when it was there already."""
        result: bool = await self._call("relate", [verb, target, data])
        return result

    async def unrelate(self, verb: str, target: Any) -> bool:
        """Remove the edge this -verb-> target; False when there was none."""
        result: bool = await self._call("unrelate", [verb, target])
        return result

    async def related(
        self, verb: str, direction: str = "out", type_name: str | None = None, limit: int = 100
    ) -> list[dict[str, str]]:
        """References `{"$type", "$id"}` of the things at the other end of `verb` edges."""
        result: list[dict[str, str]] = await self._call("related", [verb, direction, type_name, limit])
        return result

    async def related_page(
        self, verb: str, direction: str = "out", type_name: str | None = None, limit: int = 100,
        cursor: str | None = None, with_total: bool = False,
    ) -> dict[str, Any]:  # fmt: skip
        """`related` a page at a time: `{"items", "total", "has_more", "cursor"}` (the next page's)."""
        args = [verb, direction, type_name, limit, cursor, with_total]
        result: dict[str, Any] = await self._call("related_page", args)
        return result

    async def traverse(self, hops: Sequence[Any], limit: int = 100) -> list[dict[str, str]]:
        """References `{"$type", "$id"}` of the things reached from this one by following
        1-5 `hops` (the object's `traverse`): each `{"verb", "direction": "out"|"in",
        "type": noun or None}` (docs/api.md, "Actions and relationships") or a `Hop`. 400
        `invalid_traversal` for a hop of another shape."""
        type_name, thing_id = self._target
        start = {"$type": type_name, "$id": thing_id}  # a value, never spliced into a string
        steps = hops if isinstance(hops, str) else [_hop_json(hop) for hop in hops]
        result: list[dict[str, str]] = await self._client.call("traverse", start, steps, limit)
        return result


def _hop_json(hop: Any) -> Any:
    """A `Hop` as the JSON object a hop is; anything else as given (the object refuses it)."""
    if isinstance(hop, Mapping) or not all(hasattr(hop, name) for name in ("verb", "direction", "type")):
        return hop
    return {"verb": hop.verb, "direction": hop.direction, "type": hop.type}


def _options(options: dict[str, Any], include_deleted: bool) -> dict[str, Any]:
    """Keyword arguments for a query method: the ones given (the server has the defaults)."""
    given = {name: value for name, value in options.items() if value is not None}
    if include_deleted:
        given["include_deleted"] = True
    return given


async def _call_accessor(
    client: Client, target: list[str], method: str, args: list[Any], options: dict[str, Any] | None = None
) -> Any:
    """One accessor method through `/rpc/pipeline`: positional `args`, or keyword `options`."""
    step = {"type": "method", "name": method, "args": encode(options if options is not None else args)}
    return await client._run(target, [step])
