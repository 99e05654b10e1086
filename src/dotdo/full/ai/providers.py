"""AI providers: Cloudflare's Workers AI binding and any OpenAI-compatible HTTP endpoint,
behind one small interface (`Provider`).

Which provider serves a model is told by its name: `@cf/...` and `@hf/...` are Workers AI
models (https://developers.cloudflare.com/workers-ai/models/), run through the `AI`
binding (`env.AI.run(model, inputs)`); any other name goes to the OpenAI-compatible
endpoint at `AI_BASE_URL` (OpenAI, Cloudflare AI Gateway's `/compat`, Ollama, llama.cpp,
LM Studio), with `AI_API_KEY` as its bearer token. A provider's failure is a
ProviderError, after which the caller tries the next model of its fallbacks.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from dotdo.errors import DotdoError, ServiceUnavailable

__all__ = [
    "WORKERS_AI_PREFIXES",
    "Completion",
    "Embeddings",
    "HttpFetch",
    "OpenAICompatible",
    "Provider",
    "ProviderError",
    "WorkersAI",
    "no_provider",
    "unavailable",
    "workers_fetch",
]

logger = logging.getLogger("dotdo.full.ai")

WORKERS_AI_PREFIXES = ("@cf/", "@hf/")
"""Model names that Workers AI serves (its catalogue's two namespaces)."""

HttpFetch = Callable[[str, Mapping[str, str], str], Awaitable[tuple[int, str]]]
"""(url, headers, JSON body) -> (status, response text): one POST over HTTP."""


class ProviderError(DotdoError):
    """A provider could not answer (unreachable, an error status, an answer of the wrong
    shape). `retryable` is False for an answer that another try would not change."""

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        """`message` says what failed; `retryable` as the class says."""
        super().__init__(message)
        self.retryable = retryable


def no_provider(model: str) -> ProviderError:
    """No provider serves `model`: say which one is missing, by the model's name."""
    if model.startswith(WORKERS_AI_PREFIXES):
        missing = "no Workers AI binding is bound (`[ai] binding` in wrangler.toml)"
    else:
        missing = "AI_BASE_URL is not set"
    return ProviderError(f"no provider serves {model!r}: {missing}", retryable=False)


def unavailable(
    failed: str, providers: Sequence[Provider], models: Sequence[str], option: str | None
) -> ServiceUnavailable:
    """503 `ai_unavailable` when none of `models` answered: `failed` (each model's error),
    then what the app has to change, by the `providers` it has: without `AI_BASE_URL`, set
    it and name a model its server serves; with it, name such a model when every one
    tried is a Workers AI name, which only the binding runs (module docstring). `option`:
    the class attribute listing the fallbacks (`ai_generate_models`), None for `run`."""
    where = f"in `{option}` or as the call's `model`" if option else "as the call's `model`"
    names = ", ".join(repr(model) for model in models)
    kind = "is a Workers AI name" if len(models) == 1 else "are Workers AI names"
    runs = "it could not" if any(isinstance(p, WorkersAI) for p in providers) else "none is bound"
    workers_only = all(model.startswith(WORKERS_AI_PREFIXES) for model in models)
    hint = ""
    if not any(isinstance(provider, OpenAICompatible) for provider in providers):
        hint = (
            "For a model of an OpenAI-compatible server, set the AI_BASE_URL var to its base URL "
            "(the one `/chat/completions` is appended to, e.g. http://127.0.0.1:11434/v1 for "
            f"Ollama) and name a model it serves {where}"
        )
        if workers_only:  # what failed first: the binding, the only runner of these names
            hint = f"{names} {kind} (@cf/, @hf/), which only the AI binding runs ({runs}). {hint}"
    elif workers_only:
        hint = (
            f"AI_BASE_URL is set, but {names} {kind} (@cf/, @hf/), which only the AI binding "
            f"runs ({runs}), never the server at AI_BASE_URL: name a model that server serves {where}"
        )
    return ServiceUnavailable(f"{failed}. {hint}" if hint else failed, code="ai_unavailable")


@dataclass(frozen=True)
class Completion:
    """A generated answer: its text and the tokens it cost (0 when the provider does not say)."""

    text: str
    tokens: int = 0


@dataclass(frozen=True)
class Embeddings:
    """One vector per input text, in order, and the tokens they cost."""

    vectors: list[list[float]]
    tokens: int = 0


class Provider(Protocol):
    """What the object's AI needs from a provider."""

    name: str

    def serves(self, model: str) -> bool:
        """Whether `model` is this provider's."""
        ...

    async def run(self, model: str, inputs: Mapping[str, Any]) -> Any:
        """The provider's raw answer to `inputs` (Workers AI's shapes)."""
        ...

    async def chat(self, model: str, messages: Sequence[Mapping[str, str]], schema: Any = None) -> Completion:
        """An answer to chat `messages`; with `schema`, JSON asked to follow it."""
        ...

    async def embed(self, model: str, texts: Sequence[str]) -> Embeddings:
        """One embedding per text."""
        ...


def _tokens(usage: Any) -> int:
    if isinstance(usage, Mapping):
        total = usage.get("total_tokens")
        if isinstance(total, int | float) and total >= 0:
            return int(total)
    return 0


def _vectors(data: Any, count: int) -> list[list[float]]:
    if not isinstance(data, list) or len(data) != count:
        raise ProviderError(f"expected {count} embeddings, got {type(data).__name__}", retryable=False)
    vectors = []
    for row in data:
        if not isinstance(row, list) or not row or not all(isinstance(x, int | float) for x in row):
            raise ProviderError("an embedding is not a list of numbers", retryable=False)
        vectors.append([float(x) for x in row])
    return vectors


def _to_js(value: Any) -> Any:
    """A Python value as a JavaScript one, for a binding's method (plain under CPython)."""
    try:
        from js import Object
        from pyodide.ffi import to_js
    except ImportError:
        return value
    return to_js(value, dict_converter=Object.fromEntries)


def _to_py(value: Any) -> Any:
    to_py = getattr(value, "to_py", None)
    return to_py() if callable(to_py) else value


class WorkersAI:
    """The Workers AI binding (`[ai] binding = "AI"` in wrangler.toml): `env.AI.run(model,
    inputs)`, https://developers.cloudflare.com/workers-ai/configuration/bindings/. Locally,
    dotdo's runtime serves the binding itself (an embedding model; no generative one)."""

    name = "workers-ai"

    def __init__(self, binding: Any) -> None:
        self._binding = binding

    def serves(self, model: str) -> bool:
        """`@cf/...` and `@hf/...` models."""
        return model.startswith(WORKERS_AI_PREFIXES)

    async def run(self, model: str, inputs: Mapping[str, Any]) -> Any:
        """`env.AI.run(model, inputs)`, its answer as Python values. ProviderError when the
        binding throws (an unknown model, a bad input, the service down)."""
        try:
            answer = await self._binding.run(model, _to_js(dict(inputs)))
        except Exception as error:  # a JsException from the binding: its message says what
            raise ProviderError(f"Workers AI: {error}") from error  # the caller names the model
        return _to_py(answer)

    async def chat(self, model: str, messages: Sequence[Mapping[str, str]], schema: Any = None) -> Completion:
        """A text-generation model's answer: `{"response": ..., "usage": ...}`; with `schema`,
        Workers AI's JSON mode (`response_format: {"type": "json_schema", ...}`), whose
        `response` may come back already parsed."""
        inputs: dict[str, Any] = {"messages": [dict(message) for message in messages]}
        if schema is not None:
            inputs["response_format"] = {"type": "json_schema", "json_schema": schema}
        answer = await self.run(model, inputs)
        response = answer.get("response") if isinstance(answer, Mapping) else None
        if response is None:
            raise ProviderError("Workers AI answered no `response`", retryable=False)
        text = response if isinstance(response, str) else json.dumps(response)
        return Completion(text, _tokens(answer.get("usage")))

    async def embed(self, model: str, texts: Sequence[str]) -> Embeddings:
        """An embedding model's answer `{"shape": [n, d], "data": [[...], ...]}`."""
        answer = await self.run(model, {"text": list(texts)})
        data = answer.get("data") if isinstance(answer, Mapping) else None
        return Embeddings(_vectors(data, len(texts)), _tokens(answer.get("usage")))


async def workers_fetch(url: str, headers: Mapping[str, str], body: str) -> tuple[int, str]:
    """One POST through the Workers runtime's `fetch` (the SDK's, in Pyodide)."""
    from http import HTTPMethod

    from workers.fetch import fetch

    response = await fetch(url, method=HTTPMethod.POST, headers=dict(headers), body=body)
    return int(response.status), await response.text()


class OpenAICompatible:
    """An OpenAI-compatible HTTP API at `base_url` (ending before `/chat/completions`, e.g.
    `https://api.openai.com/v1`, `http://127.0.0.1:11434/v1` for Ollama), with `api_key`
    as a bearer token when given. `fetch` makes the POSTs (`workers_fetch` in a Worker).
    Every model whose name is not Workers AI's is sent here."""

    name = "openai-compatible"

    def __init__(self, base_url: str, api_key: str | None, fetch: HttpFetch = workers_fetch) -> None:
        self._base = base_url.rstrip("/")
        self._key = api_key
        self._fetch = fetch

    def serves(self, model: str) -> bool:
        """Every model that is not a Workers AI one."""
        return not model.startswith(WORKERS_AI_PREFIXES)

    async def _post(self, path: str, payload: Mapping[str, Any]) -> Any:
        headers = {"content-type": "application/json"}
        if self._key:
            headers["authorization"] = f"Bearer {self._key}"
        try:
            status, text = await self._fetch(f"{self._base}{path}", headers, json.dumps(payload))
        except Exception as error:  # unreachable, refused, reset: the next fallback may answer
            raise ProviderError(f"{self._base}{path}: {error}") from error
        if status >= 400:
            # 429 and 5xx may pass; any other 4xx is this request's fault.
            raise ProviderError(
                f"{path} answered {status}: {text[:200]}", retryable=status == 429 or status >= 500
            )
        try:
            return json.loads(text)
        except ValueError as error:
            raise ProviderError(f"{path} answered no JSON", retryable=False) from error

    async def run(self, model: str, inputs: Mapping[str, Any]) -> Any:
        """Workers AI's input shapes over the OpenAI API: `{"text": [...]}` embeds (answered
        as `{"shape", "data"}`), `{"messages": [...]}` or `{"prompt": ...}` chats (answered
        as `{"response", "usage"}`). ProviderError for any other input."""
        if "text" in inputs:
            texts = inputs["text"]
            embeddings = await self.embed(model, [texts] if isinstance(texts, str) else list(texts))
            dims = len(embeddings.vectors[0]) if embeddings.vectors else 0
            return {"shape": [len(embeddings.vectors), dims], "data": embeddings.vectors}
        messages = inputs.get("messages")
        if messages is None and isinstance(inputs.get("prompt"), str):
            messages = [{"role": "user", "content": inputs["prompt"]}]
        if not isinstance(messages, list):
            raise ProviderError("inputs hold `text`, `messages` or `prompt`", retryable=False)
        completion = await self.chat(model, messages, inputs.get("response_format"))
        return {"response": completion.text, "usage": {"total_tokens": completion.tokens}}

    async def chat(self, model: str, messages: Sequence[Mapping[str, str]], schema: Any = None) -> Completion:
        """POST /chat/completions; with `schema`, `response_format` of type `json_schema`
        (https://platform.openai.com/docs/guides/structured-outputs)."""
        payload: dict[str, Any] = {"model": model, "messages": [dict(message) for message in messages]}
        if schema is not None:
            payload["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "output", "schema": schema},
            }
        answer = await self._post("/chat/completions", payload)
        try:
            text = answer["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError) as error:
            raise ProviderError(
                "/chat/completions answered no choices[0].message.content", retryable=False
            ) from error
        if not isinstance(text, str):
            raise ProviderError("/chat/completions answered a content that is not text", retryable=False)
        return Completion(text, _tokens(answer.get("usage")))

    async def embed(self, model: str, texts: Sequence[str]) -> Embeddings:
        """POST /embeddings; the vectors in input order (the API numbers them by `index`)."""
        answer = await self._post("/embeddings", {"model": model, "input": list(texts)})
        data = answer.get("data") if isinstance(answer, Mapping) else None
        if not isinstance(data, list):
            raise ProviderError("/embeddings answered no `data` list", retryable=False)
        try:
            ordered = sorted(data, key=lambda item: int(item.get("index", 0)))
            vectors = [item["embedding"] for item in ordered]
        except (AttributeError, KeyError, TypeError, ValueError) as error:
            raise ProviderError(
                "/embeddings answered items without an `embedding`", retryable=False
            ) from error
        return Embeddings(_vectors(vectors, len(texts)), _tokens(answer.get("usage")))
