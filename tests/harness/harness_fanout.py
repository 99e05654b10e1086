"""A DOFull subclass for the fan-out and room tests: targets that count their calls (in
their own state, so a test can see which ones a replay called again), fail or hang on
demand, and workflows that fan out to them."""

import asyncio

from harness_lifetime import Lifetime

from dotdo import DOFull, rpc, workflow


class HarnessFanout(Lifetime, DOFull):
    stub_binding = "FANOUT"

    # -- as a target -----------------------------------------------------------

    @rpc
    async def tally(self, tag: str) -> dict:
        """Counts the call, then answers, fails or hangs as `behave` set it up."""
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

    @workflow
    async def fan_flow(self, spec: dict) -> dict:
        result = await self.fan_out(spec["targets"], "tally", "flow", concurrency=spec.get("concurrency", 6))
        return result.to_dict()
