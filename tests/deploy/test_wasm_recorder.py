"""The wasm recorder (run once per Pyodide version, on a clean checkout's first start)
finishes cleanly every time: a timer firing on a destroyed proxy used to crash it
about one run in three, which failed the first start of the local runtime."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.runtime import ROOT


def test_recording_succeeds_repeatedly(tmp_path: Path) -> None:
    for attempt in range(3):
        out = tmp_path / f"recorded-{attempt}"
        result = subprocess.run(
            [
                "node", "scripts/localrt/record-wasm.mjs", "--out", str(out),
                "--exercise", "scripts/localrt/python/exercise.py",
            ],
            cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert result.returncode == 0, result.stdout + result.stderr[-2000:]
        index = json.loads((out / "index.json").read_text())
        assert index["modules"] and all((out / m["file"]).is_file() for m in index["modules"])
