"""Test harness worker: the app's passthrough, plus `/_harness/rpc` for the tests.

POST /_harness/rpc {"binding": "DOTDO", "name": "<object name>", "method": "...",
"params": [...]} makes a real Workers RPC call from this worker to that object
and answers {"result": ...} or {"error": {"type", "message"}}. POST
/_harness/stub_names {"binding", "name"} answers the names a Python caller's stub
of that object answers itself (Pyodide's JsProxy attributes), which no RPC call
can reach from Python. Other paths under
/_harness/ go, without that prefix, to the HarnessCore object of the request's tenant (under
/_workflow/, to the HarnessWorkflow object; under /_semantic/, to HarnessSemantic; under /_strict/,
to HarnessStrict; under /_storage/, to a plain DOStorage; under /_relaxed/, to HarnessRelaxed;
under /_rows/, to HarnessRows; under /_full/, to HarnessFull; under /_direct/ and /_tiered/, to
HarnessDirect and HarnessTiered, the benchmarks' pair; under /_archive/, to HarnessArchive, a
DOStorage archiving into the local R2 bucket; under /_fanout/, to HarnessFanout; under /_ai/, to
HarnessAi);
everything else goes through src/entry.py's Default unchanged.
"""

import json

import js
from harness_archive import HarnessArchive
from harness_core import HarnessCore
from harness_fanout import HarnessFanout
from harness_full import HarnessFull
from harness_full_ai import HarnessAi
from harness_rows import HarnessRows
from harness_semantic import HarnessSemantic
from harness_storage import HarnessDirect, HarnessRelaxed, HarnessTiered
from harness_workflow import HarnessStrict, HarnessTimers, HarnessWorkflow
from workers import Request, Response, WorkerEntrypoint

from dotdo import DOStorage
from dotdo.worker import forward_to_tenant
from entry import Default as AppDefault
from entry import DOCore, DOFull, DOSemantic, DOWorkflow

__all__ = [
    "DOCore",
    "DOFull",
    "DOSemantic",
    "DOStorage",
    "DOWorkflow",
    "Default",
    "HarnessAi",
    "HarnessArchive",
    "HarnessCore",
    "HarnessDirect",
    "HarnessFanout",
    "HarnessFull",
    "HarnessRelaxed",
    "HarnessRows",
    "HarnessSemantic",
    "HarnessStrict",
    "HarnessTiered",
    "HarnessTimers",
    "HarnessWorkflow",
]


class Default(WorkerEntrypoint):
    async def fetch(self, request):
        if request.url.split("?")[0].endswith("/_harness/rpc") and request.method == "POST":
            call = await request.json()
            namespace = getattr(self.env, call["binding"])
            stub = namespace.get(namespace.idFromName(call["name"]))
            try:
                result = await getattr(stub, call["method"])(*call.get("params", []))
            except Exception as error:  # the remote error, reported to the test
                message = getattr(error, "message", None) or str(error)
                body = {"error": {"type": type(error).__name__, "message": message}}
                return Response(json.dumps(body), status=500, headers={"content-type": "application/json"})
            return Response(json.dumps({"result": result}), headers={"content-type": "application/json"})
        if request.url.split("?")[0].endswith("/_harness/stub_names") and request.method == "POST":
            call = await request.json()
            namespace = getattr(self.env, call["binding"])
            stub = namespace.get(namespace.idFromName(call["name"]))
            names = [name for name in dir(stub._binding) if not name.startswith("_")]
            return Response(json.dumps({"result": names}), headers={"content-type": "application/json"})
        if "/_semantic/" in request.url:  # the test-only semantic class, by tenant like the app
            stripped = js.Request.new(request.url.replace("/_semantic/", "/", 1), request.js_object)
            return await forward_to_tenant(Request(stripped), self.env.SEMANTIC)
        if "/_strict/" in request.url:  # the test-only strict_nouns class, by tenant like the app
            stripped = js.Request.new(request.url.replace("/_strict/", "/", 1), request.js_object)
            return await forward_to_tenant(Request(stripped), self.env.STRICT)
        if "/_fanout/" in request.url:  # the test-only fan-out class, by tenant like the app
            stripped = js.Request.new(request.url.replace("/_fanout/", "/", 1), request.js_object)
            return await forward_to_tenant(Request(stripped), self.env.FANOUT)
        if "/_storage/" in request.url:  # DOStorage (opt-in tiers), by tenant like the app
            stripped = js.Request.new(request.url.replace("/_storage/", "/", 1), request.js_object)
            return await forward_to_tenant(Request(stripped), self.env.STORAGE)
        if "/_archive/" in request.url:  # DOStorage with L3 in the local R2 bucket, by tenant
            stripped = js.Request.new(request.url.replace("/_archive/", "/", 1), request.js_object)
            return await forward_to_tenant(Request(stripped), self.env.ARCHIVED)
        if "/_relaxed/" in request.url:  # DOStorage in relaxed durability, by tenant like the app
            stripped = js.Request.new(request.url.replace("/_relaxed/", "/", 1), request.js_object)
            return await forward_to_tenant(Request(stripped), self.env.RELAXED)
        if "/_ai/" in request.url:  # the test-only DOFull class with semantic search
            stripped = js.Request.new(request.url.replace("/_ai/", "/", 1), request.js_object)
            return await forward_to_tenant(Request(stripped), self.env.AI_HARNESS)
        if "/_workflow/" in request.url:  # the test-only workflow class, by tenant like the app
            stripped = js.Request.new(request.url.replace("/_workflow/", "/", 1), request.js_object)
            return await forward_to_tenant(Request(stripped), self.env.WORKFLOW)
        if "/_full/" in request.url:  # the test-only DOFull class (human in the loop)
            stripped = js.Request.new(request.url.replace("/_full/", "/", 1), request.js_object)
            return await forward_to_tenant(Request(stripped), self.env.FULL)
        if "/_rows/" in request.url:  # the test-only class that counts rows written
            stripped = js.Request.new(request.url.replace("/_rows/", "/", 1), request.js_object)
            return await forward_to_tenant(Request(stripped), self.env.ROWS)
        if "/_direct/" in request.url:  # the storage benchmarks' direct path
            stripped = js.Request.new(request.url.replace("/_direct/", "/", 1), request.js_object)
            return await forward_to_tenant(Request(stripped), self.env.DIRECT)
        if "/_tiered/" in request.url:  # the storage benchmarks' DOStorage
            stripped = js.Request.new(request.url.replace("/_tiered/", "/", 1), request.js_object)
            return await forward_to_tenant(Request(stripped), self.env.TIERED)
        if "/_harness/" in request.url:  # the test-only class, by tenant like the app
            stripped = js.Request.new(request.url.replace("/_harness/", "/", 1), request.js_object)
            return await forward_to_tenant(Request(stripped), self.env.HARNESS)
        return await AppDefault(self.ctx, self.env).fetch(request)
