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
exec(sys.argv[1])
print(json.dumps(sorted(sys.modules)))
"""

ON_DEMAND = (
    "difflib",
    "fastjsonschema",
    "gzip",
    "uuid",
    "zoneinfo",
    "dotdo.semantic.pattern",
    "dotdo.semantic.where",
    "dotdo.storage.archive",
    "dotdo.storage.buckets",
    "dotdo.storage.sources",
    "dotdo.wire.capnweb",
    "dotdo.wire.pipeline",
    "dotdo.workflows.cron",
)
"""Misspelt-name suggestions, structured AI output, archive segments, socket ids, time zones;
the where-clause engine and its LIKE patterns (the first query), L3 (an object with an
`archive_binding`, or an event page), Cap'n Web and the RPC pipelines (their first
request), the cron parser (the first schedule): ADR 0036."""

WITHOUT_TOKENS = ("hashlib", "hmac")
"""Capability and bearer tokens' signatures: loaded with the first token a request carries,
so an app that does not need them for its first answer (DOFull's AI does) never pays them."""

FULL_APP = "from dotdo import DOFull\nimport dotdo.worker"
SCAFFOLD_APP = (
    "from dotdo import DOWorkflow, Event, HttpRequest, HttpResponse, Noun, Router, json_response, on, rpc\n"
    "from dotdo.worker import forward_to_tenant"
)
"""The imports of the entry module `dotdo new` writes (src/dotdo/cli/template/src/entry.py.tmpl)."""


def _loaded(imports: str) -> set[str]:
    """The modules a fresh CPython holds after `imports` (the runtime's modules stubbed)."""
    loaded = subprocess.run(
        [sys.executable, "-c", _PROBE, imports],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(SRC)},
    )
    return set(json.loads(loaded.stdout))


def test_loading_the_app_leaves_on_demand_modules_unimported() -> None:
    """Importing DOFull and the passthrough worker imports none of ON_DEMAND."""
    modules = _loaded(FULL_APP)
    assert "dotdo.full.durable" in modules
    assert [name for name in ON_DEMAND if name in modules] == []


def test_a_new_projects_entry_imports_neither_on_demand_modules_nor_token_signing() -> None:
    """The entry `dotdo new` writes (a DOWorkflow app and the passthrough) imports none of
    ON_DEMAND or WITHOUT_TOKENS, nor DOFull's own modules."""
    template = (SRC / "dotdo" / "cli" / "template" / "src" / "entry.py.tmpl").read_text()
    for line in SCAFFOLD_APP.splitlines():
        assert line in template  # the probe imports what a new project's entry does
    modules = _loaded(SCAFFOLD_APP)
    assert "dotdo.workflows.durable" in modules
    assert [name for name in (*ON_DEMAND, *WITHOUT_TOKENS) if name in modules] == []
    assert [name for name in modules if name.startswith("dotdo.full")] == []


def test_on_demand_names_still_resolve_from_dotdo() -> None:
    """Names whose modules load on demand are the same objects through `dotdo` (PEP 562)."""
    names = "parse_cron, mint_token, verify_token, Capability, DOWorkflow, every"
    modules = _loaded(
        f"from dotdo import {names}\n"
        "import dotdo.workflows.cron as cron, dotdo.wire.tokens as tokens\n"
        "assert parse_cron is cron.parse_cron and mint_token is tokens.mint\n"
        "assert verify_token is tokens.verify\n"
        "assert every.cron('0 9 * * 1-5').cron == '0 9 * * 1-5'"
    )
    assert "dotdo.workflows.cron" in modules
