"""`self.ai`: one object's AI calls over its providers, with a cache, a daily budget,
timeouts, fallbacks across models, and durable steps inside workflows.

    answer = await self.ai.generate("Summarise: ...")
    order = await self.ai.generate("Extract the order", schema={"type": "object", ...})
    vectors = await self.ai.embed(["first text", "second text"])
    raw = await self.ai.run("@cf/baai/bge-small-en-v1.5", {"text": ["hello"]})

Order of work for one call: the cache (a hit costs nothing and counts nothing), then each
model of the fallbacks in order; a provider error or a timeout moves on to the next model.
The budget counts the call (`generate`, `embed`, `run`) once, before its first provider
request, fallbacks and output retries included; tokens are counted for every request. Inside a `@workflow` run
the whole call is one durable step (the run engine's `do`): its answer is recorded, and a
replay returns the record without calling, counting or billing again. See ADR 0026.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from dotdo.core.logs import Log
from dotdo.core.sql import Sql
from dotdo.errors import BadRequest, ServiceUnavailable, TooManyRequests
from dotdo.full.ai.providers import Completion, Embeddings, Provider, ProviderError, no_provider, unavailable
from dotdo.full.ai.schema import InvalidOutput, Validator, compile_schema, parse_output
from dotdo.workflows.steps import CURRENT_RUN

__all__ = ["AI", "AiOptions", "Step", "model_names"]

logger = logging.getLogger("dotdo.full.ai")

Step = Callable[..., Awaitable[Any]]
"""The run engine's `do(action, *args)`: a durable step of the current workflow run."""

DAY_MS = 86_400_000
MAX_CACHED_BYTES = 512 * 1024
"""Answers larger than this are not cached (a row holds at most 2 MB on Cloudflare)."""
MAX_TEXTS = 100
"""Texts one `embed` call takes (Workers AI's embedding models take up to 100)."""
MAX_TEXT_CHARS = 32_768
"""Characters of one text or prompt."""


@dataclass(frozen=True)
class AiOptions:
    """An object's AI settings (DOFull's `ai_*` class options).

    `generate_models` / `embed_models`: the models tried in order (fallbacks); `cache_ttl`:
    seconds an answer is reused (0: no cache); `daily_calls` / `daily_tokens`: calls
    (one a `generate`, `embed` or `run` that reached a provider, its fallbacks and output
    retries included) and the tokens providers report, per UTC day (None: no limit);
    `timeout`: seconds one provider request may take; `output_retries`: further tries of a
    model whose structured output is invalid.
    """

    generate_models: tuple[str, ...] = ("@cf/meta/llama-3.1-8b-instruct",)
    embed_models: tuple[str, ...] = ("@cf/baai/bge-small-en-v1.5",)
    cache_ttl: float = 3600.0
    daily_calls: int | None = 1000
    daily_tokens: int | None = None
    timeout: float = 30.0
    output_retries: int = 2

    def __post_init__(self) -> None:
        model_names(self.generate_models, "ai_generate_models")
        model_names(self.embed_models, "ai_embed_models")
        if not self.generate_models or not self.embed_models:
            raise ValueError("ai_generate_models and ai_embed_models name at least one model")
        if not self.cache_ttl >= 0 or not self.timeout > 0:
            raise ValueError("ai_cache_ttl is >= 0 seconds and ai_timeout > 0 seconds")
        if self.output_retries < 0:
            raise ValueError("ai_output_retries is >= 0")
        for limit in (self.daily_calls, self.daily_tokens):
            if limit is not None and limit < 0:
                raise ValueError("ai_daily_calls and ai_daily_tokens are >= 0 (or None: no limit)")


def model_names(value: Any, option: str) -> tuple[str, ...]:
    """A models option (`option`: `ai_generate_models`, `ai_embed_models`) as a tuple of
    model names. ValueError unless it is a list or tuple of non-empty strings: a single
    string too, which `tuple()` would split into one "model" per character."""
    if (
        isinstance(value, str)
        or not isinstance(value, Sequence)
        or not all(isinstance(name, str) and name for name in value)
    ):
        raise ValueError(f'{option} is a tuple of model names, e.g. ("@cf/baai/bge-small-en-v1.5",)')
    return tuple(value)


def _day(now_ms: int) -> str:
    return datetime.fromtimestamp(now_ms / 1000, UTC).strftime("%Y-%m-%d")


