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
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from dotdo.core.migrations import Component
from dotdo.core.namespace import Layer
from dotdo.core.router import Router
from dotdo.full.ai.accessor import SearchableNouns
from dotdo.full.ai.providers import OpenAICompatible, Provider, WorkersAI
from dotdo.full.ai.routes import AiRoutes
from dotdo.full.ai.search import Search, SqliteVectors, VectorizeVectors, VectorStore, check_searchable
from dotdo.full.ai.service import AI, AiOptions
from dotdo.full.ai.tables import AI_COMPONENT
from dotdo.remote.marks import rpc, seal_rpc_surface
from dotdo.semantic.accessors import NounFactory
from dotdo.semantic.names import validate_type_name
from dotdo.semantic.query import ThingQuery
from dotdo.workflows.durable import DOWorkflow

__all__ = ["DOFull"]


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
    """Provider calls per UTC day before 429 `ai_budget_exhausted` (None: no limit)."""
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

    _dotdo_layer: ClassVar[Layer] = Layer.of(attributes=("ai", "semantic_search"))

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
        # -- AI (issue 12, part 3) ----------------------------------------------------
        self.ai: AI = AI(self.sql, self.timers.now, self._ai_providers(), self._ai_options(), self.runs.do)
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
        )
        for noun in self.semantic_search.searchable:
            self.bus.subscribe(f"{noun}.*", self.semantic_search.on_event)

    # -- hooks -------------------------------------------------------------

    def migrations(self) -> builtins.list[Component]:
        """DOWorkflow's components, then each part's: `ai` (cache, usage, vectors)."""
        return [*super().migrations(), AI_COMPONENT]

    def routes(self, router: Router) -> None:
        """DOWorkflow's routes, then each part's (AI: `AiRoutes`)."""
        super().routes(router)
        AiRoutes(self).routes(router)

    def noun_factory(self, type_name: str) -> NounFactory:
        """DOWorkflow's accessors, with `search` on the type's (`self.Customer().search(...)`)."""
        accessor = functools.partial(SearchableNouns, search=self.semantic_search)
        return NounFactory(
            self.things, self.relationships, validate_type_name(type_name), self.stub, accessor
        )

    # -- AI (issue 12, part 3) -------------------------------------------------------

    @classmethod
    def _ai_options(cls) -> AiOptions:
        return AiOptions(
            generate_models=tuple(cls.ai_generate_models),
            embed_models=tuple(cls.ai_embed_models),
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

    def _live_things(self, type_name: str, limit: int, offset: int) -> builtins.list[dict[str, Any]]:
        query = ThingQuery.build(limit=limit, offset=offset, with_total=False)
        return builtins.list(self.things.list(type_name, query)["items"])

    @rpc
    async def ai_generate(
        self, prompt: str, schema: Any = None, system: str | None = None, model: str | None = None
    ) -> Any:
        """`self.ai.generate`: text, or with `schema` (a JSON Schema) the JSON value it
        describes. 429 `ai_budget_exhausted`, 503 `ai_unavailable` / `ai_invalid_output`."""
        return await self.ai.generate(prompt, schema=schema, system=system, model=model)

    @rpc
    async def ai_embed(self, texts: Any, model: str | None = None) -> dict[str, Any]:
        """`{"model", "vectors"}`: one embedding per text (1-100 texts), and the model that made them."""
        return await self.ai.embed_with_model(texts, model=model)

    @rpc
    async def ai_run(self, model: str, inputs: Any) -> Any:
        """`self.ai.run`: a model's raw answer to `inputs`, in Workers AI's shapes."""
        return await self.ai.run(model, inputs)

    @rpc(scope="read")
    def ai_usage(self) -> dict[str, Any]:
        """Today's provider calls and tokens and the daily limits: `{"day", "calls", "tokens",
        "daily_calls", "daily_tokens"}`."""
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
