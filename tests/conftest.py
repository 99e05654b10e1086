from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.runtime import LocalRuntime

HARNESS_RPC_SECRET = "harness-secret-for-tests"
PRODUCTION_SECRET = "production-secret-of-the-access-tests-0123456789"
OPERATOR_TOKEN = "operator-token-of-the-access-tests-0123456789"
PRODUCTION_REQUEST_RATE = (150, 60)
PRODUCTION_MESSAGE_RATE = (40, 60)


@pytest.fixture(scope="session")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRuntime]:
    base = tmp_path_factory.mktemp("runtime")
    server = LocalRuntime(
        state_dir=base / "state",
        log_path=Path(base / "server.log"),
        extra_args=["--var", f"HARNESS_RPC_SECRET={HARNESS_RPC_SECRET}"],
        registry=base / "registry",
    )
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def production_runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRuntime]:
    """A second server as an operator deploys: ENVIRONMENT=production with DOTDO_SECRET and
    the operator token (AUTH_TOKEN) for the app's classes, and no secret for HarnessCore
    (its own vars are unset, so it is closed), with small rate budgets to reach."""
    base = tmp_path_factory.mktemp("production")
    server = LocalRuntime(
        state_dir=base / "state",
        log_path=Path(base / "server.log"),
        extra_args=[
            *("--var", "ENVIRONMENT=production"),
            *("--var", f"DOTDO_SECRET={PRODUCTION_SECRET}"),
            *("--var", f"AUTH_TOKEN={OPERATOR_TOKEN}"),
            *("--var", "RATE_LIMIT_REQUESTS={}/{}".format(*PRODUCTION_REQUEST_RATE)),
            *("--var", "RATE_LIMIT_MESSAGES={}/{}".format(*PRODUCTION_MESSAGE_RATE)),
        ],
        out=".dotdo/test-host-production",
    )
    server.start()
    yield server
    server.stop()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "integration" in item.nodeid.split("/"):
            item.add_marker(pytest.mark.integration)
