"""Testing a dotdo project on the real local runtime, with pytest.

The plugin (`dotdo.testing.plugin`, registered as a pytest entry point) serves the
project's own `wrangler.toml` once per session and gives each test a fresh tenant:

    def test_greet(dotdo_client: TenantClient) -> None:
        assert dotdo_client.rpc("greet", "Ada") == "Hello, Ada!"

`pip install dotdo[testing]` brings pytest, httpx and websockets.
"""

from dotdo.testing.clients import AsyncTenantClient, Subscription, TenantClient
from dotdo.testing.runtime import LocalRuntime, free_port, new_tenant

__all__ = ["AsyncTenantClient", "LocalRuntime", "Subscription", "TenantClient", "free_port", "new_tenant"]
