"""DOFull's AI routes: `POST /ai/generate`, `/ai/embed`, `/ai/run`, `GET /ai/usage`,
`GET /search/:Noun?q=&limit=` and `POST /search/:Noun/reindex`. Each renders the RPC
method of the same operation, so both answer the same value."""

from __future__ import annotations

from typing import Any, Protocol

from dotdo.core.http import HttpRequest, HttpResponse, decimal_integer, json_response
from dotdo.core.router import Router
from dotdo.errors import BadRequest
from dotdo.remote.fields import invoke_body
from dotdo.semantic.names import validate_type_name

__all__ = ["AiRoutes"]

_NOUN = r":noun{[A-Z].*}"


class AiHost(Protocol):
    """The RPC methods the routes render."""

    async def ai_generate(
        self, prompt: str, schema: Any = None, system: str | None = None, model: str | None = None
    ) -> Any:
        """DOFull.ai_generate."""
        ...

    async def ai_embed(self, texts: list[str], model: str | None = None) -> dict[str, Any]:
        """DOFull.ai_embed."""
        ...

    async def ai_run(self, model: str, inputs: Any) -> Any:
        """DOFull.ai_run."""
        ...

    def ai_usage(self) -> dict[str, Any]:
        """DOFull.ai_usage."""
        ...

    async def search_things(self, type_name: str, text: str, limit: int = 10) -> list[dict[str, Any]]:
        """DOFull.search_things."""
        ...

    async def reindex_things(self, type_name: str) -> int:
        """DOFull.reindex_things."""
        ...


def _body(request: HttpRequest, shape: str) -> dict[str, Any]:
    body = request.json()
    if not isinstance(body, dict):
        raise BadRequest(f"Body is {shape}", code="invalid_ai_input")
    return body


class AiRoutes:
    """The routes of `host` (the object)."""

    def __init__(self, host: AiHost) -> None:
        self._host = host

    def routes(self, router: Router) -> None:
        """Register them; generating spends the budget, so it needs `write`."""
        router.post("/ai/generate", scope="write", query=())(self._generate)
        router.post("/ai/embed", scope="write", query=())(self._embed)
        router.post("/ai/run", scope="write", query=())(self._run)
        router.get("/ai/usage", scope="read", query=())(self._usage)
        router.get(f"/search/{_NOUN}", scope="read", query=("q", "limit"))(self._search)
        router.post(f"/search/{_NOUN}/reindex", scope="admin", query=(), body=False)(self._reindex)

    async def _generate(self, request: HttpRequest) -> HttpResponse:
        body = _body(request, '{"prompt": text, "schema": JSON Schema, "system": text, "model": name}')
        fields = {"prompt": "prompt", "schema": "schema", "system": "system", "model": "model"}
        result = await invoke_body(self._host.ai_generate, body, fields)
        return json_response({"result": result})

    async def _embed(self, request: HttpRequest) -> HttpResponse:
        body = _body(request, '{"texts": [text, ...], "model": name}')
        fields = {"texts": "texts", "model": "model"}
        result = await invoke_body(self._host.ai_embed, body, fields)
        return json_response(result)

    async def _run(self, request: HttpRequest) -> HttpResponse:
        body = _body(request, '{"model": name, "inputs": {...}}')
        fields = {"model": "model", "inputs": "inputs"}
        result = await invoke_body(self._host.ai_run, body, fields)
        return json_response({"result": result})

    async def _usage(self, request: HttpRequest) -> HttpResponse:
        return json_response(self._host.ai_usage())

    async def _search(self, request: HttpRequest) -> HttpResponse:
        type_name = validate_type_name(request.params["noun"])
        text = request.query("q")
        if not text:
            raise BadRequest("q is the text to search for", code="invalid_ai_input")
        raw_limit = request.query("limit")
        limit = 10 if not raw_limit else decimal_integer(raw_limit)
        if limit is None:
            raise BadRequest("limit is an integer", code="invalid_limit")
        items = await self._host.search_things(type_name, text, limit)
        return json_response({"items": items})

    async def _reindex(self, request: HttpRequest) -> HttpResponse:
        type_name = validate_type_name(request.params["noun"])
        return json_response({"type": type_name, "indexed": await self._host.reindex_things(type_name)})
