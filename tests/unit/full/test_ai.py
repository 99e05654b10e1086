"""DOFull's AI under CPython: vectors, structured output, the cache, the budget, timeouts,
fallbacks, durable steps, the providers' wire formats and the search index. Providers
are test doubles of the provider interface (the HTTP boundary is `fetch`, injected)."""

from __future__ import annotations

import asyncio
import importlib
import json
import math
import sys
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dotdo.core.migrations import migrate
from dotdo.core.sql import Sql
from dotdo.errors import BadRequest, NotFound, ServiceUnavailable, TooManyRequests
from dotdo.full.ai.providers import Completion, Embeddings, OpenAICompatible, ProviderError, WorkersAI
from dotdo.full.ai.schema import InvalidOutput, compile_schema, parse_output
from dotdo.full.ai.search import Search, SqliteVectors, VectorizeVectors, value_text
from dotdo.full.ai.service import AI, AiOptions
from dotdo.full.ai.tables import AI_COMPONENT
from dotdo.full.ai.vectors import cosine, normalized, pack, top_k, unpack
from dotdo.semantic.eventtypes import Event
from tests.storage import Storage

DAY = 86_400_000


class Clock:
    def __init__(self, now: int = 1_800_000_000_000) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


class FakeProvider:
    """Serves models starting with `prefix`; answers from `replies` (a text, an exception
    to raise, or "sleep" to never answer in time) and counts its calls."""

    name = "fake"

    def __init__(self, prefix: str = "m", replies: Sequence[Any] = ("ok",), tokens: int = 3) -> None:
        self.prefix = prefix
        self.replies = list(replies)
        self.tokens = tokens
        self.calls: list[tuple[str, Any]] = []

    def serves(self, model: str) -> bool:
        return model.startswith(self.prefix)

    def _next(self) -> Any:
        reply = self.replies[min(len(self.calls) - 1, len(self.replies) - 1)]
        if isinstance(reply, Exception):
            raise reply
        return reply

    async def run(self, model: str, inputs: Mapping[str, Any]) -> Any:
        self.calls.append((model, inputs))
        return {"response": self._next(), "usage": {"total_tokens": self.tokens}}

    async def chat(self, model: str, messages: Sequence[Mapping[str, str]], schema: Any = None) -> Completion:
        self.calls.append((model, list(messages)))
        reply = self._next()
        if reply == "sleep":
            await asyncio.sleep(10)
        return Completion(reply, self.tokens)

    async def embed(self, model: str, texts: Sequence[str]) -> Embeddings:
        self.calls.append((model, list(texts)))
        self._next()
        return Embeddings([_toy_embedding(text) for text in texts], self.tokens)


def _toy_embedding(text: str) -> list[float]:
    """Bag of letters: texts sharing letters are near (enough to check the ranking)."""
    return [float(text.lower().count(letter)) for letter in "abcdefghijklmnopqrstuvwxyz"]


def make_ai(*providers: Any, clock: Clock | None = None, step: Any = None, **options: Any) -> tuple[AI, Sql]:
    sql = Sql(Storage())
    migrate(sql, [(AI_COMPONENT.name, AI_COMPONENT.migrations)], 0)
    defaults: dict[str, Any] = {"generate_models": ("m-1",), "embed_models": ("m-embed",)}
    return AI(sql, clock or Clock(), providers, AiOptions(**{**defaults, **options}), step), sql


# -- vectors -----------------------------------------------------------------------


@given(st.lists(st.floats(-1e6, 1e6, width=32), min_size=1, max_size=64))
def test_pack_and_unpack_keep_float32_values(values: list[float]) -> None:
    blob = pack(values)
    assert len(blob) == 4 * len(values)
    assert list(unpack(memoryview(blob))) == values  # a BLOB comes back as a memoryview


