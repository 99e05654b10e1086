"""A DOFull subclass for the AI integration tests: customers opted in to semantic search,
and a workflow whose AI step is followed by a step that fails once (so the run is replayed
by the alarm: the AI step must come back from its record, not from the provider)."""

from typing import ClassVar

from dotdo import DOFull, workflow


class HarnessAi(DOFull):
    stub_binding = "AI_HARNESS"
    searchable: ClassVar = {"Customer": ("name", "notes")}
    ai_generate_models = ("test-model",)  # served by the tests' loopback OpenAI-compatible server
    ai_cache_ttl = 0  # every call reaches the provider, so the tests can count them
    ai_daily_calls = None  # bench/embedding_search.py embeds 10k things through it

    @workflow
    async def summarise(self, text: str) -> dict:
        summary = await self.ai.generate(f"Summarise: {text}")
        await self.do(self.flaky, step_id="flaky", retries={"limit": 2, "delay": 0.05, "backoff": 1})
        return {"summary": summary}

    async def flaky(self) -> str:
        # Fails on its first attempt (the count lives in the object's state, so it survives replay).
        attempts = int(self.state.get("flaky_attempts") or 0) + 1
        self.state.set("flaky_attempts", attempts)
        if attempts == 1:
            raise RuntimeError("first attempt fails")
        return "ok"
