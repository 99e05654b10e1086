"""DOFull's AI through the real local runtime: the offline `AI` binding (WordLlama served
from the host side), semantic search kept up to date on writes, generation through an
OpenAI-compatible endpoint, and an AI step that a replay after kill -9 does not repeat.

Generation has no offline model, so it is tested against `openai_server`: a loopback
OpenAI-compatible HTTP server this module starts (an HTTP-boundary test server, from
pytest-httpserver), whose handler counts the calls it answers.
"""

from __future__ import annotations

import asyncio
import json
import math
import threading
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from tests.runtime import ROOT, LocalRuntime, harness_runtime, new_tenant

EMBED_MODEL = "@cf/baai/bge-small-en-v1.5"


class OpenAiTestServer:
    """The loopback OpenAI-compatible server's answers: `/v1/chat/completions` (a summary of
    the prompt, or JSON for a schema; prompts with INVALID_ONCE answer non-JSON until told
    so, with ALWAYS_INVALID never match, with REDOS answer 34 `a`s and a `!`) and
    `/v1/embeddings` (unused by these tests)."""

    def __init__(self) -> None:
        self.prompts: Counter[str] = Counter()
        self.lock = threading.Lock()

    def chat(self, request: Request) -> Response:
        body = json.loads(request.get_data())
        messages = body["messages"]
        prompt = next(m["content"] for m in messages if m["role"] == "user")
        with self.lock:
            self.prompts[prompt] += 1
        told = any(m["role"] == "assistant" for m in messages)
        if "REDOS" in prompt:  # what `^(a+)+$` backtracks on for hours in Python's `re`
            content = json.dumps({"a": "a" * 34 + "!"})
        elif "ALWAYS_INVALID" in prompt:
            content = '{"age": "old"}'
        elif "INVALID_ONCE" in prompt and not told:
            content = "Sure! Here is the person you asked for."
        elif "response_format" in body:
            content = '```json\n{"name": "Ada", "age": 36}\n```'
        else:
            content = f"summary of: {prompt}"
        answer = {
            "choices": [{"message": {"role": "assistant", "content": content}}],
            "usage": {"total_tokens": 7},
        }
        return Response(json.dumps(answer), content_type="application/json")


@pytest.fixture(scope="module")
def openai_server() -> Iterator[tuple[HTTPServer, OpenAiTestServer]]:
    answers = OpenAiTestServer()
    server = HTTPServer(host="127.0.0.1", port=0)
    server.expect_request("/v1/chat/completions", method="POST").respond_with_handler(answers.chat)
    server.start()
    yield server, answers
    server.clear()
    if server.is_running():
        server.stop()


@pytest.fixture(scope="module")
def ai_runtime(
    openai_server: tuple[HTTPServer, OpenAiTestServer], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LocalRuntime]:
    server, _ = openai_server
    base = tmp_path_factory.mktemp("ai")
    runtime = harness_runtime(
        base / "state",
        base / "server.log",
        vars={"HARNESS_RPC_SECRET": "harness-secret-for-tests", "AI_BASE_URL": server.url_for("/v1")},
        out=ROOT / ".dotdo" / "test-host-ai",
    )
    runtime.start()
    yield runtime
    runtime.stop()


def _post(client: httpx.Client, path: str, body: Any) -> httpx.Response:
    return client.post(f"/_ai{path}", json=body)


