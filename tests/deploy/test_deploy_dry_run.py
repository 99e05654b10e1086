"""`dotdo deploy --dry-run` builds this repository's production worker offline, and
`wrangler deploy --dry-run` the opt-in JavaScript front (ADR 0020) from the config
scripts/front.mjs derives from wrangler.toml."""

from __future__ import annotations

import json
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
    assert "env.DOTDO (DOFull)" in result.stdout  # the most capable layer serves tenants
    assert (out / "python_modules" / "tzdata" / "zoneinfo" / "Europe" / "Oslo").is_file()
    # The command's own tools never reach a Worker: not vendored, no JavaScript or wasm uploaded.
    assert not (out / "python_modules" / "click").exists()
    assert not [p for p in out.rglob("*") if p.suffix in {".mjs", ".wasm"}]
    # The wasm recorder's exercise (Node only, record-wasm.mjs) was a module of every bundle.
    assert not list(out.rglob("exercise.py")) and "exercise.py" not in result.stdout


def test_front_dry_run_builds(tmp_path: Path) -> None:
    config_dir = tmp_path / "front"
    generated = subprocess.run(
        ["node", "scripts/front.mjs", "--out", str(config_dir), "--route", "*.api.example.com/*"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={"PATH": "/usr/bin:/bin:/usr/local/bin", "WRANGLER_SEND_METRICS": "false", "HOME": str(tmp_path)},
    )  # fmt: skip
    assert generated.returncode == 0, generated.stdout + generated.stderr
    config = config_dir / "wrangler.jsonc"
    assert generated.stdout.strip().endswith(str(config))
    body = json.loads(
        "\n".join(line for line in config.read_text().splitlines() if not line.startswith("//"))
    )
    assert body["name"] == "dotdo-front" and body["routes"] == ["*.api.example.com/*"]
    assert body["durable_objects"]["bindings"] == [
        {"name": "DOTDO", "class_name": "DOFull", "script_name": "dotdo"}
    ]  # the class wrangler.toml binds as DOTDO, in the Python Worker named there
    assert "migrations" not in body  # the classes and their migrations stay the Python Worker's
    out = tmp_path / "dist"
    result = subprocess.run(
        ["node_modules/.bin/wrangler", "deploy", "--dry-run", "--outdir", str(out), "-c", str(config)],
        cwd=ROOT, capture_output=True, text=True, timeout=180,
        env={"PATH": "/usr/bin:/bin:/usr/local/bin", "WRANGLER_SEND_METRICS": "false", "HOME": str(tmp_path)},
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "env.DOTDO (DOFull, defined in dotdo)" in result.stdout
    assert "WARNING" not in result.stdout + result.stderr
    assert (out / "worker.js").is_file()
