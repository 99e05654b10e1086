"""The wasm recorder (run once per Pyodide version) finishes cleanly every time, and records
exactly the modules the package ships for the pinned Pyodide: a timer firing on a destroyed
proxy used to crash it about one run in three."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from dotdo.localrt.node import npm_packages, pinned_packages
from tests.runtime import ROOT

LOCALRT = ROOT / "src" / "dotdo" / "localrt"


def test_recording_succeeds_repeatedly_and_matches_the_shipped_set(tmp_path: Path) -> None:
    node_modules = npm_packages(ROOT)
    shipped = json.loads((LOCALRT / "recorded" / pinned_packages()["pyodide"] / "index.json").read_text())
    for attempt in range(3):
        out = tmp_path / f"recorded-{attempt}"
        result = subprocess.run(
            [
                "node", str(LOCALRT / "js" / "record-wasm.mjs"), "--out", str(out),
                "--node-modules", str(node_modules),
            ],
            cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert result.returncode == 0, result.stdout + result.stderr[-2000:]
        index = json.loads((out / "index.json").read_text())
        assert all((out / m["file"]).is_file() for m in index["modules"])
        assert index == shipped
