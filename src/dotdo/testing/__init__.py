"""Testing a dotdo project on the real local runtime, with pytest.

The plugin (`dotdo.testing.plugin`, registered as a pytest entry point) serves the
project's own `wrangler.toml` once per session and gives each test a fresh tenant:

    def test_greet(dotdo_client: TenantClient) -> None:
        assert dotdo_client.rpc("greet", "Ada") == "Hello, Ada!"

`pip install dotdo[testing]` brings pytest, httpx and websockets. The names below are
imported on first use: `dotdo.testing.control`, which the local runtime loads inside the
Worker it serves for the tests, must not pull httpx into Pyodide.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dotdo.testing.clients import AsyncTenantClient, Subscription, TenantClient
    from dotdo.testing.runtime import LocalRuntime, free_port, new_tenant

__all__ = ["AsyncTenantClient", "LocalRuntime", "Subscription", "TenantClient", "free_port", "new_tenant"]

_HOMES = {
    "AsyncTenantClient": "dotdo.testing.clients",
    "Subscription": "dotdo.testing.clients",
    "TenantClient": "dotdo.testing.clients",
    "LocalRuntime": "dotdo.testing.runtime",
    "free_port": "dotdo.testing.runtime",
    "new_tenant": "dotdo.testing.runtime",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'dotdo.testing' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value
