"""The test harness on `dotdo.testing`: the plugin's local runtime, plus the harness's own
real-Workers-RPC route (`rpc`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from dotdo.testing import LocalRuntime as PluginRuntime
from dotdo.testing import new_tenant

__all__ = ["ROOT", "LocalRuntime", "new_tenant"]

ROOT = Path(__file__).resolve().parent.parent


class LocalRuntime:
    """The plugin's runtime (every attribute of it) with `rpc()` through the harness worker."""

    def __init__(self, runtime: PluginRuntime) -> None:
        self._runtime = runtime

    def __getattr__(self, name: str) -> Any:
        return getattr(self._runtime, name)

    def rpc(self, name: str, method: str, *params: object, binding: str = "DOTDO") -> httpx.Response:
        """A real Workers RPC call from the harness worker to the object `name`."""
        body = {"binding": binding, "name": name, "method": method, "params": list(params)}
        with httpx.Client(base_url=self._runtime.base_url, timeout=30) as client:
            return client.post("/_harness/rpc", json=body)
