"""The test harness on `dotdo.testing`: the plugin's local runtime, plus the harness's own
real-Workers-RPC route (`rpc`). `harness_runtime` serves the harness as the test session
does (pyproject.toml's `dotdo_*` settings) for scripts outside pytest, such as the benches."""

from __future__ import annotations

import contextlib
import tomllib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import httpx

from dotdo.testing import LocalRuntime as PluginRuntime
from dotdo.testing import free_port, new_tenant

__all__ = ["ROOT", "LocalRuntime", "free_port", "harness_runtime", "new_tenant", "own_harness_runtime"]

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


def harness_runtime(
    state_dir: Path,
    log_path: Path,
    *,
    vars: Mapping[str, str] | None = None,
    out: Path | None = None,
    registry: Path | None = None,
    test_routes: bool = True,
) -> LocalRuntime:
    """The harness (not started) as the plugin serves it in a test session: the settings of
    pyproject.toml's `[tool.pytest.ini_options]` (`dotdo_config`, `dotdo_python_roots`, and
    `dotdo_vars` unless `vars` replaces them), state in `state_dir`, output in `log_path`,
    the generated host in `out` (one per server running at once; default
    `.dotdo/test-host`), wrangler's dev registry in `registry` if given, and without the
    test routes of `dotdo.testing.control` when `test_routes` is False."""
    with (ROOT / "pyproject.toml").open("rb") as file:
        ini = tomllib.load(file)["tool"]["pytest"]["ini_options"]
    if vars is None:
        vars = dict(pair.split("=", 1) for pair in ini.get("dotdo_vars", []))
    runtime = PluginRuntime(
        ROOT,
        config=ROOT / ini["dotdo_config"],
        state_dir=state_dir,
        log_path=log_path,
        vars=vars,
        python_roots=[ROOT / root for root in ini.get("dotdo_python_roots", [])],
        out=out,
        registry=registry,
        test_routes=test_routes,
    )
    return LocalRuntime(runtime)


@contextlib.contextmanager
def own_harness_runtime(tmp_path_factory: Any, name: str) -> Iterator[LocalRuntime]:
    """The harness on a runtime of its own, started (`LocalRuntime.start`: booted, the proxy's
    connections renewed), and stopped at the end: state and log in a new temporary folder
    named `name`, the generated host in `.dotdo/test-host-<name>` (one per server at once).
    For a test module that kills, resets or restarts its runtime (`tmp_path_factory` is
    pytest's)."""
    base = tmp_path_factory.mktemp(name)
    server = harness_runtime(base / "state", base / "server.log", out=ROOT / ".dotdo" / f"test-host-{name}")
    server.start()
    try:
        yield server
    finally:
        server.stop()