@settings(max_examples=60)
@given(
    st.lists(st.lists(st.floats(-10, 10), min_size=4, max_size=4), min_size=1, max_size=30),
    st.lists(st.floats(-10, 10), min_size=4, max_size=4),
    st.integers(1, 10),
)
def test_top_k_is_the_exact_cosine_ranking(rows: list[list[float]], query: list[float], k: int) -> None:
    unit_rows = [normalized(row) for row in rows]
    hits = top_k(normalized(query), ((str(i), row) for i, row in enumerate(unit_rows)), k)
    expected = sorted((cosine(query, row) for row in rows), reverse=True)[:k]
    assert [score for _, score in hits] == pytest.approx(expected, abs=1e-9)


def test_vectors_of_another_length_are_never_compared() -> None:
    assert top_k([1.0, 0.0], [("a", [1.0, 0.0, 0.0]), ("b", [0.0, 1.0])], 5) == [("b", 0.0)]
    with pytest.raises(ValueError):
        cosine([1.0], [1.0, 2.0])
    with pytest.raises(ValueError):
        normalized([math.nan])


# -- structured output ---------------------------------------------------------------


def test_structured_output_is_parsed_from_a_fence_and_checked() -> None:
    validator = compile_schema(
        {"type": "object", "required": ["n"], "properties": {"n": {"type": "integer"}}}
    )
    assert parse_output('```json\n{"n": 2}\n```', validator) == {"n": 2}
    assert parse_output('{"n": 2}', validator) == {"n": 2}
    with pytest.raises(InvalidOutput, match="not JSON"):
        parse_output("Sure! n is two", validator)
    with pytest.raises(InvalidOutput, match="schema"):
        parse_output('{"n": "two"}', validator)
    for bad in ({"type": "nope"}, ["type"], {"x": math.inf}):
        with pytest.raises(BadRequest) as error:
            compile_schema(bad)
        assert error.value.code == "invalid_schema"


# -- the service ---------------------------------------------------------------------


def test_the_cache_answers_a_repeated_call_without_the_provider_until_it_expires() -> None:
    provider = FakeProvider(replies=["first", "second"])
    clock = Clock()
    ai, _ = make_ai(provider, clock=clock, cache_ttl=60)
    assert asyncio.run(ai.generate("hi")) == "first"
    assert asyncio.run(ai.generate("hi")) == "first"
    assert len(provider.calls) == 1 and ai.usage()["calls"] == 1  # a hit counts nothing
    clock.now += 61_000
    assert asyncio.run(ai.generate("hi")) == "second"
    assert asyncio.run(ai.generate("hi", system="be brief")) == "second"  # another input: a miss
    assert len(provider.calls) == 3


