// The local runtime's JavaScript host: boots the npm `pyodide` distribution
// inside workerd and presents Cloudflare's Python Workers contract to the
// project's Python code (see docs/architecture/decisions/0001-local-runtime.md).
//
// Durable Object classes and the default fetch handler are thin JavaScript
// shells; everything they receive is handed to `_dotdo_host.py`, which applies
// the `workers` SDK's conversions exactly where Cloudflare's runtime does.
//
// The generated `manifest.mjs` (scripts/localrt/build.mjs) supplies the Pyodide
// files, the precompiled wasm modules and the project's Python sources.

import { DurableObject } from "cloudflare:workers";
import * as cloudflareWorkersModule from "cloudflare:workers";
import * as cloudflareSocketsModule from "cloudflare:sockets";
import * as manifest from "./manifest.mjs";

const BASE_URL = "https://pyodide.local/";
const APP_ROOT = "/app";
const NativeModule = WebAssembly.Module;

// workerd forbids compiling wasm from bytes. Every module Pyodide compiles
// after start-up was recorded under Node; hand back the bundled copy, and fail
// loudly, naming the module, when one was not recorded.
function PrecompiledModule(bytes) {
  const view = ArrayBuffer.isView(bytes)
    ? new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    : new Uint8Array(bytes);
  const hex = Array.from(view, (b) => b.toString(16).padStart(2, "0")).join("");
  const module = manifest.recordedWasm[hex];
  if (module) return module;
  throw new WebAssembly.CompileError(
    `dotdo local runtime: Pyodide compiled a wasm module that was not recorded ` +
      `(${view.byteLength} bytes: ${hex.slice(0, 64)}...). Re-run ./scripts/dev ` +
      `after deleting .dotdo/recorded to record it again.`,
  );
}
Object.setPrototypeOf(PrecompiledModule, NativeModule);
PrecompiledModule.prototype = NativeModule.prototype;

let pythonPromise = null;

function python() {
  pythonPromise ??= bootPython().catch((error) => {
    pythonPromise = null;
    throw error;
  });
  return pythonPromise;
}

async function withBootEnvironment(fn) {
  const saved = {
    fetch: globalThis.fetch,
    instantiateStreaming: WebAssembly.instantiateStreaming,
    importScripts: globalThis.importScripts,
    location: globalThis.location,
    setImmediate: globalThis.setImmediate,
  };
  // Pyodide takes the web-worker code path: its files are answered from the
  // bundle instead of the network, and the main module is the precompiled one.
  globalThis.importScripts = () => {
    throw new TypeError("importScripts is not available in workerd");
  };
  globalThis.location = new URL("pyodide.mjs", BASE_URL);
  globalThis.setImmediate = (fn, ...args) => setTimeout(fn, 0, ...args);
  globalThis.fetch = async (resource) => {
    const url = String(resource instanceof Request ? resource.url : resource);
    if (url === BASE_URL + "python_stdlib.zip") return new Response(manifest.pythonStdlib);
    if (url === BASE_URL + "pyodide.asm.wasm") return new Response(null);
    throw new Error(`dotdo local runtime: Pyodide asked for ${url}, which is not bundled`);
  };
  WebAssembly.instantiateStreaming = async (_response, imports) => {
    const instance = await WebAssembly.instantiate(manifest.pyodideWasm, imports);
    return { instance, module: manifest.pyodideWasm };
  };
  WebAssembly.Module = PrecompiledModule;
  try {
    return await fn();
  } finally {
    globalThis.fetch = saved.fetch;
    WebAssembly.instantiateStreaming = saved.instantiateStreaming;
    globalThis.importScripts = saved.importScripts;
    globalThis.location = saved.location;
    globalThis.setImmediate = saved.setImmediate;
  }
}

async function bootPython() {
  const started = Date.now();
  const pyodide = await withBootEnvironment(async () => {
    await import("./pyodide/pyodide.asm.js");
    const { loadPyodide } = await import("./pyodide/pyodide.mjs");
    return loadPyodide({
      indexURL: BASE_URL,
      lockFileContents: JSON.parse(manifest.pyodideLock),
      env: { HOME: "/home/pyodide", PYTHONHASHSEED: "0" },
      stdout: (line) => console.log(line),
      stderr: (line) => console.error(line),
    });
  });
  for (const [relPath, source] of manifest.pythonFiles) {
    const dest = `${APP_ROOT}/${relPath}`;
    pyodide.FS.mkdirTree(dest.slice(0, dest.lastIndexOf("/")));
    pyodide.FS.writeFile(dest, source);
  }
  pyodide.unpackArchive(manifest.pythonModulesData, "tar", { extractDir: `${APP_ROOT}/python_modules` });
  pyodide.registerJsModule("_dotdo_host_js", {
    cloudflareWorkersModule,
    cloudflareSocketsModule,
    doAnImport: (name) => import(name),
  });
  const sys = pyodide.pyimport("sys");
  for (const dir of manifest.pythonPath) sys.path.insert(0, `${APP_ROOT}/${dir}`);
  const host = pyodide.pyimport("_dotdo_host");
  host.load_main(manifest.mainModule);
  console.log(`dotdo local runtime: Python ready in ${Date.now() - started} ms`);
  return host;
}

// A shell answers its own names (the handlers below, ctx, env); every other
// public name is an RPC call forwarded to the Python instance. `then` and
// `toJSON` are probed by promise and JSON machinery, never RPC methods.
const NEVER_FORWARDED = new Set(["then", "toJSON"]);

export function makeDurableObjectClass(className) {
  const shell = class extends DurableObject {
    constructor(ctx, env) {
      super(ctx, env);
      this.instance = null;
      return new Proxy(this, {
        get(target, prop, receiver) {
          if (typeof prop !== "string" || prop.startsWith("_") || NEVER_FORWARDED.has(prop) || prop in target) {
            return Reflect.get(target, prop, receiver);
          }
          return async (...args) => {
            const [host, instance] = await target.python();
            return host.call_rpc(instance, prop, ...args);
          };
        },
      });
    }

    async python() {
      const host = await python();
      this.instance ??= host.construct(className, this.ctx, this.env);
      return [host, this.instance];
    }

    async fetch(request) {
      const [host, instance] = await this.python();
      return host.call_fetch(instance, request);
    }

    async alarm(alarmInfo) {
      const [host, instance] = await this.python();
      return host.call_raw(instance, "alarm", alarmInfo);
    }

    async webSocketMessage(ws, message) {
      const [host, instance] = await this.python();
      return host.call_raw(instance, "webSocketMessage", ws, message);
    }

    async webSocketClose(ws, code, reason, wasClean) {
      const [host, instance] = await this.python();
      return host.call_raw(instance, "webSocketClose", ws, code, reason, wasClean);
    }

    async webSocketError(ws, error) {
      const [host, instance] = await this.python();
      return host.call_raw(instance, "webSocketError", ws, error);
    }
  };
  Object.defineProperty(shell, "name", { value: className });
  return shell;
}

export const defaultHandler = {
  async fetch(request, env, ctx) {
    const host = await python();
    return host.call_default_fetch(request, env, ctx);
  },
};
