"""DOFull: DOWorkflow plus AI, human-in-the-loop, fan-out and the cascade.

    class Desk(DOFull):
        @workflow
        async def refund(self, request: dict) -> str:
            decision = await self.wait_for_approval("refund", request)   # durable: no process waits
            ...

Each part is a component of its own module in this package, owning its tables, and
reaches the object only through the layer below's documented seams (its SQL, timer
service, run engine and event bus). This class keeps the hooks, routes and RPC methods.
"""

from __future__ import annotations

import builtins
import functools
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import timedelta
from typing import Any, ClassVar

from dotdo.core.access import caller
from dotdo.core.http import HttpRequest, HttpResponse, json_response
from dotdo.core.identity import object_label
from dotdo.core.logs import ObjectLog
from dotdo.core.migrations import Component
from dotdo.core.namespace import Layer
from dotdo.core.router import Router
from dotdo.core.transport import socket_data
from dotdo.core.websocket import MAX_TAGS, parse_tags
from dotdo.errors import BadRequest, UpgradeRequired
from dotdo.full.ai.accessor import SearchableNouns
from dotdo.full.ai.providers import OpenAICompatible, Provider, WorkersAI
from dotdo.full.ai.routes import AiRoutes
from dotdo.full.ai.search import Search, SqliteVectors, VectorizeVectors, VectorStore, check_searchable
from dotdo.full.ai.service import AI, AiOptions, model_names
from dotdo.full.ai.tables import AI_COMPONENT
from dotdo.full.cascade import Accept, Cascade, CascadeResult, default_accept, rpc_tool
from dotdo.full.fanout import DEFAULT_TIMEOUT, FANOUT_COMPONENT, MAX_CONCURRENCY, FanOut, FanOutResult
from dotdo.full.hitl import HumanLoop
from dotdo.full.hitl_routes import ApprovalRoutes
from dotdo.full.hitl_store import HITL_TABLES
from dotdo.full.rooms import Room, parse_rooms, relay_data, relay_owner, room_tag
from dotdo.remote.calls import listed
from dotdo.remote.fields import invoke_body
from dotdo.remote.marks import rpc, seal_rpc_surface
from dotdo.semantic.accessors import NounFactory
from dotdo.semantic.names import validate_type_name
from dotdo.semantic.query import ThingQuery
from dotdo.workflows.durable import DOWorkflow
from dotdo.workflows.steps import RetryPolicy
from dotdo.workflows.stubs import stub_tenant

__all__ = ["DOFull"]

_full_logger, _ai_logger = logging.getLogger("dotdo.full"), logging.getLogger("dotdo.full.ai")


def _env_text(env: Any, name: str) -> str | None:
    value = getattr(env, name, None)
    return value if isinstance(value, str) and value else None


