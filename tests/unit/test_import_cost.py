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

NOT_AT_START = (
    "dotdo.core.middleware.auth",
    "dotdo.core.middleware.logging",
    "dotdo.remote.argtypes",
    "dotdo.remote.calls",
    "dotdo.remote.targets",
    "dotdo.semantic.accessors",
    "dotdo.semantic.history",
    "dotdo.semantic.overlay",
    "dotdo.semantic.query",
    "dotdo.semantic.sqlcost",
    "dotdo.semantic.sqlguard",
    "dotdo.storage.archive_format",
    "dotdo.wire.tokens",
    "dotdo.wire.wsrpc",
)
"""What a DOWorkflow app's first answer does not run, so neither its import nor its first
`/health` loads it: bearer auth and request logging (installed on request); the binding
and checking of a call's arguments and the resolution of its target (the first RPC call
or route with a body of named arguments); the `/ws/rpc` protocol (its first socket
message); the noun accessors (`self.Note`); as-of history; the query model and the overlay
of unflushed things (the first list or count); the SQL guard and its cost rules (`/query`); a token's
signature checks (the first request carrying a token: the access layer names
`Capability`, from `dotdo.wire.capability`); L3's segment format (every object makes its
index table, defined beside the log's). ADR 0036. DOFull still loads the RPC modules."""

FULL_APP = "from dotdo import DOFull\nimport dotdo.worker"
SCAFFOLD_APP = """from dotdo import (
    DOWorkflow,
    Event,
    HttpRequest,
    HttpResponse,
    Noun,
    Router,
    WorkerEntrypoint,
    json_response,
    on,
    rpc,
)
from dotdo.worker import forward_to_tenant
"""
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
    assert SCAFFOLD_APP in template  # the probe imports what a new project's entry does
    modules = _loaded(SCAFFOLD_APP)
    assert "dotdo.workflows.durable" in modules
    assert [name for name in (*ON_DEMAND, *WITHOUT_TOKENS, *NOT_AT_START) if name in modules] == []
    assert [name for name in modules if name.startswith("dotdo.full")] == []


_FIRST_ANSWER = """
import asyncio, json, sys, types
sys.path.insert(0, {bench!r})
import request_path as runtime  # the stand-ins of bench/request_path.py: workers, pyodide, js, ctx

runtime.install_runtime()
entry = {entry!r}
for placeholder, value in (("name", "probe"), ("class", "Probe"), ("binding", "PROBE")):
    entry = entry.replace("{{{{" + placeholder + "}}}}", value)
namespace = {{"__name__": "entry"}}
exec(compile(entry, "entry.py", "exec"), namespace)
env = types.SimpleNamespace(ENVIRONMENT="development")
obj = namespace["Probe"](runtime.CtxStandIn("acme"), env)
answer = runtime.drive(obj.fetch(runtime.request("GET", "/health", b"")))
print(json.dumps([runtime.response_status(answer), sorted(sys.modules)]))
"""


def test_a_new_projects_first_answer_loads_no_module_it_does_not_run() -> None:
    """The entry `dotdo new` writes, its class defined, an object of it built on empty
    storage and its first `GET /health` answered: none of NOT_AT_START, ON_DEMAND or
    WITHOUT_TOKENS was loaded on the way (a deferred import is not just moved to the
    constructor), and the answer is a 200."""
    root = SRC.parent
    template = (SRC / "dotdo" / "cli" / "template" / "src" / "entry.py.tmpl").read_text()
    probe = _FIRST_ANSWER.format(bench=str(root / "bench"), entry=template)
    answered = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=True,
        cwd=root,
        env={"PYTHONPATH": f"{SRC}:{root}"},
    )
    status, modules = json.loads(answered.stdout.splitlines()[-1])
    assert status == 200
    assert "dotdo.workflows.durable" in modules
    assert [name for name in (*NOT_AT_START, *ON_DEMAND, *WITHOUT_TOKENS) if name in modules] == []


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


def test_deferred_names_still_resolve_where_they_did() -> None:
    """The middleware package's lazy names, `dotdo.remote.calls`' field rules (now in
    `dotdo.remote.fields`) and the `/ws/rpc` socket tag that `core.transport` spells without
    loading the protocol are the same objects (and value) as before; `cors` stays the
    function, not its submodule."""
    modules = _loaded(
        "import importlib\n"
        "import dotdo.core.middleware as middleware\n"
        "from dotdo.core.middleware import CorsPolicy, bearer_auth, cors, request_logger\n"
        "cors_module, auth, logs = (importlib.import_module(f'dotdo.core.middleware.{n}')"
        " for n in ('cors', 'auth', 'logging'))\n"
        "assert cors is cors_module.cors and CorsPolicy is cors_module.CorsPolicy\n"
        "assert bearer_auth is auth.bearer_auth and request_logger is logs.request_logger\n"
        "assert 'bearer_auth' in dir(middleware)\n"
        "from dotdo.remote import calls, fields\n"
        "assert all(getattr(calls, n) is getattr(fields, n) for n in fields.__all__)\n"
        "from dotdo.wire import capability, tokens\n"
        "assert tokens.Capability is capability.Capability\n"
        "from dotdo.core.transport import WS_RPC_TAG\n"
        "from dotdo.wire.wsrpc import SOCKET_TAG\n"
        "assert WS_RPC_TAG == SOCKET_TAG"
    )
    assert "dotdo.remote.calls" in modules
