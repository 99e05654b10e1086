// Records the tiny WebAssembly modules that Pyodide compiles from bytes while it
// boots and runs (emscripten's function-pointer trampolines and friends).
//
// workerd refuses to compile wasm from bytes at run time, so the local runtime
// bundles each of these modules precompiled and hands them back when Pyodide
// asks for them (see host.mjs). Their bytes depend only on the Pyodide build,
// so they are recorded once per Pyodide version, here under plain Node, by
// booting Pyodide and running the same Python start-up the host runs, then
// EXERCISE (below): the FFI paths the host uses at run time.
//
//   node record-wasm.mjs --out DIR [--node-modules DIR]
//
// Writes DIR/<key>.wasm for every distinct module and DIR/index.json listing
// them (file and bytes in hex) with the Pyodide version they belong to.

import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { parseArgs } from "node:util";

const { values: args } = parseArgs({
  options: {
    out: { type: "string" },
    "node-modules": { type: "string", default: path.join(process.cwd(), "node_modules") },
  },
});
if (!args.out) {
  console.error("usage: record-wasm.mjs --out DIR [--node-modules DIR]");
  process.exit(2);
}

const require = createRequire(path.join(path.resolve(args["node-modules"]), "..", "package.json"));
const pyodidePkg = path.dirname(require.resolve("pyodide/package.json"));
const version = JSON.parse(readFileSync(path.join(pyodidePkg, "package.json"), "utf8")).version;

const NativeModule = WebAssembly.Module;
const recorded = new Map();
let mainInstantiated = false;

function RecordingModule(bytes, ...rest) {
  const view = bytes instanceof ArrayBuffer ? new Uint8Array(bytes) : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // Modules compiled before the main pyodide.asm.wasm is instantiated are
  // feature probes; in workerd they must keep failing, so they are not recorded.
  if (mainInstantiated) recorded.set(Buffer.from(view).toString("hex"), Buffer.from(view));
  return new NativeModule(bytes, ...rest);
}
Object.setPrototypeOf(RecordingModule, NativeModule);
RecordingModule.prototype = NativeModule.prototype;
WebAssembly.Module = RecordingModule;

const nativeInstantiate = WebAssembly.instantiate;
WebAssembly.instantiate = async function (source, imports) {
  const result = await nativeInstantiate.call(WebAssembly, source, imports);
  if (!(source instanceof NativeModule) && source.byteLength > 1_000_000) mainInstantiated = true;
  return result;
};

// The FFI paths the host uses at run time (proxies, JS callbacks, conversions, the event
// loop), so that the wasm modules Pyodide compiles for them get recorded too. It is kept
// here, not in a .py file: a file in the package would ship in every app's host bundle (its
// Python folder is on the host's sys.path) and in a deploy whose main folder holds dotdo,
// while only this recorder runs it.
const EXERCISE = `
import asyncio

import js
from pyodide.ffi import create_proxy, to_js


async def _exercise():
    fired = asyncio.get_event_loop().create_future()

    def on_timer(*args):
        if not fired.done():
            fired.set_result(None)

    callback = create_proxy(on_timer)
    js.setTimeout(callback, 0)
    to_js({"a": [1, 2.5, "x", None, True]}, dict_converter=js.Object.fromEntries)
    await asyncio.sleep(0)
    # Destroy the proxy only once the timer has called it: destroyed earlier, the timer
    # would call a dead proxy and take the whole recording process down with it.
    await fired
    callback.destroy()


await _exercise()
`;

const { loadPyodide } = require("pyodide");
const pyodide = await loadPyodide({ indexURL: pyodidePkg + "/" });
await pyodide.runPythonAsync(EXERCISE);

mkdirSync(args.out, { recursive: true });
const index = { pyodide: version, modules: [] };
for (const bytes of recorded.values()) {
  const key = createHash("sha256").update(bytes).digest("hex").slice(0, 24);
  writeFileSync(path.join(args.out, `${key}.wasm`), bytes);
  index.modules.push({ file: `${key}.wasm`, hex: bytes.toString("hex") });
}
index.modules.sort((a, b) => a.file.localeCompare(b.file));
writeFileSync(path.join(args.out, "index.json"), JSON.stringify(index, null, 2) + "\n");
console.log(`recorded ${index.modules.length} wasm modules for pyodide ${version} in ${args.out}`);
// Everything is written: do not let a straggling Pyodide timer decide the exit status.
process.exit(0);