def test_the_local_ai_binding_embeds_offline_as_workers_ai_answers(ai_runtime: LocalRuntime) -> None:
    with ai_runtime.client() as c:
        response = _post(
            c, "/ai/run", {"model": EMBED_MODEL, "inputs": {"text": ["a red apple", "a green pear"]}}
        )
        assert response.status_code == 200, response.text
        result = response.json()["result"]
        assert result["shape"] == [2, len(result["data"][0])] and len(result["data"]) == 2
        assert all(math.isclose(math.hypot(*row), 1.0, rel_tol=1e-3) for row in result["data"])

        embedded = _post(c, "/ai/embed", {"texts": ["a red apple"]}).json()
        assert embedded["model"] == EMBED_MODEL
        assert embedded["vectors"][0] == pytest.approx(result["data"][0], rel=1e-5)

        # No generative model offline: a clear 503 naming the way out, never a 500.
        refused = _post(c, "/ai/generate", {"prompt": "hi", "model": "@cf/meta/llama-3.1-8b-instruct"})
        assert refused.status_code == 503, refused.text
        assert refused.json()["error"]["code"] == "ai_unavailable"
        # AI_BASE_URL is set here: the way out is a model its server serves, not setting it.
        message = refused.json()["error"]["message"]
        assert "AI_BASE_URL is set, but '@cf/meta/llama-3.1-8b-instruct' is a Workers AI name" in message
        assert "`model`" in message and "set AI_BASE_URL" not in message

        for bad in ({"texts": []}, {"texts": [""]}, {"texts": "x" * 40_000}, [1]):
            answer = _post(c, "/ai/embed", bad)
            assert answer.status_code == 400, (bad, answer.text)


def test_semantic_search_finds_by_meaning_and_follows_writes(ai_runtime: LocalRuntime) -> None:
    with ai_runtime.client() as c:
        people = {
            "baker": "runs a bakery selling fresh bread, croissants and cakes",
            "mechanic": "repairs cars, engines and brakes in a garage",
            "coder": "writes software and debugs Python programs",
        }
        for thing_id, notes in people.items():
            created = _post(c, "/Customer", {"$id": thing_id, "name": thing_id.title(), "notes": notes})
            assert created.status_code == 201, created.text

        def search(q: str, limit: int = 3) -> list[dict[str, Any]]:
            response = c.get("/_ai/search/Customer", params={"q": q, "limit": limit})
            assert response.status_code == 200, response.text
            items: list[dict[str, Any]] = response.json()["items"]
            return items

        hits = search("pastry and baked goods")
        assert hits[0]["thing"]["$id"] == "baker"
        assert hits[0]["score"] > hits[-1]["score"]
        assert search("fixing an automobile engine")[0]["thing"]["$id"] == "mechanic"

        # A write re-embeds the thing; a delete takes it out of the results.
        updated = c.patch("/_ai/Customer/coder", json={"notes": "bakes sourdough bread at home"})
        assert updated.status_code == 200, updated.text
        assert {hit["thing"]["$id"] for hit in search("bread", limit=2)} == {"baker", "coder"}
        assert c.delete("/_ai/Customer/baker").status_code in (200, 204)
        assert "baker" not in {hit["thing"]["$id"] for hit in search("bread")}

        # The same operation over RPC (the accessor's `search`) answers the same hits.
        rpc = ai_runtime.rpc(
            f"{c.tenant}", "search_things", "Customer", "bread", 2, binding="AI_HARNESS"
        ).json()
        assert [hit["thing"]["$id"] for hit in rpc["result"]] == [
            hit["thing"]["$id"] for hit in search("bread", 2)
        ]

        assert c.get("/_ai/search/Order", params={"q": "x"}).json()["error"]["code"] == "noun_not_searchable"
        assert c.get("/_ai/search/Customer", params={"q": "x", "limit": 0}).status_code == 400
        assert c.get("/_ai/search/Customer").status_code == 400