def test_the_daily_budget_refuses_with_429_until_the_next_utc_day() -> None:
    provider = FakeProvider()
    clock = Clock(now=(1_800_000_000_000 // DAY) * DAY + DAY - 90_000)  # 90 s before midnight UTC
    ai, _ = make_ai(provider, clock=clock, cache_ttl=0, daily_calls=2)
    asyncio.run(ai.generate("a"))
    asyncio.run(ai.generate("b"))
    with pytest.raises(TooManyRequests) as refused:
        asyncio.run(ai.generate("c"))
    assert refused.value.code == "ai_budget_exhausted" and refused.value.retry_after == 90
    assert len(provider.calls) == 2
    clock.now += 90_000
    assert asyncio.run(ai.generate("c")) == "ok"  # a new day, a new budget


def test_a_call_is_counted_once_with_its_fallbacks_and_output_retries() -> None:
    # The user's case: the first model always fails (offline), the second answers, with
    # one output retry; three provider requests, one call of a budget of one.
    offline = FakeProvider(prefix="@cf/", replies=[ProviderError("no generative model offline")])
    local = FakeProvider(prefix="local", replies=["nope", '{"n": 1}'], tokens=5)
    ai, _ = make_ai(
        offline, local, generate_models=("@cf/meta/llama-3.1-8b-instruct", "local-model"), daily_calls=1
    )
    schema = {"type": "object", "required": ["n"]}
    assert asyncio.run(ai.generate("count", schema=schema)) == {"n": 1}
    assert [len(offline.calls), len(local.calls)] == [1, 2]
    assert ai.usage()["calls"] == 1 and ai.usage()["tokens"] == 10  # every request's tokens
    with pytest.raises(TooManyRequests) as refused:
        asyncio.run(ai.generate("again"))
    assert refused.value.code == "ai_budget_exhausted"
    assert [len(offline.calls), len(local.calls)] == [1, 2]  # refused before any request
    # embed and run are one call each too; a call no provider serves reaches none: not counted
    ai, _ = make_ai(offline, FakeProvider(prefix="m"), embed_models=("@cf/e", "m-embed"), daily_calls=2)
    assert len(asyncio.run(ai.embed(["a", "b"]))) == 2
    with pytest.raises(ServiceUnavailable):
        asyncio.run(ai.generate("x", model="zzz"))
    assert asyncio.run(ai.run("m-1", {"prompt": "p"}))["response"] == "ok"
    assert ai.usage()["calls"] == 2


def test_the_token_budget_stops_a_call_between_its_requests() -> None:
    # The first answer spends the day's tokens and does not match: its retry is refused.
    provider = FakeProvider(replies=["nope", '{"n": 1}'], tokens=100)
    ai, _ = make_ai(provider, daily_calls=None, daily_tokens=100)
    with pytest.raises(TooManyRequests):
        asyncio.run(ai.generate("count", schema={"type": "object", "required": ["n"]}))
    assert len(provider.calls) == 1 and ai.usage()["calls"] == 1


def test_the_token_budget_counts_what_the_provider_reports() -> None:
    ai, _ = make_ai(FakeProvider(tokens=40), cache_ttl=0, daily_calls=None, daily_tokens=100)
    for prompt in "abc":
        asyncio.run(ai.generate(prompt))
    assert ai.usage()["tokens"] == 120
    with pytest.raises(TooManyRequests):
        asyncio.run(ai.generate("d"))


def test_fallbacks_move_on_after_an_error_or_a_timeout() -> None:
    failing = FakeProvider(prefix="a", replies=[ProviderError("down")])
    slow = FakeProvider(prefix="b", replies=["sleep"])
    good = FakeProvider(prefix="c", replies=["from c"])
    ai, _ = make_ai(failing, slow, good, generate_models=("a-1", "b-1", "c-1"), timeout=0.05)
    assert asyncio.run(ai.generate("hi")) == "from c"
    assert [len(p.calls) for p in (failing, slow, good)] == [1, 1, 1]
    assert ai.usage()["calls"] == 1  # one call, whatever its fallbacks (ADR 0026)

    with pytest.raises(ServiceUnavailable) as none:
        asyncio.run(ai.generate("hi", model="zzz"))  # no provider serves it
    assert none.value.code == "ai_unavailable" and "AI_BASE_URL" in str(none.value)


class OfflineBinding:
    """The local AI binding's answer to a generative model: an error (localrt/aihost.py)."""

    async def run(self, model: str, inputs: Any) -> Any:
        raise RuntimeError(f"{model}: the local AI binding has no generative model offline")


async def _unreachable(url: str, headers: Mapping[str, str], body: str) -> tuple[int, str]:
    raise AssertionError("a Workers AI name never goes to AI_BASE_URL")


def _refusal(ai: AI, call: str) -> str:
    with pytest.raises(ServiceUnavailable) as refused:
        if call == "generate":
            asyncio.run(ai.generate("hi"))
        elif call == "embed":
            asyncio.run(ai.embed(["hi"]))
        else:
            asyncio.run(ai.run("@cf/meta/llama-3.1-8b-instruct", {"prompt": "hi"}))
    assert refused.value.code == "ai_unavailable"
    return str(refused.value)


@pytest.mark.parametrize("call", ["generate", "embed", "run"])
def test_ai_unavailable_says_what_the_app_is_missing(call: str) -> None:
    # The user's case: AI_BASE_URL set, the default model a @cf/ name, which only the
    # binding runs: the 503 told them to set AI_BASE_URL, which they had.
    option = {"generate": "`ai_generate_models`", "embed": "`ai_embed_models`", "run": "`model`"}[call]
    defaults = {"generate_models": AiOptions.generate_models, "embed_models": AiOptions.embed_models}
    remote = OpenAICompatible("http://127.0.0.1:11434/v1", None, _unreachable)

    ai, _ = make_ai(WorkersAI(OfflineBinding()), remote, **defaults)
    message = _refusal(ai, call)
    assert "AI_BASE_URL is set, but '@cf/" in message and "only the AI binding runs" in message
    assert option in message and "set the AI_BASE_URL" not in message

    ai, _ = make_ai(remote, **defaults)  # no binding at all
    message = _refusal(ai, call)
    assert "no Workers AI binding is bound" in message and "(none is bound)" in message

    ai, _ = make_ai(WorkersAI(OfflineBinding()), **defaults)  # no AI_BASE_URL
    message = _refusal(ai, call)
    assert "set the AI_BASE_URL var" in message and "/chat/completions` is appended" in message
    assert option in message and "AI_BASE_URL is set" not in message


def test_invalid_structured_output_is_asked_again_then_refused() -> None:
    schema = {"type": "object", "required": ["n"]}
    provider = FakeProvider(replies=["nope", '{"n": 1}'])
    ai, _ = make_ai(provider)
    assert asyncio.run(ai.generate("count", schema=schema)) == {"n": 1}
    retry = provider.calls[1][1]
    assert retry[-2] == {"role": "assistant", "content": "nope"} and "JSON" in retry[-1]["content"]

    stubborn = FakeProvider(replies=["nope"])
    ai, _ = make_ai(stubborn, output_retries=1)
    with pytest.raises(ServiceUnavailable) as refused:
        asyncio.run(ai.generate("count", schema=schema))
    assert refused.value.code == "ai_invalid_output" and len(stubborn.calls) == 2


def test_bad_arguments_are_400_before_any_call() -> None:
    provider = FakeProvider()
    ai, _ = make_ai(provider)
    for call in (
        lambda: ai.generate(""),
        lambda: ai.generate("x" * 40_000),
        lambda: ai.generate("x", schema={"type": 1}),
        lambda: ai.embed([]),
        lambda: ai.embed(["a"] * 101),
        lambda: ai.run("", {}),
        lambda: ai.run("m-1", [1]),  # type: ignore[arg-type]
        # malformed task inputs were sent on and came back as 503 ai_unavailable
        lambda: ai.run("@cf/baai/bge-small-en-v1.5", {"text": []}),
        lambda: ai.run("@cf/baai/bge-small-en-v1.5", {"text": [1, None]}),
        lambda: ai.run("@cf/baai/bge-small-en-v1.5", {"text": ["a"] * 101}),
        lambda: ai.run("m-1", {"prompt": 7}),
        lambda: ai.run("m-1", {"messages": [{"role": "user"}]}),
    ):
        with pytest.raises(BadRequest):
            asyncio.run(call())
    assert provider.calls == []


def test_inside_a_workflow_run_a_call_is_one_durable_step() -> None:
    from dotdo.workflows.steps import CURRENT_RUN, RunContext

    recorded: dict[str, Any] = {}

    async def step(action: Any, payload: Any) -> Any:  # the run engine's `do`, recording by action
        key = action.__qualname__
        if key not in recorded:
            recorded[key] = await action(payload)
        return recorded[key]

    provider = FakeProvider(replies=["once"])
    ai, _ = make_ai(provider, step=step, cache_ttl=0)

    async def replay() -> Any:
        token = CURRENT_RUN.set(RunContext("run-1"))
        try:
            return await ai.generate("hi")
        finally:
            CURRENT_RUN.reset(token)

    assert asyncio.run(replay()) == asyncio.run(replay()) == "once"
    assert len(provider.calls) == 1 and list(recorded) == ["AI._generate_now"]


# -- the providers' wire formats -----------------------------------------------------


def test_openai_compatible_requests_and_answers() -> None:
    sent: list[tuple[str, Mapping[str, str], Any]] = []
    answers = {
        "/chat/completions": (
            200,
            {"choices": [{"message": {"content": "hi"}}], "usage": {"total_tokens": 5}},
        ),
        "/embeddings": (
            200,
            {"data": [{"index": 1, "embedding": [0, 1]}, {"index": 0, "embedding": [1, 0]}]},
        ),
    }

    async def fetch(url: str, headers: Mapping[str, str], body: str) -> tuple[int, str]:
        sent.append((url, headers, json.loads(body)))
        status, answer = answers[url.removeprefix("http://h/v1")]
        return status, json.dumps(answer)

    provider = OpenAICompatible("http://h/v1/", "key", fetch)
    completion = asyncio.run(provider.chat("gpt", [{"role": "user", "content": "q"}], {"type": "object"}))
    assert completion == Completion("hi", 5)
    url, headers, body = sent[0]
    assert url == "http://h/v1/chat/completions" and headers["authorization"] == "Bearer key"
    assert body["response_format"]["json_schema"]["schema"] == {"type": "object"}
    assert asyncio.run(provider.embed("e", ["a", "b"])).vectors == [[1.0, 0.0], [0.0, 1.0]]  # by index
    assert asyncio.run(provider.run("e", {"text": ["a", "b"]}))["shape"] == [2, 2]
    assert not provider.serves("@cf/baai/bge-small-en-v1.5") and provider.serves("gpt-4o-mini")

    answers["/chat/completions"] = (500, {"error": "boom"})
    with pytest.raises(ProviderError) as failed:
        asyncio.run(provider.chat("gpt", [{"role": "user", "content": "q"}]))
    assert failed.value.retryable
    answers["/chat/completions"] = (200, {"nothing": True})
    with pytest.raises(ProviderError):
        asyncio.run(provider.chat("gpt", [{"role": "user", "content": "q"}]))


def test_workers_ai_binding_shapes() -> None:
    class Binding:
        async def run(self, model: str, inputs: dict[str, Any]) -> Any:
            if "text" in inputs:
                return {"shape": [len(inputs["text"]), 2], "data": [[1, 2]] * len(inputs["text"])}
            if "response_format" in inputs:
                return {"response": {"n": 1}}  # JSON mode may answer parsed JSON
            raise RuntimeError("AiError: 5007: No such model")

    provider = WorkersAI(Binding())
    assert asyncio.run(provider.embed("@cf/e", ["a"])).vectors == [[1.0, 2.0]]
    assert asyncio.run(provider.chat("@cf/g", [], {"type": "object"})).text == '{"n": 1}'
    with pytest.raises(ProviderError, match="No such model"):
        asyncio.run(provider.chat("@cf/g", []))


# -- search --------------------------------------------------------------------------


def _page(items: list[dict[str, Any]], limit: int, cursor: str | None) -> tuple[Any, str | None]:
    """A page of `items` as a thing list answers one: the cursor is where the next starts."""
    start = int(cursor or 0)
    return items[start : start + limit], str(start + limit) if start + limit < len(items) else None


def test_a_search_reads_its_hits_together() -> None:
    """The hits' things are read in one call (`Things.get_many`: a few statements), not
    one read a hit; a thing gone since its vector was kept is skipped, as before."""
    clock = Clock()
    ai, sql = make_ai(FakeProvider(), clock=clock)
    things = {
        f"c{n}": {"$id": f"c{n}", "$type": "Customer", "$version": 1, "name": "a" * (n + 1)} for n in range(8)
    }
    reads: list[list[tuple[str, str]]] = []

    def one(type_name: str, thing_id: str) -> dict[str, Any] | None:
        reads.append([(type_name, thing_id)])  # indexing checks a thing here: not a search
        return things.get(thing_id)

    def many(keys: list[tuple[str, str]]) -> list[dict[str, Any] | None]:
        reads.append(keys)
        return [things.get(thing_id) for _, thing_id in keys]

    search = Search({"Customer": ("name",)}, ai, SqliteVectors(sql, clock), one, lambda *_: ([], None), many)

    async def scenario() -> list[dict[str, Any]]:
        for thing in things.values():
            await search.on_event(Event("e", "Customer.created", thing, clock.now))
        await search.settle()
        del things["c0"]  # gone since its vector was kept
        reads.clear()
        return await search.search("Customer", "a", 3)

    hits = asyncio.run(scenario())
    assert len(hits) == 3 and "c0" not in {hit["thing"]["$id"] for hit in hits}
    assert len(reads) == 1 and len(reads[0]) == 8  # the 3 asked and 5 more, at once
    assert [hit["score"] for hit in hits] == sorted((hit["score"] for hit in hits), reverse=True)


def test_search_follows_the_events_of_searchable_nouns() -> None:
    clock = Clock()
    provider = FakeProvider()
    ai, sql = make_ai(provider, clock=clock, cache_ttl=0)  # count every text the provider embeds
    things: dict[str, dict[str, Any]] = {}
    store = SqliteVectors(sql, clock)
    search = Search(
        {"Customer": ("name",)},
        ai,
        store,
        lambda _type, thing_id: things.get(thing_id),
        lambda _type, limit, cursor: _page(list(things.values()), limit, cursor),
    )

    async def write(event: str, thing_id: str, name: str | None, version: int = 1) -> None:
        thing = {"$id": thing_id, "$type": "Customer", "$version": version, "name": name}
        if event == "deleted":
            things.pop(thing_id, None)
        else:
            things[thing_id] = thing
        await search.on_event(Event("e", f"Customer.{event}", thing, clock.now))

    async def ids(text: str, limit: int = 5) -> list[str]:
        return [hit["thing"]["$id"] for hit in await search.search("Customer", text, limit)]

    async def scenario() -> None:
        for index in range(250):  # one batch write: queued, embedded 100 a call
            await write("created", f"n{index}", "q" * (index % 5 + 1))
        await write("created", "1", "aaaa")
        await write("created", "2", "zzzz")
        hits = await search.search("Customer", "aaa", 2)
        assert [hit["thing"]["$id"] for hit in hits] == ["1", "2"] and hits[0]["score"] == pytest.approx(1.0)
        embedded = [texts for _, texts in provider.calls if isinstance(texts, list) and len(texts) > 1]
        assert sum(map(len, embedded)) == 252 and all(len(texts) <= 100 for texts in embedded)
        await write("updated", "2", "aaab", version=2)
        assert (await ids("aaab", 1)) == ["2"]
        await write("deleted", "1", None)
        assert "1" not in await ids("aaa", 100)
        # Deleted while its embedding was being made: no vector is left behind.
        await write("created", "3", "ccc")
        await write("deleted", "3", None)
        await search.settle()
        assert sql.first("SELECT COUNT(*) AS n FROM dotdo_ai_vectors WHERE id = '3'")["n"] == 0  # type: ignore[index]
        # The vectors kept in memory since the first search answer as SQLite's do.
        query = normalized(_toy_embedding("aaq"))
        cold = await SqliteVectors(sql, clock).nearest("Customer", "m-embed", query, 50)
        assert await store.nearest("Customer", "m-embed", query, 50) == cold

    asyncio.run(scenario())
    sql.run("DELETE FROM dotdo_ai_vectors")
    assert asyncio.run(search.reindex("Customer")) == 251
    with pytest.raises(NotFound):
        asyncio.run(search.search("Order", "x"))
    with pytest.raises(BadRequest):
        asyncio.run(search.search("Customer", "x", 0))
    with pytest.raises(BadRequest) as listed:  # one query text, never a list of them
        asyncio.run(search.search("Customer", ["x", "y"], 5))  # type: ignore[arg-type]
    assert listed.value.code == "invalid_ai_input"


def test_a_thing_embeds_the_text_in_its_lists_and_nested_objects() -> None:
    clock = Clock()
    provider = FakeProvider()
    ai, sql = make_ai(provider, clock=clock, cache_ttl=0)
    patient = {
        "$id": "p-1",
        "$type": "Patient",
        "$version": 1,
        "name": " Ada ",
        "tags": ["diabetes", "", None, "insulin", 2, True, ["type 1"]],
        "address": {"city": "Lyon", "zip": 69001, "note": None},
        "notes": None,
        "flag": False,
    }
    only_tags = {"$id": "p-2", "$type": "Patient", "$version": 1, "tags": ["diabetes"]}
    things = {"p-1": patient, "p-2": only_tags}
    search = Search(
        {"Patient": ("name", "tags", "address", "notes", "flag", "missing")},
        ai,
        SqliteVectors(sql, clock),
        lambda _type, thing_id: things.get(thing_id),
        lambda *_: (list(things.values()), None),
    )
    assert search.text_of("Patient", patient) == "Ada\ndiabetes, insulin, 2, type 1\nLyon, 69001"
    assert search.text_of("Patient", only_tags) == "diabetes"  # a thing with only a list is embedded

    async def scenario() -> list[str]:
        await search.on_event(Event("e", "Patient.created", only_tags, clock.now))
        return [hit["thing"]["$id"] for hit in await search.search("Patient", "diabetes")]

    assert asyncio.run(scenario()) == ["p-2"]  # embedded: the old text had nothing to embed
    assert ["diabetes"] in [texts for _, texts in provider.calls]


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("  x ", "x"),
        (3, "3"),
        (2.5, "2.5"),
        (None, ""),
        (False, ""),
        ([], ""),
        ({}, ""),
        ([" ", None], ""),
        ([["a", ["b"]], {"k": "c"}], "a, b, c"),
    ],
)
def test_each_kind_of_value_gives_its_text(value: Any, text: str) -> None:
    assert value_text(value) == text


