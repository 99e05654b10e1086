from __future__ import annotations

import pytest

from dotdo.testing import LocalRuntime as PluginRuntime
from tests.runtime import LocalRuntime

# The plugin is a pytest entry point of the installed package; named here too, so that the
# suite also runs where dotdo is only on the path (pythonpath = src). pytester tests the plugin.
pytest_plugins = ["dotdo.testing.plugin", "pytester"]

HARNESS_RPC_SECRET = "harness-secret-for-tests"
"""Set in pyproject.toml's `dotdo_vars`, which configures the plugin's runtime for the harness."""


@pytest.fixture(scope="session")
def runtime(dotdo_runtime: PluginRuntime) -> LocalRuntime:
    return LocalRuntime(dotdo_runtime)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "integration" in item.nodeid.split("/"):
            item.add_marker(pytest.mark.integration)
