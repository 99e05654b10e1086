// The local runtime's JavaScript host: boots the npm `pyodide` distribution
// inside workerd and presents Cloudflare's Python Workers contract to the
// project's Python code (see docs/architecture/decisions/0001-local-runtime.md
// and 0021-package-and-dotdo-command.md).
//
// Durable Object classes and the default fetch handler are thin JavaScript
// shells; everything they receive is handed to `_dotdo_host.py`, which applies
// the `workers` SDK's conversions exactly where Cloudflare's runtime does.
//
// The generated `manifest.mjs` (build.mjs) supplies the Pyodide files, the
// precompiled wasm modules and the project's Python sources.
//
// A request carrying `x-dotdo-local-runtime: boot` boots Python, imports the
// app and checks its exports, and answers how that went, as JSON; the server
// sends one right after each (re)start so that no user request pays the boot
// and an import error reaches the terminal. An app that failed to import stays
// failed (its import is deterministic) until the next restart: every request
// then answers at once with a 500 `app_import_failed` instead of booting again.

import { DurableObject } from "cloudflare:workers";
import * as cloudflareWorkersModule from "cloudflare:workers";
import * as cloudflareSocketsModule from "cloudflare:sockets";
import * as manifest from "./manifest.mjs";

const BASE_URL = "https://pyodide.local/";
const BOOT_HEADER = "x-dotdo-local-runtime";
const BOOT_OBJECT = "__dotdo_boot"; // not a tenant name (those are a-z, 0-9 and -)
// Not a tenant name either: the object the `probe` command builds an instance of, then empties.
const PROBE_OBJECT = "__dotdo_probe";
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
      `(${view.byteLength} bytes: ${hex.slice(0, 64)}...). Please report it with the code that ` +
      `triggered it: the recorded set for this Pyodide version needs that module.`,
  );
}
Object.setPrototypeOf(PrecompiledModule, NativeModule);
PrecompiledModule.prototype = NativeModule.prototype;

// This isolate's Python: a promise of `_dotdo_host` with the app imported. A reload
// (below) puts another interpreter in its place.
let pythonPromise = null;

// The app's import failed: deterministic, so kept until the next restart or reload.
class AppImportError extends Error {
  constructor(details, host) {
    super(`the app failed to import:\n${details}`);
    this.name = "AppImportError";
    this.details = details;
    this.host = host; // the interpreter it failed in, with what it imported before the error
  }
}

function python() {
  pythonPromise ??= bootInterpreter({ withApp: true })
    .then(loadApp)
    .catch((error) => {
      if (!(error instanceof AppImportError)) pythonPromise = null;
      throw error;
    });
  return pythonPromise;
}

// Whether `file` is one of the app's own (the main module's folder, not a root inside it).
function isAppFile(file) {
  const inside = (dir) => file.startsWith(dir.endsWith("/") ? dir : `${dir}/`);
  return inside(manifest.mainDir) && !manifest.nestedRoots.some(inside);
}

