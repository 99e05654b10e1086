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

from typing import ClassVar

from dotdo.core.namespace import Layer
from dotdo.remote.marks import seal_rpc_surface
from dotdo.workflows.durable import DOWorkflow

__all__ = ["DOFull"]


class DOFull(DOWorkflow):
    """DOWorkflow plus the agent layer: approvals and waits for events, fan-out across
    objects, an AI provider and semantic search, and the cascade of code, AI and human.

    Made by the runtime with `ctx` (the DurableObjectState) and `env` (the bindings), as
    DOWorkflow is.
    """

    _dotdo_layer: ClassVar[Layer] = Layer.of()


seal_rpc_surface(DOFull)
