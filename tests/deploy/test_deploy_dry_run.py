"""`wrangler deploy --dry-run` builds the production worker offline."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.runtime import ROOT


def test_deploy_dry_run_builds(tmp_path: Path) -> None:
    out = tmp_path / "dist"
    result = subprocess.run(
        ["node_modules/.bin/wrangler", "deploy", "--dry-run", "--outdir", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=180,
        env={"PATH": "/usr/bin:/bin:/usr/local/bin", "WRANGLER_SEND_METRICS": "false", "HOME": str(tmp_path)},
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert (out / "entry.py").is_file()
    assert (out / "dotdo" / "core" / "durable.py").is_file()
    assert (out / "python_modules" / "workers" / "__init__.py").is_file()
    assert "env.DOTDO (DOWorkflow)" in result.stdout  # the most capable layer serves tenants
    assert (out / "python_modules" / "tzdata" / "zoneinfo" / "Europe" / "Oslo").is_file()