// The answer while the app does not import: the error's last line and the last place in the
// app's files the traceback names, so that the client sees what to fix (the local runtime serves only
// development and tests; a deploy refuses an app that does not import).
function importFailedResponse(details) {
  const last = details.trimEnd().split("\n").at(-1).trim();
  // The last place in the app's own files (a bad `@every` fails inside dotdo, called from
  // the app's line), else the last named.
  const places = [...details.matchAll(/File "([^"]+)", line (\d+)/g)];
  const own = places.filter(([, file]) => isAppFile(file));
  const where = own.at(-1) ?? places.at(-1);
  const place = where ? ` (${where[1]}, line ${where[2]})` : "";
  const body = {
    error: {
      code: "app_import_failed",
      message: `The app failed to import: ${last}${place}; the traceback is in the dev server's output`,
    },
  };
  return Response.json(body, { status: 500 });
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

// Boots a Python interpreter with the bundled files, `_dotdo_host` imported: `{ pyodide,
// host }`. Without the app (`withApp: false`: a reload's interpreter, booted ahead of a
// save), the app's sources (the first `manifest.appFiles` entries) are left out.
async function bootInterpreter({ withApp }) {
  const pyodide = await withBootEnvironment(async () => {
    await import("./pyodide/pyodide.asm.js");
    const { loadPyodide } = await import("./pyodide/pyodide.mjs");
    return loadPyodide({
      indexURL: BASE_URL,
      lockFileContents: JSON.parse(manifest.pyodideLock),
      env: { HOME: "/home/pyodide", PYTHONHASHSEED: "0" },
      // Both streams as plain lines at wrangler's "info" level (the dev server's default):
      // console.log shows only at "log", which also prints a table of every bundled module,
      // and console.error turns each line of a traceback into a red "[ERROR]" box.
      stdout: (line) => console.info(line),
      stderr: (line) => console.info(line),
    });
  });
  // Each source at its real path (tracebacks name the files the user edits), the bytecode
  // of those that rarely change where their import looks for it (`__pycache__/` beside the
  // source): unchecked-hash pycs (build.mjs), loaded without comparing the sources' mtimes;
  // and the vendored packages' data files (tzdata's zones).
  const files = new Uint8Array(manifest.pythonFilesData);
  const entries = withApp ? manifest.pythonFiles : manifest.pythonFiles.slice(manifest.appFiles);
  writeFiles(
    pyodide,
    entries.map(([file, offset, length]) => [file, files.subarray(offset, offset + length)]),
  );
  pyodide.FS.mkdirTree(manifest.pythonModulesDir);
  pyodide.FS.mkdirTree(manifest.mainDir);
  pyodide.registerJsModule("_dotdo_host_js", {
    cloudflareWorkersModule,
    cloudflareSocketsModule,
    doAnImport: (name) => import(name),
  });
  const sys = pyodide.pyimport("sys");
  for (const dir of manifest.pythonPath) sys.path.insert(0, dir);
  return { pyodide, host: pyodide.pyimport("_dotdo_host") };
}

// Writes `[path, bytes]` pairs into Pyodide's file system. Each folder is made once: a
// mkdirTree walks the whole path, and most files share their folder with others.
function writeFiles(pyodide, files) {
  const folders = new Set();
  for (const [file, content] of files) {
    const folder = file.slice(0, file.lastIndexOf("/"));
    if (!folders.has(folder)) {
      pyodide.FS.mkdirTree(folder);
      folders.add(folder);
    }
    pyodide.FS.writeFile(file, content);
  }
}

// Imports the app into a booted interpreter: its `_dotdo_host`, or AppImportError.
function loadApp({ host }) {
  const problem = host.load_main(
    manifest.mainModule,
    manifest.mainFile,
    manifest.durableObjectClasses,
    manifest.testControl,
  );
  if (problem) throw new AppImportError(problem, host);
  return host;
}

// Boots this isolate's Python and imports the app: `{ ok }`, or `{ ok: false, error, import }`.
async function bootReport(load = python) {
  try {
    await load();
    return { ok: true };
  } catch (error) {
    const details = error instanceof AppImportError ? error.details : String(error.stack ?? error);
    return { ok: false, error: details, import: error instanceof AppImportError };
  }
}

// --- Reloads (ADR 0060) --------------------------------------------------------------------
// `dotdo dev` serves a save of the app's own sources (the main module's folder) without
// restarting workerd: each isolate imports the saved app into a *new* interpreter, booted
// ahead of the save with everything but the app (`standby`), and every Durable Object builds
// a new instance from the new classes on its next event, as after an eviction. No code of
// the old interpreter ever meets the new one; an object's calls in flight finish on its old
// instance first. A change anywhere else (python_modules/, the config) still restarts.

let standby = null; // a promise of an interpreter without the app, booted ahead of a save
let standbyReady = false; // it has resolved: a reload takes it at once
let preloadNames = []; // what it imports ahead: the modules the serving app uses from outside it
let reloads = Promise.resolve(); // reloads one after the other, in the order saved
let lastReload = { id: null, report: null }; // each isolate reloads once per save: the
// server posts one reload at a time, and every object of the isolate passes it on

// Boots the next reload's interpreter now, unless one is booted or booting, and imports into
// it the modules the serving interpreter has loaded from outside the app's folder (dotdo,
// the SDK, the stdlib modules they use), one a turn of the event loop, so that requests
// served meanwhile wait for one import at most.
function prepareStandby() {
  standby ??= (async () => {
    try {
      preloadNames = (await python()).loaded_modules(manifest.mainDir, manifest.nestedRoots).toJs();
    } catch (error) {
      if (!(error instanceof AppImportError)) throw error;
      // The app failed to import: what it imported before the error (dotdo, typically) is
      // imported ahead; a start that failed so had no list at all, and its fix was then
      // served only after dotdo's own import, 6 s on a loaded machine.
      const before = error.host.loaded_modules(manifest.mainDir, manifest.nestedRoots).toJs();
      if (before.length > preloadNames.length) preloadNames = before;
    }
    const loaded = preloadNames;
    const interpreter = await bootInterpreter({ withApp: false });
    for (const name of loaded) {
      await new Promise((resolve) => setTimeout(resolve, 0));
      interpreter.host.preload(name);
    }
    standbyReady = true;
    return interpreter;
  })();
  standby.catch(() => (standby = null));
  return standby;
}

// Whether this isolate's next reload finds its interpreter booted: `{ ready }`, or
// `{ ready: false, error }` once booting it failed (`standby` then starts it again).
let standbyFailure = null;
function standbyStatus() {
  if (standbyFailure !== null) return { ready: false, error: standbyFailure };
  return { ready: standbyReady, idleMs: working > 0 ? 0 : Date.now() - lastWork };
}

// How many connections wrangler's proxy may hold to this runtime, idle or in use, at most:
// the requests in flight at this isolate's entry, and those that ended in the last
// `POOL_WINDOW_MS`. The proxy's pool (kj's) drops a connection idle for 5 s, so each pooled
// connection is in use or had its last request end within the window, and no two share a
// last request. `server.mjs` occupies that many before a boot. With a fixed 16, the 24
// connections that 40 requests at once left 2.5 s before a save were 16 held and 8 not, and
// writes sent during the boot took those 8 and were answered 503 "Your worker restarted
// mid-request" (8 of 8). The most requests in flight at once is no bound: the proxy opens a
// connection when it has no idle one, before the runtime has read the requests already
// sent (40 at once were never more than 19 in flight here). Counted per second.
const POOL_WINDOW_MS = 7_000; // kj's 5 s idle end, and late timers on a held thread
let inFlight = 0;
let ended = []; // [the second's start in ms, how many requests ended in it]
function enterRequest() {
  inFlight += 1;
  return () => {
    inFlight -= 1;
    const second = Math.floor(Date.now() / 1000) * 1000;
    const last = ended.at(-1);
    if (last?.[0] === second) {
      last[1] += 1;
    } else {
      // Pruned as a second begins, not only when the server asks: a runtime it never asks
      // (dotdo.testing's) kept an entry for every busy second it ever served.
      pruneEnded();
      ended.push([second, 1]);
    }
  };
}
function pruneEnded() {
  const since = Date.now() - POOL_WINDOW_MS - 1000;
  while (ended.length > 0 && ended[0][0] < since) ended.shift();
}
function pooledConnectionsAtMost() {
  pruneEnded();
  return ended.reduce((sum, [, count]) => sum + count, inFlight);
}

// This isolate's own work (requests, an object's events; never the boot requests): how much
// is running and when the last ended. `server.mjs` boots the next reload's interpreter only
// once the isolate has been idle for a while (ADR 0060).
let working = 0;
let lastWork = Date.now();
async function asWork(work) {
  working += 1;
  try {
    return await work();
  } finally {
    working -= 1;
    lastWork = Date.now();
  }
}

// Boots the next reload's interpreter in the background of a request that has answered
// (`ctx.waitUntil`), so that the server's request for it is not held for the boot's length:
// a promise that settles when the boot is done, either way.
function bootStandbyAfterAnswer(ctx) {
  standbyFailure = null;
  const booted = prepareStandby().catch((error) => {
    standbyFailure = String(error.stack ?? error);
    console.info(`dotdo: booting Python ahead of the next save failed: ${standbyFailure}`);
  });
  ctx.waitUntil(booted);
  return booted;
}

// --- wrangler's proxy's connections, held across a boot (ADR 0060) --------------------------
// wrangler's dev proxy pools its connections to the runtime, and both ends close one after 5 s
// idle (kj's HTTP defaults). A boot or an import holds the runtime's thread for seconds; a
// pooled connection whose 5 s end fell meanwhile was closed by the runtime as the thread came
// back, with the request the proxy had just written into it: a GET held until the proxy's next
// request, a write answered 503 "Your worker restarted mid-request". So the server first sends
// `occupy` requests, which take every idle connection of the pool and wait here until the work
// is done: a connection in use has no idle end, and a request that comes meanwhile makes the
// proxy open a new one, read once the thread is back (server.mjs `occupyProxyConnections`).
const OCCUPY_HEADER = "x-dotdo-occupied"; // on the request that holds the thread: how many
const OCCUPY_BATCH_HEADER = "x-dotdo-occupy-batch"; // on it and on its `occupy` requests
const OCCUPY_WAIT_MS = 2_000; // for them to arrive (one the proxy lost never does)
const OCCUPY_MAX_MS = 300_000; // an `occupy` left parked is answered by then, whatever
let occupied = []; // releases of the parked `occupy` requests
let onOccupied = () => {};
const releasedBatches = new Set(); // the batches whose work is done (the last few)

// Parked until the work of its batch is done; answered at once when that is already done (an
// `occupy` that came after OCCUPY_WAIT_MS: 9 of 512 on a loaded machine were parked for the
// whole OCCUPY_MAX_MS, each holding a connection and a request of the server's).
async function occupy(request) {
  if (releasedBatches.has(request.headers.get(OCCUPY_BATCH_HEADER))) return Response.json({ ok: true });
  await new Promise((resolve) => {
    const release = () => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(release, OCCUPY_MAX_MS);
    occupied.push(release);
    onOccupied();
  });
  return Response.json({ ok: true });
}

// Runs `work` once the `occupy` requests its request announces are parked (or OCCUPY_WAIT_MS
// has passed), then answers them.
async function withProxyOccupied(request, work) {
  const batch = request.headers.get(OCCUPY_BATCH_HEADER);
  const wanted = Number(request.headers.get(OCCUPY_HEADER) ?? 0);
  const deadline = Date.now() + OCCUPY_WAIT_MS;
  while (occupied.length < wanted && Date.now() < deadline) {
    await new Promise((resolve) => {
      onOccupied = resolve;
      setTimeout(resolve, deadline - Date.now());
    });
  }
  try {
    return await work();
  } finally {
    if (batch !== null) {
      releasedBatches.add(batch);
      if (releasedBatches.size > 16) releasedBatches.delete(releasedBatches.values().next().value);
    }
    const parked = occupied;
    occupied = [];
    for (const release of parked) release();
  }
}

function reloadApp(id, files) {
  if (lastReload.id !== id) {
    const report = reloads.then(() => swapInterpreter(files));
    lastReload = { id, report };
    reloads = report;
  }
  return lastReload.report;
}

async function swapInterpreter(files) {
  let interpreter;
  try {
    interpreter = await (standby ?? prepareStandby());
  } catch (error) {
    return { ok: false, error: String(error.stack ?? error), import: false };
  } finally {
    standby = null;
    standbyReady = false;
  }
  writeFiles(
    interpreter.pyodide,
    files.map(([file, base64]) => [file, fromBase64(base64)]),
  );
  interpreter.host.invalidate_caches();
  let next;
  try {
    next = Promise.resolve(loadApp(interpreter));
  } catch (error) {
    next = Promise.reject(error);
    next.catch(() => {}); // awaited by the requests that follow, each answered the error
  }
  pythonPromise = next;
  releaseIdleInstances();
  return bootReport(() => next);
}

// The bytes of `text`, base64 (a reload's sources, each as it is on disk).
function fromBase64(text) {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i += 1) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

// Every object of this isolate that may hold an instance, weakly: workerd owns the objects,
// and one it has let go leaves the set once collected.
const residents = new Set();
const forgetResident = new FinalizationRegistry((ref) => residents.delete(ref));
function keepResident(resident) {
  const ref = new WeakRef(resident);
  residents.add(ref);
  forgetResident.register(resident, ref);
}
function releaseIdleInstances() {
  for (const ref of residents) ref.deref()?.releaseIfIdle();
}
// The boot request: this isolate's Python and, at the same time, that of the Durable Objects
// (workerd runs them in an isolate of their own) through one object of each bound namespace.
// `reload` (a POST of `{ id, files }`) imports the saved app instead, into the interpreter
// `standby` (answered at once) boots after its answer: `server.mjs` asks for one a few
// seconds after each "Ready" and before each reload, and sends the reload once
// `standby-status` says it is booted, so that the reload never waits on a boot that another
// request runs.
async function bootAnswer(request, env, ctx) {
  let reports;
  const kind = request.headers.get(BOOT_HEADER);
  if (CONTROL_KINDS.has(kind) && !fromTheServer(request, env)) {
    const message = `x-dotdo-local-runtime: ${kind} is the dev server's own command, not a client's`;
    // Its body read first: a refusal answered with the body unread left the pooled connection
    // unusable, and the proxy answered the next request on it 503 (2 writes in 15).
    await request.arrayBuffer().catch(() => {});
    return Response.json({ error: { code: "local_runtime_command_refused", message } }, { status: 403 });
  }
  const controlToken = request.headers.get("x-dotdo-local-runtime-token"); // passed on to each object
  const objects = manifest.durableObjectBindings.map((binding) => {
    const namespace = env[binding];
    return namespace.get(namespace.idFromName(BOOT_OBJECT));
  });
  if (kind === "standby") {
    // Answered once every isolate's boot has begun; the proxy's connections are held until
    // every one has ended (in the background of the answer).
    let started;
    const booted = new Promise((resolve) => (started = resolve));
    ctx.waitUntil(
      withProxyOccupied(request, async () => {
        const own = bootStandbyAfterAnswer(ctx);
        await Promise.all(objects.map((object) => object.dotdoStandby(controlToken)));
        started();
        await Promise.allSettled([own, ...objects.map((object) => object.dotdoStandbyBooted())]);
      }).finally(started),
    );
    await booted;
    return Response.json({ ok: true });
  }
  if (kind === "probe") {
    // Each bound class built as a tenant's first event builds it: an exception of its code
    // there (a bad route pattern in `routes()`) fails every request, first seen after "Ready".
    const probes = manifest.durableObjectBindings.map((binding) => {
      const namespace = env[binding];
      return namespace.get(namespace.idFromName(PROBE_OBJECT));
    });
    reports = await Promise.all(probes.map((object) => object.dotdoProbe(controlToken)));
    return Response.json(reports.find((report) => !report.ok) ?? { ok: true });
  }
  if (kind === "occupy") return occupy(request);
  if (kind === "hold") {
    // Answered after HOLD_MS, so that concurrent holds each take a connection of wrangler's
    // proxy of their own (dotdo.testing's clients renew them so after a long time-travel pass).
    await new Promise((resolve) => setTimeout(resolve, HOLD_MS));
    return Response.json({ ok: true });
  }
  if (kind === "standby-status") {
    reports = [standbyStatus(), ...(await Promise.all(objects.map((object) => object.dotdoStandbyStatus())))];
    const status = reports.find((report) => !report.ready) ?? reports[0];
    return Response.json({ ...status, connections: pooledConnectionsAtMost() });
  }
  if (kind === "reload") {
    const { id, files } = await request.json();
    reports = await withProxyOccupied(request, () =>
      Promise.all([reloadApp(id, files), ...objects.map((object) => object.dotdoReload(controlToken, id, files))]),
    );
  } else {
    reports = await Promise.all([bootReport(), ...objects.map((object) => object.dotdoBoot())]);
  }
  return Response.json(reports.find((report) => !report.ok) ?? reports[0]);
}

const HOLD_MS = 25;

// The boot path's commands that replace the app's code, hold the runtime or build objects
// (`probe`, which empties the storage of the one it builds): answered only
// with the token `server.mjs` gives the runtime as the DOTDO_LOCAL_CONTROL var (any client
// of the port replaced the app with a `reload` of its own). `boot`, `hold` and
// `standby-status` do neither, and dotdo.testing's clients send `hold`.
const CONTROL_KINDS = new Set(["reload", "standby", "occupy", "probe"]);
function fromTheServer(request, env) {
  return isControlToken(env, request.headers.get("x-dotdo-local-runtime-token"));
}

function isControlToken(env, given) {
  const token = env?.DOTDO_LOCAL_CONTROL;
  return typeof token === "string" && given === token;
}

function checkControlToken(env, given) {
  if (!isControlToken(env, given)) throw new Error("refused: a command of the dotdo dev server, which only it may send");
}

// The `[ai]` binding, served by the host's aihost.py at the DOTDO_LOCAL_AI url (server.mjs):
// `run(model, inputs)` answers as Workers AI's binding does, or throws its error message.
let localAiBinding = null;
function withLocalAi(env) {
  const url = env?.DOTDO_LOCAL_AI;
  if (!manifest.aiBinding || typeof url !== "string") return env;
  localAiBinding ??= {
    async run(model, inputs) {
      const request = () =>
        fetch(`${url}/run`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ model, inputs }),
        });
      // A pooled connection the host closed fails at once; a second try opens a new one.
      const response = await request().catch(request);
      const body = await response.json();
      if (!response.ok) throw new Error(body.error ?? `the local AI binding answered ${response.status}`);
      return body;
    },
  };
  const name = manifest.aiBinding;
  return new Proxy(env, {
    get: (target, prop, receiver) => (prop === name ? localAiBinding : Reflect.get(target, prop, receiver)),
    has: (target, prop) => prop === name || Reflect.has(target, prop),
  });
}

