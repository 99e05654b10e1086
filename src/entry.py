"""The whole worker: a passthrough from each tenant subdomain to its Durable Object.

Every Durable Object class bound in wrangler.toml is exported from here; the
app's main object binding is DOTDO.
"""

from workers import WorkerEntrypoint

from dotdo import DOCore, DOFull, DOSemantic, DOWorkflow
from dotdo.worker import forward_to_tenant

__all__ = ["DOCore", "DOFull", "DOSemantic", "DOWorkflow", "Default"]


class Default(WorkerEntrypoint):
    async def fetch(self, request):  # type: ignore[no-untyped-def]
        return await forward_to_tenant(request, self.env.DOTDO, env=self.env)