def test_generation_through_an_openai_compatible_endpoint(
    ai_runtime: LocalRuntime, openai_server: tuple[HTTPServer, OpenAiTestServer]
) -> None:
    schema = {
        "type": "object",
        "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
        "required": ["name", "age"],
    }
    with ai_runtime.client() as c:
        text = _post(c, "/ai/generate", {"prompt": f"hello {c.tenant}"})
        assert text.status_code == 200, text.text
        assert text.json() == {"result": f"summary of: hello {c.tenant}"}

        person = _post(c, "/ai/generate", {"prompt": f"a person {c.tenant}", "schema": schema})
        assert person.json() == {"result": {"name": "Ada", "age": 36}}

        # An answer that is not JSON is asked again, with what was wrong.
        retried = _post(c, "/ai/generate", {"prompt": f"INVALID_ONCE {c.tenant}", "schema": schema})
        assert retried.json() == {"result": {"name": "Ada", "age": 36}}
        assert openai_server[1].prompts[f"INVALID_ONCE {c.tenant}"] == 2

        never = _post(c, "/ai/generate", {"prompt": f"ALWAYS_INVALID {c.tenant}", "schema": schema})
        assert never.status_code == 503 and never.json()["error"]["code"] == "ai_invalid_output"

        bad = _post(c, "/ai/generate", {"prompt": "x", "schema": {"type": "no-such-type"}})
        assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_schema"
        usage = c.get("/_ai/ai/usage").json()
        # Four calls (one a generate, its output retries included) of seven requests, each
        # reporting 7 tokens: a call is counted once, tokens for every request.
        assert usage["calls"] == 4 and usage["tokens"] == 7 * 7

        # A client's pattern is matched in linear time (ADR 0022), or refused before any call.
        catastrophic = {"type": "object", "properties": {"a": {"type": "string", "pattern": "^(a+)+$"}}}
        redos = _post(c, "/ai/generate", {"prompt": f"REDOS {c.tenant}", "schema": catastrophic})
        assert redos.status_code == 503 and redos.json()["error"]["code"] == "ai_invalid_output", redos.text
        backreference = {"type": "object", "patternProperties": {"(a)\\1": {}}}
        refused = _post(c, "/ai/generate", {"prompt": f"never asked {c.tenant}", "schema": backreference})
        assert refused.status_code == 400 and refused.json()["error"]["code"] == "invalid_schema"
        assert openai_server[1].prompts[f"never asked {c.tenant}"] == 0


def test_an_ai_step_is_not_repeated_when_a_run_is_replayed_after_kill_9(
    ai_runtime: LocalRuntime, openai_server: tuple[HTTPServer, OpenAiTestServer]
) -> None:
    with ai_runtime.client() as c:
        started = c.post("/_ai/workflows/summarise", json={"input": f"notes of {c.tenant}"})
        assert started.status_code == 201, started.text
        run = started.json()
        assert run["status"] == "waiting", run  # the step after the AI call failed once
        prompt = f"Summarise: notes of {c.tenant}"
        assert openai_server[1].prompts[prompt] == 1

    ai_runtime.crash()
    ai_runtime.restart()

    with ai_runtime.client(c.tenant) as c:
        fired = c.post("/_ai/_test/alarm", json={"now": run["next_at"] + 1000})
        assert fired.status_code == 200, fired.text
        status = c.get(f"/_ai/workflows/{run['id']}").json()
        assert status["status"] == "completed", status
        assert status["result"] == {"summary": f"summary of: {prompt}"}
    assert openai_server[1].prompts[prompt] == 1  # recorded once, never asked again


def test_the_python_client_reaches_generate_embed_and_search(ai_runtime: LocalRuntime) -> None:
    from dotdo.client import Client, RpcError

    tenant = new_tenant()

    async def calls() -> None:
        async with Client(f"http://{tenant}.localhost:{ai_runtime.port}/_ai") as client:
            await client.Customer.create(
                {"$id": "b", "name": "Bea", "notes": "sells fresh bread and pastries"}
            )
            await client.Customer.create({"$id": "m", "name": "Max", "notes": "repairs car engines"})
            hits = await client.Customer.search("bakery", limit=1)
            assert [hit["thing"]["$id"] for hit in hits] == ["b"]
            embedded = await client.embed(["bakery"])
            assert embedded["model"] == EMBED_MODEL and len(embedded["vectors"]) == 1
            assert await client.generate(f"hello {tenant}") == f"summary of: hello {tenant}"
            try:
                await client.Order.search("x")
            except RpcError as error:
                assert error.code == "noun_not_searchable"
            else:
                raise AssertionError("an Order search was answered")

    asyncio.run(calls())