// A shell answers its own names (the handlers below, ctx, env); every other
// public name is an RPC call forwarded to the Python instance. `then` and
// `toJSON` are probed by promise and JSON machinery, never RPC methods.
const NEVER_FORWARDED = new Set(["then", "toJSON"]);

// How long a reloaded object's new instance waits for the calls still running on its old
// one: then the old one's storage is closed (`Fence`) and the new one built. A call that never
// ends must not hold the object forever, and two instances must never write one storage.
const DRAIN_MS = 10_000;

// What an instance's storage calls throw once it is replaced: Cloudflare's runtime fails the
// storage calls of an instance whose code was updated with the same words.
const RESET_MESSAGE =
  "Durable Object reset because its code was updated (dotdo dev reloaded the app: this " +
  "instance was replaced, and its storage is closed)";

// An instance's `ctx` with its storage closed when the instance is let go (ADR 0060). Work an
// old instance left running (an asyncio task, a timer, a call past DRAIN_MS) must not write
// beside the new one: each holds its own view of the storage (DOStorage's write-ahead log
// positions), and the two overwrote each other's rows. Every method of `ctx.storage`, of
// `ctx.storage.sql` and of `ctx.storage.kv` (the synchronous key-value API, which writes the
// same database) throws once closed; the rest of `ctx` (id, WebSockets) stays.
class Fence {
  constructor(ctx) {
    this.closed = false;
    this.ctx = this.guard(ctx, { storage: { sql: {}, kv: {} } }, false);
  }

