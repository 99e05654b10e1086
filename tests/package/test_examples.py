"""Every example under examples/ is a project of its own (made with `dotdo new`): its own
tests pass against this checkout's dotdo, installed from the built wheel into a fresh
virtualenv and run as its author would run them."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.package.user import user_environment
from tests.runtime import ROOT

EXAMPLES = sorted(path.parent for path in (ROOT / "examples").glob("*/wrangler.toml"))


def test_there_are_examples() -> None:
    assert [path.name for path in EXAMPLES] == ["support-desk"]


@pytest.mark.parametrize("example", EXAMPLES, ids=[path.name for path in EXAMPLES])
def test_the_examples_own_tests_pass(example: Path, user_venv: Path) -> None:
    result = subprocess.run(
        [str(user_venv / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=example, capture_output=True, text=True, timeout=900, check=False, env=user_environment(),
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
    assert "skipped" not in result.stdout  # the Node client ran too
