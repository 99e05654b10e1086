"""Every example under examples/ is a project of its own (made with `dotdo new`): its own
tests pass against the checkout's dotdo, run as its author would run them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.runtime import ROOT

EXAMPLES = sorted(path.parent for path in (ROOT / "examples").glob("*/wrangler.toml"))


def test_there_are_examples() -> None:
    assert [path.name for path in EXAMPLES] == ["support-desk"]


@pytest.mark.parametrize("example", EXAMPLES, ids=[path.name for path in EXAMPLES])
def test_the_examples_own_tests_pass(example: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=example, capture_output=True, text=True, timeout=900, check=False,
        env={**os.environ, "WRANGLER_SEND_METRICS": "false"},
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
    assert "skipped" not in result.stdout  # the Node client ran too