  close() {
    this.closed = true;
  }

  // `target` seen through a proxy: its methods bound to it (workerd's methods refuse another
  // `this`), closed by the fence when `fenced`, and the `children` named guarded in turn.
  // `constructor` stays itself: the SDK wraps the storage by its constructor's name.
  guard(target, children, fenced) {
    const fence = this;
    const made = new Map();
    return new Proxy(target, {
      get(object, prop) {
        if (made.has(prop)) return made.get(prop);
        const value = Reflect.get(object, prop, object);
        let out;
        if (typeof prop === "string" && Object.hasOwn(children, prop) && value !== null && typeof value === "object") {
          out = fence.guard(value, children[prop], true);
        } else if (typeof prop === "string" && prop !== "constructor" && typeof value === "function") {
          out = fenced
            ? (...args) => {
                if (fence.closed) throw new Error(RESET_MESSAGE);
                return Reflect.apply(value, object, args);
              }
            : (...args) => Reflect.apply(value, object, args);
        } else {
          return value;
        }
        made.set(prop, out);
        return out;
      },
    });
  }
}

// One instance of a Durable Object's Python class: the interpreter that built it, the calls
// running on it, and the fence that closes its storage when it is let go.
class Tenancy {
  constructor(host, instance, fence) {
    this.host = host;
    this.instance = instance;
    this.fence = fence;
    this.calls = 0;
    this.drained = null; // resolves when `calls` is back to 0
    this.resolveDrained = null;
  }

