"""A DOFull subclass for the fan-out and room tests: targets that count their calls (in
their own state, so a test can see which ones a replay called again), fail or hang on
demand, and workflows that fan out to them."""

import asyncio
import time

from harness_lifetime import Lifetime

from dotdo import DOFull, rpc, workflow
from dotdo.worker import get_object


class HarnessFanout(Lifetime, DOFull):
    stub_binding = "FANOUT"
    ai_generate_models = ("test-model",)  # served by test_full_ai.py's loopback OpenAI-compatible server
    ai_cache_ttl = 0  # every call reaches the provider, so the tests can count them

    # -- as a target -----------------------------------------------------------

    @rpc
    async def tally(self, tag: str, wait: float = 0) -> dict:
        """Counts the call, then answers (after `wait` seconds), fails or hangs as `behave` set it up."""
        if wait:
            await asyncio.sleep(wait)
        calls = (self.state.get("calls") or 0) + 1
        self.state.set("calls", calls)
        behaviour = self.state.get("behaviour")
        if behaviour == "fail":
            raise RuntimeError(f"{self.object_name} refuses")
        if behaviour == "fail_once" and calls == 1:
            raise RuntimeError(f"{self.object_name} refuses once")
        if behaviour == "hang":
            await asyncio.Event().wait()
        if behaviour == "vote":
            return {"vote": self.state.get("vote")}
        return {"name": self.object_name, "tag": tag, "calls": calls}

    @rpc
    def behave(self, behaviour: str | None, vote: object = None) -> None:
        self.state.set("behaviour", behaviour)
        self.state.set("vote", vote)

    @rpc(scope="read")
    def calls(self) -> int:
        return self.state.get("calls") or 0

    @rpc(scope="read")
    def fanout_rows(self) -> int:
        """Per-target records of fan-outs still in progress."""
        return int(self.sql.first("SELECT COUNT(*) AS n FROM dotdo_fanout_calls")["n"])

    @rpc
    def go_strict(self) -> None:
        """`strict_nouns` on this instance from now on (in memory: until it is evicted), so
        a test can fan out under the noun policy without a class of its own."""
        self.noun_policy.strict = True

    # -- as the caller -------------------------------------------------------------

    @rpc
    async def fan(self, targets: list, options: dict) -> dict:
        """A fan-out outside any workflow, with the merge helpers' answers beside it."""
        result = await self.fan_out(targets, "tally", "direct", **options)
        merged = {"first": None, "quorum": None}
        for name, merge in (("first", result.first), ("quorum", result.quorum)):
            try:
                merged[name] = merge()
            except Exception as error:
                merged[name] = f"{type(error).__name__}: {error}"
        return {**result.to_dict(), **merged, "gathered": result.gather()}

    @rpc(scope="admin")
    async def fan_tenants(self, tenants: list) -> dict:
        """The docs' fan-out over tenants: each tenant's object (in this class's binding) by
        its stub, labelled by the tenant's name."""
        stubs = {name: get_object(self.env.FANOUT, name) for name in tenants}
        result = await self.fan_out(stubs, "tally", "tenants", concurrency=6, timeout=10)
        return result.to_dict()

    @rpc
    async def measure_fan_out(
        self, count: int, concurrency: int, durable: bool, objects: int = 0, wait: float = 0
    ) -> dict:
        """One fan-out of `tally` to `count` targets, timed inside this object (bench/fanout.py):
        `count` fresh objects, or with `objects` the calls spread over that many objects,
        woken first, each call waiting `wait` seconds in the target."""
        prefix = f"Bench/{self.object_name}"
        if objects:
            warm = [f"{prefix}-{n}" for n in range(objects)]
            await self.fan_out(warm, "tally", "wake")
            targets = {f"t{n}": self.stub("Bench", f"{self.object_name}-{n % objects}") for n in range(count)}
        else:
            targets = [f"{prefix}-{n}" for n in range(count)]
        step_id = f"bench-{time.time()}" if durable else None
        started = time.time()
        result = await self.fan_out(targets, "tally", "bench", wait, concurrency=concurrency, step_id=step_id)
        return {
            "ms": (time.time() - started) * 1000,
            "calls": sum(outcome.attempts for outcome in result.outcomes),
            "succeeded": len(result.values()),
        }

    @workflow
    async def fan_flow(self, spec: dict) -> dict:
        result = await self.fan_out(spec["targets"], "tally", "flow", concurrency=spec.get("concurrency", 6))
        return result.to_dict()

    # -- the cascade -----------------------------------------------------------------

    def _route_by_rule(self, ticket: dict) -> str | None:
        self.state.set("rule_calls", (self.state.get("rule_calls") or 0) + 1)
        return "billing" if "invoice" in ticket["text"] else None

    @workflow
    async def triage(self, ticket: dict) -> dict:
        result = await self.cascade(
            "triage",
            ticket,
            code=self._route_by_rule,
            human={"timeout": 3600},
            accept=lambda queue: queue in ("billing", "tech") or f"{queue!r} is not a queue",
        )
        return {**result.to_dict(), "rule_calls": self.state.get("rule_calls")}

    @workflow
    async def triage_by_ai(self, ticket: dict) -> dict:
        """The cascade's AI tier answers; the step after it fails once, so the run is
        replayed by the alarm and the AI tier must come back from its record."""
        result = await self.cascade(
            "triage",
            ticket,
            code=self._route_by_rule,
            generative="Pick a queue",
            accept=lambda answer: isinstance(answer, str) and answer.startswith("summary of"),
        )
        await self.do(self._fails_once, step_id="after", retries={"limit": 2, "delay": 0.05, "backoff": 1})
        return result.to_dict()

    async def _fails_once(self) -> str:
        attempts = int(self.state.get("after_attempts") or 0) + 1
        self.state.set("after_attempts", attempts)
        if attempts == 1:
            raise RuntimeError("first attempt fails")
        return "ok"
