from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import settings

from dotdo.testing import LocalRuntime as PluginRuntime
from tests.runtime import ROOT, LocalRuntime, harness_runtime

# The plugin is a pytest entry point of the installed package; named here too, so that the
# suite also runs where dotdo is only on the path (pythonpath = src). pytester tests the plugin.
pytest_plugins = ["dotdo.testing.plugin", "pytester"]

# No property test is timed: hypothesis' default deadline (200 ms an example) failed an
# encode/decode test on a machine shared with other work. Speed lives in bench/.
settings.register_profile("untimed", deadline=None)
settings.load_profile("untimed")

HARNESS_RPC_SECRET = "harness-secret-for-tests"
"""Set in pyproject.toml's `dotdo_vars`, which configures the plugin's runtime for the harness."""
PRODUCTION_SECRET = "production-secret-of-the-access-tests-0123456789"
OPERATOR_TOKEN = "operator-token-of-the-access-tests-0123456789"
PRODUCTION_REQUEST_RATE = (150, 60)
PRODUCTION_MESSAGE_RATE = (40, 60)


@pytest.fixture(scope="session")
def runtime(dotdo_runtime: PluginRuntime) -> LocalRuntime:
    return LocalRuntime(dotdo_runtime)


@pytest.fixture(scope="session")
def production_runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRuntime]:
    """A second server as an operator deploys: ENVIRONMENT=production with DOTDO_SECRET and
    the operator token (AUTH_TOKEN) for the app's classes, and no secret for HarnessCore
    (its own vars are unset, so it is closed), with small rate budgets to reach."""
    base = tmp_path_factory.mktemp("production")
    server = harness_runtime(
        base / "state",
        base / "server.log",
        vars={
            "ENVIRONMENT": "production",
            "DOTDO_SECRET": PRODUCTION_SECRET,
            "AUTH_TOKEN": OPERATOR_TOKEN,
            "RATE_LIMIT_REQUESTS": "{}/{}".format(*PRODUCTION_REQUEST_RATE),
            "RATE_LIMIT_MESSAGES": "{}/{}".format(*PRODUCTION_MESSAGE_RATE),
        },
        out=ROOT / ".dotdo" / "test-host-production",
        test_routes=False,  # what a deploy serves: no /_test/* route
    )
    server.start()
    yield server
    server.stop()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "integration" in item.nodeid.split("/"):
            item.add_marker(pytest.mark.integration)