@pytest.fixture
def full_class() -> Iterator[type]:
    """DOFull, imported against stand-ins for the Workers runtime's modules (as
    tests/unit/core/test_namespace.py does), and forgotten afterwards."""
    from tests.unit.core.test_namespace import _RUNTIME_MODULES, _runtime_stub

    before = set(sys.modules)
    sys.modules.update({name: _runtime_stub(name) for name in _RUNTIME_MODULES if name not in sys.modules})
    try:
        yield importlib.import_module("dotdo.full.durable").DOFull
    finally:
        for name in set(sys.modules) - before:
            parent, _, child = name.rpartition(".")
            del sys.modules[name]
            if parent in sys.modules and child in vars(sys.modules[parent]):
                delattr(sys.modules[parent], child)


def test_bad_ai_options_fail_when_the_class_is_created(full_class: type) -> None:
    with pytest.raises(TypeError, match="searchable"):
        type("Bad", (full_class,), {"searchable": {"Customer": ()}})
    with pytest.raises(TypeError, match="ai_timeout"):
        type("Slow", (full_class,), {"ai_timeout": 0})
    with pytest.raises(TypeError, match="ai_generate_models"):
        type("Mute", (full_class,), {"ai_generate_models": ()})
    # one name, not a tuple of names: it was split into one "model" per character
    with pytest.raises(TypeError, match="ai_generate_models"):
        type("Split", (full_class,), {"ai_generate_models": "gpt-4o-mini"})
    with pytest.raises(TypeError, match="ai_embed_models"):
        type("Split", (full_class,), {"ai_embed_models": "@cf/baai/bge-small-en-v1.5"})
    with pytest.raises(TypeError, match="ai_embed_models"):
        type("Mixed", (full_class,), {"ai_embed_models": ("@cf/baai/bge-small-en-v1.5", 7)})