  async run(call) {
    this.calls += 1;
    if (this.calls === 1) this.drained = new Promise((resolve) => (this.resolveDrained = resolve));
    try {
      return await call(this.host, this.instance);
    } finally {
      this.calls -= 1;
      if (this.calls === 0) this.resolveDrained();
    }
  }

  // Resolves when its calls are done, or after `ms`, whichever is first.
  drainedWithin(ms) {
    if (this.calls === 0) return Promise.resolve();
    let timer;
    const late = new Promise((resolve) => (timer = setTimeout(resolve, ms)));
    return Promise.race([this.drained, late]).finally(() => clearTimeout(timer));
  }

  // Let go: its storage closed first, then its proxy (work it left running holds the Python
  // object itself, and fails at its next storage call).
  retire() {
    this.fence.close();
    try {
      this.instance.destroy();
    } catch {
      // already destroyed with its interpreter
    }
  }
}

// One Durable Object's Python instance, built by the serving interpreter: after a reload, a
// new one, once the calls still running on the old one are done (or DRAIN_MS has passed and
// the old one's storage is closed). Never two instances with their storage open.
class Resident {
  constructor(className, ctx, env) {
    this.className = className;
    this.ctx = ctx;
    this.env = env;
    this.current = null; // the Tenancy serving this object's events
  }

