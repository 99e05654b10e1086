"""What importing an app costs at a cold start: modules only some requests need are
imported by those requests, not when the isolate loads the app (bench/README.md, item 7:
under Pyodide each of these took 12-35 ms of every cold start)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"

_PROBE = """
import json, sys, types

def stub(name):
    module = types.ModuleType(name)
    module.__getattr__ = lambda attribute: type(
        attribute, (Exception,) if attribute.endswith(("Error", "Exception")) else (), {}
    )
    return module

for name in ("pyodide", "pyodide.ffi", "js", "workers"):
    sys.modules[name] = stub(name)
from dotdo import DOFull  # noqa: F401
import dotdo.worker  # noqa: F401
print(json.dumps(sorted(sys.modules)))
"""

ON_DEMAND = ("difflib", "fastjsonschema", "gzip", "uuid", "zoneinfo")
"""Misspelt-name suggestions, structured AI output, archive segments, socket ids, time zones."""


def test_loading_the_app_leaves_on_demand_modules_unimported() -> None:
    """Importing DOFull and the passthrough worker imports none of ON_DEMAND."""
    loaded = subprocess.run(
        [sys.executable, "-c", _PROBE],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(SRC)},
    )
    modules = set(json.loads(loaded.stdout))
    assert "dotdo.full.durable" in modules
    assert [name for name in ON_DEMAND if name in modules] == []