def test_a_dropped_embedding_call_is_tried_once_more() -> None:
    clock = Clock()
    provider = FakeProvider(replies=[ProviderError("Network connection lost."), "ok"])
    ai, sql = make_ai(provider, clock=clock, cache_ttl=0)
    thing = {"$id": "1", "$type": "Customer", "$version": 1, "name": "abc"}
    search = Search(
        {"Customer": ("name",)}, ai, SqliteVectors(sql, clock), lambda *_: thing, lambda *_: ([], None)
    )

    async def scenario() -> list[dict[str, Any]]:
        await search.on_event(Event("e", "Customer.created", thing, clock.now))
        return await search.search("Customer", "abc")

    assert [hit["thing"]["$id"] for hit in asyncio.run(scenario())] == ["1"]
    assert [texts for _, texts in provider.calls] == [["abc"], ["abc"], ["abc"]]  # failed, retried, the query


def test_vectorize_keeps_the_same_contract_through_its_client_api() -> None:
    """VectorizeVectors against a stand-in of the Vectorize binding's client API (upsert,
    getByIds, deleteByIds, query with a metadata filter): ids hashed to 64 hex characters,
    type, id, model and version in the metadata."""

    class Index:
        def __init__(self) -> None:
            self.items: dict[str, dict[str, Any]] = {}

        async def upsert(self, items: list[dict[str, Any]]) -> None:
            for item in items:
                assert len(item["id"]) <= 64
                self.items[item["id"]] = item

        async def getByIds(self, ids: list[str]) -> list[dict[str, Any]]:  # noqa: N802 - the binding's name
            return [self.items[i] for i in ids if i in self.items]

        async def deleteByIds(self, ids: list[str]) -> None:  # noqa: N802
            for i in ids:
                self.items.pop(i, None)

        async def query(self, vector: list[float], options: dict[str, Any]) -> dict[str, Any]:
            wanted = options["filter"]
            matches = [
                {"id": key, "score": cosine(vector, item["values"]), "metadata": item["metadata"]}
                for key, item in self.items.items()
                if all(item["metadata"].get(k) == v for k, v in wanted.items())
            ]
            matches.sort(key=lambda match: -match["score"])
            return {"matches": matches[: options["topK"]]}

    index = Index()
    store = VectorizeVectors(index)

    async def scenario() -> None:
        long_id = "x" * 200
        await store.put("Customer", long_id, "m", 3, normalized([1.0, 0.0]))
        await store.put("Customer", "b", "m", 1, normalized([0.6, 0.8]))
        await store.put("Order", "o", "m", 1, normalized([1.0, 0.0]))
        assert await store.version("Customer", long_id) == 3
        hits = await store.nearest("Customer", "m", normalized([1.0, 0.1]), 5)
        assert [thing_id for thing_id, _ in hits] == [long_id, "b"]
        await store.remove("Customer", long_id)
        assert await store.version("Customer", long_id) is None
        assert [thing_id for thing_id, _ in await store.nearest("Customer", "m", [1.0, 0.0], 5)] == ["b"]

    asyncio.run(scenario())


def test_a_binding_failure_names_its_model_once_and_the_binding_first() -> None:
    # It read "@cf/x: Workers AI @cf/x: @cf/x: ...", and for a @cf/ model without
    # AI_BASE_URL it advised only setting AI_BASE_URL, which never runs such a name.
    ai, _ = make_ai(WorkersAI(OfflineBinding()))
    message = _refusal(ai, "run")
    assert "Workers AI @cf/" not in message and "Workers AI: @cf/meta" in message
    binding = message.index("which only the AI binding runs (it could not)")
    assert binding < message.index("set the AI_BASE_URL var")