  // Runs `call(host, instance)` on the instance of the serving interpreter.
  run(call) {
    return asWork(() => this.runNow(call));
  }

  async runNow(call) {
    let host = await python();
    while (this.current?.host !== host) {
      const old = this.current;
      if (old !== null && old.calls > 0) {
        await old.drainedWithin(DRAIN_MS);
        host = await python(); // another reload may have come meanwhile
        if (this.current !== old) continue; // another event replaced it while this one waited
      }
      this.release();
      const fence = new Fence(this.ctx);
      this.current = new Tenancy(host, host.construct(this.className, fence.ctx, withLocalAi(this.env)), fence);
    }
    return this.current.run(call);
  }

  // A reload's new interpreter serves: an instance built by the old one, with no call
  // running, is let go now rather than on the object's next event.
  releaseIfIdle() {
    if (this.current !== null && this.current.calls === 0) this.release();
  }

  release() {
    const old = this.current;
    this.current = null;
    old?.retire();
  }
}

// The shell's own state, under a symbol: every string name but its handlers' is an RPC
// method of the Python class (a field named `calls` hid the app's `calls()`).
const RESIDENT = Symbol("resident");

export function makeDurableObjectClass(className) {
  const shell = class extends DurableObject {
    constructor(ctx, env) {
      super(ctx, env);
      const resident = new Resident(className, ctx, env);
      this[RESIDENT] = resident;
      keepResident(resident);
      return new Proxy(this, {
        get(target, prop, receiver) {
          if (typeof prop !== "string" || prop.startsWith("_") || NEVER_FORWARDED.has(prop) || prop in target) {
            return Reflect.get(target, prop, receiver);
          }
          return (...args) => resident.run((host, instance) => host.call_rpc(instance, prop, ...args));
        },
      });
    }

    // Called by the boot request: boots Python without building the instance (which would
    // create tables in this object's storage).
    async dotdoBoot() {
      return bootReport();
    }

    // The two that replace the app's code or hold the runtime take the server's token, as
    // their boot-path commands do (`fromTheServer`): as methods of every object, any code
    // that calls an object's methods by name reached them (DOFull's `/fanout` with
    // `"method": "dotdoReload"` replaced the code every tenant ran).
    async dotdoReload(token, id, files) {
      checkControlToken(this.env, token);
      return reloadApp(id, files);
    }

    // The `probe` command's: builds this object's instance of the serving interpreter, lets it
    // go, and empties the object's storage (the tables the instance made, an alarm its
    // constructor set), so that nothing of it runs or stays. `{ ok }`, or `{ ok: false,
    // className, error }` with the traceback of an exception the class's code raised.
    async dotdoProbe(token) {
      checkControlToken(this.env, token);
      const resident = this[RESIDENT];
      try {
        await resident.run(() => null);
        return { ok: true };
      } catch (error) {
        return { ok: false, className, error: String(error?.message ?? error) };
      } finally {
        resident.release();
        await this.ctx.storage.deleteAlarm();
        await this.ctx.storage.deleteAll();
      }
    }

    async dotdoStandby(token) {
      checkControlToken(this.env, token);
      bootStandbyAfterAnswer(this.ctx);
    }

    // Settles when this isolate's boot of the next reload's interpreter is done, either way.
    async dotdoStandbyBooted() {
      await standby?.catch(() => {});
    }

    async dotdoStandbyStatus() {
      return standbyStatus();
    }

    async fetch(request) {
      return this[RESIDENT].run((host, instance) => host.call_fetch(instance, request));
    }

    async alarm(alarmInfo) {
      return this[RESIDENT].run((host, instance) => host.call_raw(instance, "alarm", alarmInfo));
    }

    async webSocketMessage(ws, message) {
      return this[RESIDENT].run((host, instance) => host.call_raw(instance, "webSocketMessage", ws, message));
    }

    async webSocketClose(ws, code, reason, wasClean) {
      return this[RESIDENT].run((host, instance) =>
        host.call_raw(instance, "webSocketClose", ws, code, reason, wasClean),
      );
    }

    async webSocketError(ws, error) {
      return this[RESIDENT].run((host, instance) => host.call_raw(instance, "webSocketError", ws, error));
    }
  };
  Object.defineProperty(shell, "name", { value: className });
  return shell;
}

export const defaultHandler = {
  async fetch(request, env, ctx) {
    // Each on a connection of wrangler's proxy's pool, but the server's `standby-status` polls:
    // one at a time, each takes the connection the last one returned (its spare holds cover them).
    const counted = request.headers.get(BOOT_HEADER) !== "standby-status";
    const leave = counted ? enterRequest() : () => {};
    try {
      if (request.headers.has(BOOT_HEADER)) return await bootAnswer(request, env, ctx);
      return await asWork(async () => {
        let host;
        try {
          host = await python();
        } catch (error) {
          if (error instanceof AppImportError) return importFailedResponse(error.details);
          throw error;
        }
        return host.call_default_fetch(request, withLocalAi(env), ctx);
      });
    } finally {
      leave();
    }
  },
};
