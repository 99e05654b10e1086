"""`dotdo deploy --dry-run` builds this repository's production worker offline."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.runtime import ROOT


def test_deploy_dry_run_builds(tmp_path: Path) -> None:
    out = tmp_path / "dist"
    result = subprocess.run(
        [sys.executable, "-m", "dotdo", "deploy", "--dry-run", "--outdir", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
        env={**os.environ, "WRANGLER_SEND_METRICS": "false", "HOME": str(tmp_path),
             "PYTHONPATH": str(ROOT / "src")},
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert (out / "entry.py").is_file()
    assert (out / "dotdo" / "core" / "durable.py").is_file()
    assert (out / "python_modules" / "workers" / "__init__.py").is_file()
    assert "env.DOTDO (DOWorkflow)" in result.stdout  # the most capable layer serves tenants
    assert (out / "python_modules" / "tzdata" / "zoneinfo" / "Europe" / "Oslo").is_file()
    # The command's own tools never reach a Worker: not vendored, no JavaScript or wasm uploaded.
    assert not (out / "python_modules" / "click").exists()
    assert not [p for p in out.rglob("*") if p.suffix in {".mjs", ".wasm"}]