class DOFull(DOWorkflow):
    """DOWorkflow plus the agent layer: approvals and waits for events, fan-out across
    objects, an AI provider and semantic search, and the cascade of code, AI and human.

    Made by the runtime with `ctx` (the DurableObjectState) and `env` (the bindings), as
    DOWorkflow is.
    """

    # -- AI: options ---------------------------------------------------------------
    ai_binding: ClassVar[str] = "AI"
    """The Workers AI binding's name (`[ai] binding = "AI"`); `@cf/` and `@hf/` models run there."""
    ai_generate_models: ClassVar[tuple[str, ...]] = AiOptions.generate_models
    """Models `ai.generate` tries in order (fallbacks). Names other than `@cf/...`/`@hf/...`
    go to the OpenAI-compatible endpoint at the `AI_BASE_URL` var (key: `AI_API_KEY`)."""
    ai_embed_models: ClassVar[tuple[str, ...]] = AiOptions.embed_models
    """Models `ai.embed` (and semantic search) tries in order."""
    ai_cache_ttl: ClassVar[float] = AiOptions.cache_ttl
    """Seconds an answer is reused for the same model and input (0: no cache)."""
    ai_daily_calls: ClassVar[int | None] = AiOptions.daily_calls
    """Calls (`generate`, `embed`, `run`, fallbacks and retries included) per UTC day before 429."""
    ai_daily_tokens: ClassVar[int | None] = AiOptions.daily_tokens
    """Tokens per UTC day (as the providers report them) before 429 `ai_budget_exhausted`."""
    ai_timeout: ClassVar[float] = AiOptions.timeout
    """Seconds one provider call may take before the next model is tried."""
    ai_output_retries: ClassVar[int] = AiOptions.output_retries
    """Further tries of a model whose answer does not match `generate`'s schema."""
    searchable: ClassVar[Mapping[str, Sequence[str]]] = {}
    """Nouns opted in to semantic search, with the properties whose text is embedded:
    `{"Customer": ("name", "notes")}`."""
    vectorize_binding: ClassVar[str | None] = None
    """A Vectorize index binding to keep the vectors in instead of the object's SQLite."""

    reserved_event_nouns: ClassVar[frozenset[str]] = frozenset({"Approval"})
    """`Approval.*` events record decisions: only the approvals component raises them."""
    _dotdo_layer: ClassVar[Layer] = Layer.of(attributes=("hitl", "fanout", "ai", "semantic_search"))

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # A bad declaration fails here, when the class is created, not at its first request.
        check_searchable(cls.searchable, cls.__name__)
        try:
            cls._ai_options()
        except ValueError as error:
            raise TypeError(f"{cls.__name__}: {error}") from error

    def __init__(self, ctx: Any, env: Any) -> None:
        super().__init__(ctx, env)
        label = object_label(self.object_name, getattr(ctx, "id", None))  # its lines name it
        self._full_log, ai_log = ObjectLog(_full_logger, label), ObjectLog(_ai_logger, label)
        # -- human in the loop --
        self.hitl: HumanLoop = HumanLoop(self, self._full_log)
        self.fanout: FanOut = FanOut(self.sql, self.runs, self.stub, self.timers.now, self._full_log)
        # -- AI (issue 12, part 3) ----------------------------------------------------
        options = self._ai_options()
        self.ai: AI = AI(self.sql, self.timers.now, self._ai_providers(), options, self.runs.do, ai_log)
        store: VectorStore = (
            VectorizeVectors(getattr(env, self.vectorize_binding))
            if self.vectorize_binding
            else SqliteVectors(self.sql, self.timers.now)
        )
        self.semantic_search = Search(
            check_searchable(self.searchable, type(self).__name__),
            self.ai,
            store,
            self.things.get,
            self._live_things,
            self.things.get_many,
            ai_log,
        )
        for noun in self.semantic_search.searchable:
            self.bus.subscribe(f"{noun}.*", self.semantic_search.on_event)

    # -- hooks -------------------------------------------------------------

    def migrations(self) -> builtins.list[Component]:
        """DOWorkflow's components, then each part's: `hitl` (approvals, waits for events),
        `fanout` (a durable fan-out's finished targets), `ai` (cache, usage, vectors)."""
        return [*super().migrations(), HITL_TABLES, FANOUT_COMPONENT, AI_COMPONENT]

    def routes(self, router: Router) -> None:
        """DOWorkflow's routes, then each part's: `GET /approvals`, `GET /approvals/:id`
        and `POST /approvals/:id` (human in the loop); `/ws` with `?room=` (rooms) and
        `POST /fanout` (fan-out); the AI's (`AiRoutes`)."""
        super().routes(router)
        # -- human in the loop --
        ApprovalRoutes(self).routes(router)
        # -- rooms: `/ws` again, replacing DOCore's, so that it also takes `?room=` --
        router.get("/ws", scope="read", query=("tags", "room", "token"))(self._http_join_rooms)
        # -- fan-out --
        router.post("/fanout", scope="admin", query=())(self._http_fan_out)
        # -- AI --
        AiRoutes(self).routes(router)

    def noun_factory(self, type_name: str) -> NounFactory:
        """DOWorkflow's accessors, with `search` on the type's (`self.Customer().search(...)`)."""
        accessor = functools.partial(SearchableNouns, search=self.semantic_search)
        return NounFactory(
            self.things, self.relationships, validate_type_name(type_name), self.stub, accessor
        )

    # -- human in the loop ---------------------------------------------------

    async def wait_for_approval(
        self,
        name: str,
        payload: Any = None,
        *,
        approvers: Sequence[str] | None = None,
        timeout: float | timedelta | None = None,
        escalate_to: Sequence[str] | None = None,
        step_id: str | None = None,
    ) -> dict[str, Any]:
        """Inside a `@workflow`: ask for an approval and wait for it durably, as a step.

        Records a pending approval named `name` carrying `payload` (JSON), emits
        `Approval.requested` and suspends the run: no process waits, the run is `waiting`
        with no timer. Deciding it (`POST /approvals/:id`, `decide_approval`) resumes the
        run at this step, which returns `{"id", "decision": "approve"|"reject", "by",
        "at", "comment", "value"}` (`by` the decider's token subject, `at` epoch ms, `value`
        the JSON value the decision gave, or None); the steps
        before it are not run again. `approvers` (token subjects) restricts who may
        decide. After `timeout` seconds undecided it raises ApprovalExpired (the workflow
        may catch it), or with `escalate_to` a new approval for those subjects replaces
        it (`Approval.escalated`), with the same timeout and no further escalation.
        `step_id` names the step (default: its position, as `do`'s).

        RuntimeError outside a workflow run; ValueError / TypeError for bad arguments.
        """
        return await self.hitl.wait_for_approval(
            name, payload, approvers=approvers, timeout=timeout, escalate_to=escalate_to, step_id=step_id
        )

    async def wait_for_event(
        self,
        event_type: str,
        *,
        match: Mapping[str, Any] | None = None,
        timeout: float | timedelta | None = None,
        step_id: str | None = None,
    ) -> dict[str, Any]:
        """Inside a `@workflow`: wait durably, as a step, for an event emitted after the
        wait began whose type matches `event_type` (a pattern, `Order.*`) and whose data
        holds every value of `match` (`{"order.id": "o-1"}`: paths of fields joined by
        dots); returns the event `{"id", "type", "data", "timestamp", "subject",
        "object"}`. EventWaitExpired after `timeout` seconds without one.

        RuntimeError outside a workflow run; 400 `invalid_event_pattern`, TypeError /
        ValueError for bad arguments."""
        return await self.hitl.wait_for_event(event_type, match=match, timeout=timeout, step_id=step_id)

    @rpc(scope="read")
    def approvals(self, status: str | None = None, limit: int = 100) -> builtins.list[dict[str, Any]]:
        """Approvals, oldest request first: those with `status` ("pending", "approved",
        "rejected", "expired"; None: all), at most `limit` (1 to 1000). Each is `{"id",
        "name", "payload", "status", "approvers", "escalate_to", "run_id", "step",
        "requested_at", "expires_at", "decided_by", "decided_at", "comment", "value",
        "escalated_from", "escalated_to", "overdue"}`: `overdue` true for one whose time ran
        out that the timer has not timed out yet, listed as expired (ADR 0058). A read: it
        writes nothing. The first page, a list (`approvals_page` for the next). 400
        `invalid_status`, `invalid_limit`."""
        return self.hitl.approvals(status, limit)

    @rpc(scope="read")
    def approvals_page(
        self, status: str | None = None, limit: int = 100, cursor: str | None = None
    ) -> dict[str, Any]:
        """`approvals` a page at a time (`GET /approvals`): `{"items", "has_more", "cursor"}`,
        oldest request first; pass `cursor` back for the next page (None on the last). A
        page holds fewer than `limit` where its items pass 4 MiB; each item is as it is when
        its page is read. `approvals`' errors, and 400 `invalid_cursor`."""
        return self.hitl.approvals_page(status, limit, cursor)

    @rpc(scope="read")
    def approval(self, approval_id: str) -> dict[str, Any]:
        """One approval (the shape `approvals` lists); 404 `approval_not_found`."""
        return self.hitl.approval(approval_id)

    @rpc(scope="approve")
    async def decide_approval(
        self, approval_id: str, decision: str, comment: str | None = None, value: Any = None
    ) -> dict[str, Any]:
        """Decide a pending approval: `decision` "approve" or "reject", an optional
        `comment`, an optional `value` (JSON: the answer the waiting step returns and the
        cascade's human tier takes). Who decided is the subject of the capability token
        the call came with (None without one). The decision is recorded and emitted
        (`Approval.approved` / `Approval.rejected`) and the waiting run resumes; returns
        the approval after. Needs the `approve` scope; errors as `HumanLoop.decide`'s
        (400 `invalid_decision`, `invalid_comment`, `invalid_data`; 413 `value_too_large`;
        404 `approval_not_found`; 403 `approver_not_allowed`; 409 `approval_decided`,
        `approval_expired`)."""
        return await self.hitl.decide(approval_id, decision, comment, caller(), value=value)

    # -- fan-out -------------------------------------------------------------

    async def fan_out(
        self,
        targets: Iterable[Any] | Mapping[str, Any],
        method: str,
        *args: Any,
        concurrency: int = MAX_CONCURRENCY,
        timeout: float = DEFAULT_TIMEOUT,
        retries: int | RetryPolicy | Mapping[str, Any] = 0,
        step_id: str | None = None,
    ) -> FanOutResult:
        """Call `method(*args)` on every target over Workers RPC, at most `concurrency` (1-6)
        at once, each attempt cut off after `timeout` seconds and retried `retries` times;
        a `FanOutResult` with each target's value or error (see `dotdo.full.fanout`).

        Targets are `("Customer", "c1")`, `"Customer/c1"`, `self.Customer("c1")` (the object
        owning that thing, `stub_name`) or stubs, in a list or a mapping label -> target.
        Inside a `@workflow` run it is a durable step: each finished target is recorded at
        once and never called again on replay. ValueError for bad targets or options."""
        return await self.fanout.run(
            targets, method, *args, concurrency=concurrency, timeout=timeout, retries=retries, step_id=step_id
        )

    @rpc(scope="admin")
    async def fan_out_call(
        self,
        targets: builtins.list[str],
        method: str,
        args: builtins.list[Any] | None = None,
        concurrency: int = MAX_CONCURRENCY,
        timeout: float = DEFAULT_TIMEOUT,
        retries: int = 0,
    ) -> dict[str, Any]:
        """`fan_out` for remote callers: targets as `"Noun/id"`, the result as
        `{"method", "ok", "succeeded", "failed", "outcomes": [{"target", "ok", "value",
        "error", "attempts"}]}`. Admin: this object calls the targets with its own standing.
        400 `invalid_fanout` for bad targets or options."""
        try:
            result = await self.fanout.run(
                targets, method, *listed(args), concurrency=concurrency, timeout=timeout, retries=retries
            )
        except ValueError as error:
            raise BadRequest(str(error), code="invalid_fanout") from error
        return result.to_dict()

    async def _http_fan_out(self, request: HttpRequest) -> HttpResponse:
        body = request.json()
        if not isinstance(body, dict) or "targets" not in body or "method" not in body:
            raise BadRequest(
                'Body is {"targets": ["Noun/id", ...], "method": "name", "args": [...]}',
                code="invalid_fanout",
            )
        fields = {name: name for name in ("targets", "method", "args", "concurrency", "timeout", "retries")}
        return json_response(await invoke_body(self.fan_out_call, body, fields))

    # -- the cascade -------------------------------------------------------------

    async def cascade(
        self,
        task: str,
        input: Any = None,
        *,
        code: Callable[[Any], Any] | None = None,
        generative: str | Mapping[str, Any] | None = None,
        agentic: Mapping[str, Any] | None = None,
        human: bool | Mapping[str, Any] | None = None,
        accept: Accept = default_accept,
    ) -> CascadeResult:
        """Try `task` on `input` with each tier given, in order (a Python function; one AI
        call; an AI loop whose tools are this object's `@rpc` methods; a human approval),
        stopping at the first answer `accept` takes (True; False or a reason string
        rejects). A `CascadeResult`: the answer, the tier that gave it, and each attempt
        with why it was not taken (see `dotdo.full.cascade`). Inside a `@workflow` run each
        tier's attempt is a durable step. The AI tiers use `self.ai`, the human tier
        `self.wait_for_approval`; without them those tiers are attempts that say so.
        ValueError for bad tier options."""
        ai, approve = getattr(self, "ai", None), getattr(self, "wait_for_approval", None)
        cascade = Cascade(self.runs, ai, approve, rpc_tool(self), self._full_log)
        return await cascade.run(
            task, input, code=code, generative=generative, agentic=agentic, human=human, accept=accept
        )

    # -- rooms -----------------------------------------------------------------

    def room(self, name: str) -> Room:
        """Room `name` of this object (its owner): `broadcast(data)`, `members()`, `count()`.
        400 `invalid_room` for a bad name."""
        return Room(name, self.websockets)

    @rpc
    async def broadcast_to_room(self, room: str, data: Any = None, owner: str | None = None) -> int:
        """Send `{"type": "room", "room", "data"}` to every socket in `room`; how many took it.

        `owner` names the object holding the room's sockets in `stub_binding` (the tenant the
        clients joined, `/ws?room=`, or a thing's owner "Type/id", of this object's tenant
        under `stub_scope = "tenant"`); None or this object sends here, any other is relayed
        to it over Workers RPC. 400 `invalid_room`; `relay_owner`'s errors (400
        `invalid_owner`, 403 `foreign_object`, 404 `unknown_noun`), before any object is woken."""
        room_tag(room)
        name = self.object_name
        owner = relay_owner(owner, name, stub_tenant(self.stub_scope, name), self.noun_policy.check)
        if owner is None:
            return self.room(room).broadcast(data)
        data, namespace = relay_data(data), self.stub_namespace()
        stub = namespace.get(namespace.idFromName(owner))
        # The owner is told to send on itself (no owner), never to relay again: an object
        # that does not know its own name would otherwise relay to itself without end.
        return int(await stub.broadcast_to_room(room, data))

    @rpc(scope="read")
    def room_members(self, room: str) -> builtins.list[str]:
        """The connection ids of the sockets in `room` on this object. 400 `invalid_room`."""
        return self.room(room).members()

    async def _http_join_rooms(self, request: HttpRequest) -> HttpResponse:
        """`GET /ws?room=a,b&tags=...`: DOCore's socket, in the rooms named as well."""
        if (request.header("upgrade") or "").lower() != "websocket":
            raise UpgradeRequired("GET /ws expects a WebSocket upgrade")
        tags = parse_tags(request.query_all("tags"))
        tags += [tag for tag in parse_rooms(request.query_all("room")) if tag not in tags]
        if len(tags) > MAX_TAGS:
            raise BadRequest(f"At most {MAX_TAGS} tags and rooms per connection", code="invalid_tag")
        client, _ = self.websockets.accept(tags, socket_data(request))
        return HttpResponse(status=101, web_socket=client)

    # -- AI (issue 12, part 3) -------------------------------------------------------

    @classmethod
    def _ai_options(cls) -> AiOptions:
        return AiOptions(
            generate_models=model_names(cls.ai_generate_models, "ai_generate_models"),
            embed_models=model_names(cls.ai_embed_models, "ai_embed_models"),
            cache_ttl=cls.ai_cache_ttl,
            daily_calls=cls.ai_daily_calls,
            daily_tokens=cls.ai_daily_tokens,
            timeout=cls.ai_timeout,
            output_retries=cls.ai_output_retries,
        )

    def _ai_providers(self) -> builtins.list[Provider]:
        providers: builtins.list[Provider] = []
        binding = getattr(self.env, self.ai_binding, None)
        if binding is not None and not isinstance(binding, str):
            providers.append(WorkersAI(binding))
        base_url = _env_text(self.env, "AI_BASE_URL")
        if base_url is not None:
            providers.append(OpenAICompatible(base_url, _env_text(self.env, "AI_API_KEY")))
        return providers

    def _live_things(self, type_name: str, limit: int, cursor: str | None) -> tuple[Any, str | None]:
        page = self.things.list(type_name, ThingQuery.build(limit=limit, cursor=cursor, with_total=False))
        return page["items"], page["cursor"]

    @rpc
    async def ai_generate(
        self, prompt: str, schema: Any = None, system: str | None = None, model: str | None = None
    ) -> Any:
        """`self.ai.generate`: text, or with `schema` (a JSON Schema) the JSON value it
        describes. 429 `ai_budget_exhausted`, 503 `ai_unavailable` / `ai_invalid_output`."""
        return await self.ai.generate(prompt, schema=schema, system=system, model=model)

    @rpc
    async def ai_embed(self, texts: builtins.list[str], model: str | None = None) -> dict[str, Any]:
        """`{"model", "vectors"}`: one embedding per text (a list of 1-100 strings; 400
        `invalid_params` for anything else, one string too), and the model that made them."""
        return await self.ai.embed_with_model(listed(texts), model=model)

    @rpc
    async def ai_run(self, model: str, inputs: Any) -> Any:
        """`self.ai.run`: a model's raw answer to `inputs`, in Workers AI's shapes."""
        return await self.ai.run(model, inputs)

    @rpc(scope="read")
    def ai_usage(self) -> dict[str, Any]:
        """Today's calls, tokens and limits: `{"day", "calls", "tokens", "daily_calls", "daily_tokens"}`."""
        return self.ai.usage()

    @rpc(scope="read")
    async def search_things(
        self, type_name: str, text: str, limit: int = 10
    ) -> builtins.list[dict[str, Any]]:
        """`self.<Type>().search(text, limit)`: `[{"score", "thing"}]`, best first."""
        return await self.semantic_search.search(validate_type_name(type_name), text, limit)

    @rpc(scope="admin")
    async def reindex_things(self, type_name: str) -> int:
        """Embed every live thing of a searchable noun again; how many were embedded."""
        return await self.semantic_search.reindex(validate_type_name(type_name))


seal_rpc_surface(DOFull)