def _check_run_inputs(inputs: Mapping[str, Any]) -> None:
    """The input shapes of Workers AI's task types that a caller can get wrong, checked before
    any call, so a malformed input is the caller's 400 and never a provider's 503: `text`
    (embeddings: a string or a list of 1-MAX_TEXTS strings), `prompt` (a string), `messages`
    (a list of `{"role", "content"}` objects)."""
    if "text" in inputs:
        text = inputs["text"]
        items = [text] if isinstance(text, str) else text
        if not isinstance(items, list) or not 1 <= len(items) <= MAX_TEXTS:
            raise BadRequest(
                f"inputs.text is a string or a list of 1-{MAX_TEXTS} strings", code="invalid_ai_input"
            )
        for item in items:
            _check_text(item, "each of inputs.text")
    if "prompt" in inputs:
        _check_text(inputs["prompt"], "inputs.prompt")
    if "messages" in inputs:
        messages = inputs["messages"]
        if (
            not isinstance(messages, list)
            or not messages
            or not all(
                isinstance(m, Mapping)
                and isinstance(m.get("role"), str)
                and isinstance(m.get("content"), str)
                for m in messages
            )
        ):
            raise BadRequest(
                'inputs.messages is a non-empty list of {"role": str, "content": str}',
                code="invalid_ai_input",
            )


