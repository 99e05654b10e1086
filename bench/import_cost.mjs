// What importing the app costs under Pyodide: the wasm Python of the local runtime, run by
// Node (the clock stands still inside workerd while code runs, so it cannot be timed there).
//
//   node bench/import_cost.mjs [--runs 5] [--src DIR] [--modules 25] [--app full|scaffold]
//
// Each run boots a fresh Pyodide, imports the `workers` SDK and the standard modules the
// bare-Python floor needs (what every Python worker pays), then `from dotdo import DOFull`
// and `dotdo.worker` (what dotdo adds; with `--app scaffold`, the imports of the entry module
// `dotdo new` writes instead: a DOWorkflow app), and reports the time spent creating dataclasses
// within that. The sources are compiled to bytecode first (as the local runtime ships
// them, ADR 0028), in a scratch copy. The SDK's imports of workerd's own modules
// (`_pyodide_entrypoint_helper`, ...) are answered by empty modules: only their import is
// needed here, never their behaviour. Prints a Markdown table of each run and the medians;
// with `--modules N`, also the N modules dotdo's import spends most in (Pyodide's answer to
// `python -X importtime`, which it does not offer: each module's own time, its submodules'
// excluded, and its cumulative time, medians over the runs).

import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const { values: args } = parseArgs({
  options: {
    runs: { type: "string", default: "5" },
    src: { type: "string", default: path.join(root, "src") },
    modules: { type: "string", default: "0" },
    app: { type: "string", default: "full" },
  },
});
const require = createRequire(path.join(root, "package.json"));
const { loadPyodide } = require("pyodide");
const indexURL = path.dirname(require.resolve("pyodide/package.json")) + "/";

const scratch = mkdtempSync(path.join(os.tmpdir(), "dotdo-import-cost-"));
cpSync(args.src, path.join(scratch, "src"), { recursive: true });
cpSync(path.join(root, "python_modules"), path.join(scratch, "python_modules"), { recursive: true });

const APPS = {
  full: "from dotdo import DOFull\nimport dotdo.worker",
  scaffold:
    "from dotdo import DOWorkflow, Event, HttpRequest, HttpResponse, Noun, Router, json_response, on, rpc\n" +
    "from dotdo.worker import forward_to_tenant",
};
if (!(args.app in APPS)) throw new Error(`--app is one of ${Object.keys(APPS).join(", ")}`);

const PROBE = `
import sys, time, types

class _Empty(types.ModuleType):
    def __getattr__(self, name):
        return lambda *args, **kwargs: None

for name in ("_pyodide_entrypoint_helper", "_cloudflare_compat_flags", "_workers_sdk_patch_loader"):
    sys.modules[name] = _Empty(name)
sys.path[:0] = ["/scratch/src", "/scratch/python_modules"]

start = time.perf_counter()
import json, re, time as _t, urllib.parse, uuid  # the floor's own imports
import workers
floor_ms = (time.perf_counter() - start) * 1000

import dataclasses
_process = dataclasses._process_class
spent = [0.0, 0]
def _timed(*args, **kwargs):
    began = time.perf_counter()
    try:
        return _process(*args, **kwargs)
    finally:
        spent[0] += time.perf_counter() - began
        spent[1] += 1
dataclasses._process_class = _timed

import importlib._bootstrap as _bootstrap
_find_and_load = _bootstrap._find_and_load
own = {}
total = {}
stack = []
def _timed_load(name, import_):
    # The import system calls _find_and_load for each module not yet in sys.modules; a
    # module's own time is its total less the totals of the imports it started.
    began = time.perf_counter()
    stack.append(0.0)
    try:
        return _find_and_load(name, import_)
    finally:
        elapsed = time.perf_counter() - began
        nested = stack.pop()
        own[name] = (elapsed - nested) * 1000
        total[name] = elapsed * 1000
        if stack:
            stack[-1] += elapsed
_bootstrap._find_and_load = _timed_load

start = time.perf_counter()
${APPS[args.app]}
dotdo_ms = (time.perf_counter() - start) * 1000
_bootstrap._find_and_load = _find_and_load
modules = sum(1 for name in sys.modules if name == "dotdo" or name.startswith("dotdo."))
(floor_ms, dotdo_ms, spent[0] * 1000, spent[1], modules, own, total)
`;

async function once() {
  const py = await loadPyodide({ indexURL, stdout: () => {}, stderr: () => {} });
  py.FS.mkdirTree("/scratch");
  py.FS.mount(py.FS.filesystems.NODEFS, { root: scratch }, "/scratch");
  const result = py.runPython(PROBE).toJs();
  return {
    floor: result[0],
    dotdo: result[1],
    dataclassMs: result[2],
    dataclasses: result[3],
    modules: result[4],
    own: result[5],
    total: result[6],
  };
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
try {
  await once(); // writes every module's bytecode into the scratch copy
  const runs = [];
  for (let i = 0; i < Number(args.runs); i++) runs.push(await once());
  console.log("| run | SDK and stdlib (the floor's imports) ms | dotdo on top ms | of which dataclasses ms (classes) | dotdo modules |");
  console.log("| ---: | ---: | ---: | ---: | ---: |");
  runs.forEach((r, i) =>
    console.log(`| ${i + 1} | ${r.floor.toFixed(0)} | ${r.dotdo.toFixed(0)} | ${r.dataclassMs.toFixed(0)} (${r.dataclasses}) | ${r.modules} |`),
  );
  const m = (key) => median(runs.map((r) => r[key])).toFixed(0);
  console.log(`| median | ${m("floor")} | ${m("dotdo")} | ${m("dataclassMs")} | |`);
  const top = Number(args.modules);
  if (top > 0) {
    const names = [...new Set(runs.flatMap((r) => [...r.own.keys()]))];
    const of = (key, name) => median(runs.map((r) => r[key].get(name) ?? 0));
    const rows = names.map((name) => [name, of("own", name), of("total", name)]).sort((a, b) => b[1] - a[1]);
    console.log(`\n${names.length} modules imported on top of the floor's; the ${top} that cost most themselves:\n`);
    console.log("| module | own ms (median) | with its imports ms |");
    console.log("| --- | ---: | ---: |");
    for (const [name, own, total] of rows.slice(0, top)) console.log(`| ${name} | ${own.toFixed(1)} | ${total.toFixed(1)} |`);
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
