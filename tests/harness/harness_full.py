"""A DOFull subclass for the integration tests: workflows that wait for approvals and
events, with the steps around the waits counted in state, so the tests see what ran and
how often (exactly once across eviction and a kill -9)."""

from harness_lifetime import Lifetime

from dotdo import ApprovalExpired, DOFull, rpc, workflow


class HarnessFull(Lifetime, DOFull):
    stub_binding = "FULL"

    def _bump(self, key: str) -> int:
        count = (self.state.get(key) or 0) + 1
        self.state.set(key, count)
        return count

    async def prepare(self, order_id: str) -> int:
        return self._bump(f"ran:prepare:{order_id}")

    async def pay(self, order_id: str) -> int:
        return self._bump(f"ran:pay:{order_id}")

    @rpc(scope="read")
    def counts(self, order_id: str) -> dict:
        """How often each step around the wait ran for `order_id`."""
        return {step: self.state.get(f"ran:{step}:{order_id}") or 0 for step in ("prepare", "pay")}

    @workflow
    async def refund(self, request: dict) -> dict:
        await self.do(self.prepare, request["id"], step_id="prepare")
        try:
            decision = await self.wait_for_approval(
                "refund",
                request,
                approvers=request.get("approvers"),
                timeout=request.get("timeout"),
                escalate_to=request.get("escalate_to"),
            )
        except ApprovalExpired as expired:
            return {"expired": expired.code}
        if decision["decision"] == "approve":
            await self.do(self.pay, request["id"], step_id="pay")
        return {"decision": decision}

    @workflow
    async def shipping(self, order_id: str) -> dict:
        event = await self.wait_for_event("Order.shipped", match={"order.id": order_id}, timeout=600)
        return event["data"]

    @workflow
    async def watch(self, pattern: str) -> dict:
        """The first event of `pattern` after the run began, whole."""
        return await self.wait_for_event(pattern, timeout=600)
