from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.runtime import LocalRuntime

HARNESS_RPC_SECRET = "harness-secret-for-tests"


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


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "integration" in item.nodeid.split("/"):
            item.add_marker(pytest.mark.integration)
