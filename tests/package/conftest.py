from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.package.user import run_as_user
from tests.runtime import ROOT


@pytest.fixture(scope="session")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel and sdist of this checkout, built by `python -m build` (hatchling)."""
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)],
        check=True, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    return out


@pytest.fixture(scope="session")
def user_venv(dist: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bin folder of a fresh virtualenv with the built wheel installed (`dotdo[testing]`),
    as a user installs it."""
    base = tmp_path_factory.mktemp("user-venv")
    (wheel,) = dist.glob("dotdo-*.whl")
    run_as_user([sys.executable, "-m", "venv", str(base / "venv")], cwd=base)
    bin_dir = base / "venv" / "bin"
    run_as_user([str(bin_dir / "python"), "-m", "pip", "install", "--quiet", f"{wheel}[testing]"], cwd=base)
    return bin_dir