def _check_text(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise BadRequest(f"{what} is a non-empty string", code="invalid_ai_input")
    if len(value) > MAX_TEXT_CHARS:
        raise BadRequest(f"{what} is at most {MAX_TEXT_CHARS} characters", code="invalid_ai_input")
    return value


def _check_model(model: Any) -> str:
    if not isinstance(model, str) or not model or len(model) > 200:
        raise BadRequest("model is a model name (1-200 characters)", code="invalid_ai_input")
    return model


class AI:
    """The AI of one object: `providers` in the order they are asked whether they serve a
    model, `sql` for the cache and the budget (the `ai` component's tables), `clock` in
    epoch ms, `options` as AiOptions, `log` takes its lines. `step` is the run engine's `do`, used
    inside a workflow run so that a call is recorded once and never repeated on replay."""

    def __init__(
        self,
        sql: Sql,
        clock: Callable[[], int],
        providers: Sequence[Provider],
        options: AiOptions,
        step: Step | None = None,
        log: Log = logger,
    ) -> None:
        self._sql, self._log = sql, log
        self._clock = clock
        self._providers = tuple(providers)
        self.options = options
        self._step = step

    # -- the calls ---------------------------------------------------------------

    async def run(self, model: str, inputs: Mapping[str, Any]) -> Any:
        """The raw answer of `model` to `inputs`, in Workers AI's shapes (`{"text": [...]}` ->
        `{"shape", "data"}`, `{"messages"|"prompt"}` -> `{"response"}`). No fallbacks (the
        model is named); cached, budgeted and durable as every call."""
        model = _check_model(model)
        if not isinstance(inputs, Mapping):
            raise BadRequest("inputs is a JSON object", code="invalid_ai_input")
        try:
            json.dumps(inputs, allow_nan=False)
        except (TypeError, ValueError) as error:
            raise BadRequest(f"inputs is not JSON: {error}", code="invalid_ai_input") from error
        _check_run_inputs(inputs)
        payload = {"model": model, "inputs": dict(inputs)}
        return await self._durable(self._run_now, payload)

    async def generate(
        self,
        prompt: str,
        *,
        schema: Mapping[str, Any] | None = None,
        system: str | None = None,
        model: str | None = None,
    ) -> Any:
        """The answer to `prompt` (with an optional `system` message): text, or with `schema`
        (a JSON Schema) the JSON value it describes, checked, a model whose answer does not
        match being asked again up to `output_retries` times. `model` replaces the fallbacks.

        400 `invalid_ai_input` / `invalid_schema` for bad arguments; 429 `ai_budget_exhausted`
        when the day's budget is spent; 503 `ai_invalid_output` when no model's answer
        matched the schema, 503 `ai_unavailable` when no model answered."""
        _check_text(prompt, "prompt")
        if system is not None:
            _check_text(system, "system")
        if schema is not None:
            compile_schema(schema)  # a bad schema is the caller's 400, before any call
        models = [_check_model(model)] if model is not None else list(self.options.generate_models)
        payload = {"prompt": prompt, "system": system, "schema": schema, "models": models}
        return await self._durable(self._generate_now, payload)

    async def embed(self, texts: str | Sequence[str], *, model: str | None = None) -> list[list[float]]:
        """One embedding per text (a single string is a list of one), in order. 400
        `invalid_ai_input` for an empty list, more than MAX_TEXTS texts or an empty text."""
        return (await self.embed_with_model(texts, model=model))["vectors"]  # type: ignore[no-any-return]

    async def embed_with_model(
        self, texts: str | Sequence[str], *, model: str | None = None, durable: bool = True
    ) -> dict[str, Any]:
        """`embed`, also saying which model answered: `{"model", "vectors"}` (a search compares
        vectors of one model only). `durable=False` never makes it a step of the current
        run (the search index embeds on writes, whichever task it runs in)."""
        items = [texts] if isinstance(texts, str) else texts
        if not isinstance(items, Sequence) or not 1 <= len(items) <= MAX_TEXTS:
            raise BadRequest(f"texts is a list of 1-{MAX_TEXTS} strings", code="invalid_ai_input")
        checked = [_check_text(text, "each text") for text in items]
        models = [_check_model(model)] if model is not None else list(self.options.embed_models)
        payload = {"texts": checked, "models": models}
        if not durable:
            return await self._embed_now(payload)
        return await self._durable(self._embed_now, payload)  # type: ignore[no-any-return]

    def usage(self) -> dict[str, Any]:
        """Today's (UTC) provider calls and tokens, and the limits: `{"day", "calls",
        "tokens", "daily_calls", "daily_tokens"}`."""
        day = _day(self._clock())
        row = self._sql.first("SELECT calls, tokens FROM dotdo_ai_usage WHERE day = ?", day)
        return {
            "day": day,
            "calls": int(row["calls"]) if row else 0,
            "tokens": int(row["tokens"]) if row else 0,
            "daily_calls": self.options.daily_calls,
            "daily_tokens": self.options.daily_tokens,
        }

    # -- durable steps -----------------------------------------------------------

    async def _durable(
        self, action: Callable[[dict[str, Any]], Awaitable[Any]], payload: dict[str, Any]
    ) -> Any:
        if self._step is not None and CURRENT_RUN.get() is not None:
            return await self._step(action, payload)
        return await action(payload)

    # -- one call, now -----------------------------------------------------------

    async def _run_now(self, payload: dict[str, Any]) -> Any:
        model = payload["model"]
        cached, key = self._cached("run", payload)
        if key is None:
            return cached
        try:
            provider = self._provider(model)
            answer = await self._call(model, provider.run(model, payload["inputs"]), _Spend())
        except ProviderError as error:
            raise unavailable(f"{model}: {error}", self._providers, [model], None) from error
        self._count(_usage_tokens(answer))
        self._remember(key, answer)
        return answer

    async def _generate_now(self, payload: dict[str, Any]) -> Any:
        cached, key = self._cached("generate", payload)
        if key is None:
            return cached
        schema = payload["schema"]
        validator = None if schema is None else compile_schema(schema)
        messages = [{"role": "user", "content": payload["prompt"]}]
        if payload["system"] is not None:
            messages.insert(0, {"role": "system", "content": payload["system"]})
        failures: list[str] = []
        invalid = False
        spend = _Spend()
        for model in payload["models"]:
            try:
                result = await self._generate_with(model, messages, schema, validator, spend)
            except ProviderError as error:
                self._log.warning("AI model %s failed: %s; trying the next", model, error)
                failures.append(f"{model}: {error}")
                continue
            except InvalidOutput as error:
                self._log.warning("AI model %s gave no valid output: %s; trying the next", model, error)
                failures.append(f"{model}: {error}")
                invalid = True
                continue
            self._remember(key, result)
            return result
        if invalid:
            raise ServiceUnavailable(
                "No model's answer matched the schema: " + "; ".join(failures), code="ai_invalid_output"
            )
        failed = "No model answered: " + "; ".join(failures)
        raise unavailable(failed, self._providers, payload["models"], "ai_generate_models")

    async def _generate_with(
        self,
        model: str,
        messages: list[dict[str, str]],
        schema: Any,
        validator: Validator | None,
        spend: _Spend,
    ) -> Any:
        provider = self._provider(model)
        asked = list(messages)
        for attempt in range(self.options.output_retries + 1):
            completion: Completion = await self._call(model, provider.chat(model, asked, schema), spend)
            self._count(completion.tokens)
            if validator is None:
                return completion.text
            try:
                return parse_output(completion.text, validator)
            except InvalidOutput as error:
                if attempt == self.options.output_retries:
                    raise
                # Asked again with what was wrong: models mend a near miss when told.
                asked = [
                    *messages,
                    {"role": "assistant", "content": completion.text},
                    {
                        "role": "user",
                        "content": f"{error}. Answer again with JSON only, matching the schema.",
                    },
                ]
        raise AssertionError("unreachable")  # pragma: no cover

    async def _embed_now(self, payload: dict[str, Any]) -> dict[str, Any]:
        cached, key = self._cached("embed", payload)
        if key is None:
            return cached  # type: ignore[no-any-return]
        failures: list[str] = []
        spend = _Spend()
        for model in payload["models"]:
            try:
                provider = self._provider(model)
                embeddings: Embeddings = await self._call(
                    model, provider.embed(model, payload["texts"]), spend
                )
            except ProviderError as error:
                self._log.warning("AI model %s failed: %s; trying the next", model, error)
                failures.append(f"{model}: {error}")
                continue
            self._count(embeddings.tokens)
            result = {"model": model, "vectors": embeddings.vectors}
            self._remember(key, result)
            return result
        failed = "No embedding model answered: " + "; ".join(failures)
        raise unavailable(failed, self._providers, payload["models"], "ai_embed_models")

    def _provider(self, model: str) -> Provider:
        for provider in self._providers:
            if provider.serves(model):
                return provider
        raise no_provider(model)

    async def _call(self, model: str, call: Awaitable[Any], spend: _Spend) -> Any:
        """One provider request of the call `spend` follows: budgeted, cut off at `timeout`."""
        try:
            self._spend_call(spend)
        except TooManyRequests:
            if asyncio.iscoroutine(call):
                call.close()  # never started: no "never awaited" warning
            raise
        try:
            return await asyncio.wait_for(call, self.options.timeout)
        except TimeoutError as error:
            raise ProviderError(f"timed out after {self.options.timeout} s") from error

    # -- the budget ----------------------------------------------------------------

    def _spend_call(self, spend: _Spend) -> None:
        """Before a provider request: 429 `ai_budget_exhausted` (Retry-After: to the next UTC
        midnight) when today's tokens, or (first request) calls, are spent; else count the call."""
        now = self._clock()
        day = _day(now)
        row = self._sql.first("SELECT calls, tokens FROM dotdo_ai_usage WHERE day = ?", day)
        calls = int(row["calls"]) if row else 0
        tokens = int(row["tokens"]) if row else 0
        limits = self.options
        if (not spend.counted and limits.daily_calls is not None and calls >= limits.daily_calls) or (
            limits.daily_tokens is not None and tokens >= limits.daily_tokens
        ):
            retry_after = (DAY_MS - now % DAY_MS) / 1000
            raise TooManyRequests(
                f"This object's AI budget for {day} is spent ({calls} calls, {tokens} tokens)",
                retry_after=retry_after,
                code="ai_budget_exhausted",
            )
        if spend.counted:  # a fallback or an output retry: part of a call counted already
            return
        self._sql.run(
            "INSERT INTO dotdo_ai_usage (day, calls, tokens) VALUES (?, 1, 0) "
            "ON CONFLICT (day) DO UPDATE SET calls = calls + 1",
            day,
        )
        spend.counted = True

    def _count(self, tokens: int) -> None:
        if tokens > 0:
            self._sql.run(
                "UPDATE dotdo_ai_usage SET tokens = tokens + ? WHERE day = ?", tokens, _day(self._clock())
            )

    # -- the cache -----------------------------------------------------------------

    def _cached(self, kind: str, payload: Mapping[str, Any]) -> tuple[Any, str | None]:
        """(the cached answer, None) on a hit; (None, the key to remember it under) on a miss."""
        key = hashlib.sha256(json.dumps([kind, payload], sort_keys=True).encode()).hexdigest()
        if self.options.cache_ttl <= 0:
            return None, key
        row = self._sql.first("SELECT value, expires_at FROM dotdo_ai_cache WHERE key = ?", key)
        if row is not None and int(row["expires_at"]) > self._clock():
            return json.loads(str(row["value"])), None
        return None, key

    def _remember(self, key: str, value: Any) -> None:
        if self.options.cache_ttl <= 0:
            return
        text = json.dumps(value)
        if len(text) > MAX_CACHED_BYTES:
            return
        now = self._clock()
        self._sql.run("DELETE FROM dotdo_ai_cache WHERE expires_at <= ?", now)
        self._sql.run(
            "INSERT OR REPLACE INTO dotdo_ai_cache (key, value, expires_at) VALUES (?, ?, ?)",
            key,
            text,
            now + int(self.options.cache_ttl * 1000),
        )


@dataclass
class _Spend:
    """One call's place in the budget: `counted` once its first provider request was."""

    counted: bool = False


def _usage_tokens(answer: Any) -> int:
    usage = answer.get("usage") if isinstance(answer, Mapping) else None
    total = usage.get("total_tokens") if isinstance(usage, Mapping) else None
    return int(total) if isinstance(total, int | float) and total > 0 else 0
