// Serves a project on wrangler's local dev stack (the same proxy + workerd that
// `wrangler dev` runs) with the devtools inspector off. After every (re)start it
// boots Python and imports the app before saying "Ready", so the first request
// does not pay the boot and an import error is printed here, with the real file
// paths, instead of surfacing as a 500.
//
// Why not plain `wrangler dev`: wrangler 4.86 always attaches its devtools
// inspector, and every worker-to-object call then leaks a connection to the
// wrangler process; after ~20,000 requests it runs out of file descriptors and
// hangs (bench/README.md has the numbers). Its programmatic API turns it off.
//
//   node server.mjs --project DIR --node-modules DIR [--config FILE] [--out DIR]
//                   [--python-root DIR ...] [--port 8787] [--ip 127.0.0.1]
//                   [--persist-to DIR] [--var NAME=VALUE ...] [--log-level info]
//                   [--control] [--test-control] [--registry DIR] [--python EXE]
//                   [--status-file FILE]
//
// The `dotdo` command runs it (dotdo/localrt/server.py). With --control it reads
// commands from stdin, one a line: `restart` rebuilds and restarts the host (unless nothing
// the build reads changed since the running host was built: `restartInputs`), `reload
// <JSON array of paths>` serves the saved files of the main module's folder (those a deploy
// ships: its sources and the data files its module rules match) without a restart, does
// nothing when none of the paths is one a deploy ships (saying so of a file that is there),
// or restarts when a path is not in that folder (ADR 0060; the command watches the files
// and says which changed). Whenever stdin is a pipe (the `dotdo` process that started
// it holds the other end), stdin closing stops the server: the parent exited, however it
// did (kill -9 included), and the runtime must not outlive it holding the port. Else
// (stdin a terminal or /dev/null) the server runs until SIGINT/SIGTERM. --test-control (dotdo.testing's runtime) serves the
// project's dotdo objects with the test routes of dotdo.testing.control (build.mjs).
// --registry registers the worker in wrangler's dev registry at DIR, where another local
// worker binding its classes by `script_name` finds them (the JavaScript front, ADR 0020).
// --python is the Python that serves a project's `[ai]` binding offline (aihost.py).
// A workerd of the runtime, or the local AI binding's process, that exits on its own stops
// the server with exit status 3, after writing what died as one JSON line to --status-file
// (devloop.py restarts it), or saying it on stderr without one.

import childProcess, { execFileSync, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { closeSync, existsSync, fstatSync, mkdirSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { format, parseArgs } from "node:util";

import {
  CommandQueue,
  changedFilesSaid,
  firstAnswer,
  isInside,
  moduleRules,
  newerDateRefusal,
  notShippedHint,
  parseVars,
  restartInputs,
  shippedAppFiles,
  shipsToPython,
  startFailed,
  startFailure,
  statIfThere,
  worthShipping,
} from "./lib.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const { values: args } = parseArgs({
  options: {
    project: { type: "string", default: process.cwd() },
    "node-modules": { type: "string" },
    config: { type: "string" },
    out: { type: "string" },
    "python-root": { type: "string", multiple: true, default: [] },
    recorded: { type: "string" },
    port: { type: "string", default: "8787" },
    ip: { type: "string", default: "127.0.0.1" },
    "persist-to": { type: "string" },
    var: { type: "string", multiple: true, default: [] },
    "log-level": { type: "string", default: "info" },
    control: { type: "boolean", default: false },
    "test-control": { type: "boolean", default: false },
    registry: { type: "string" },
    python: { type: "string", default: "python3" },
    "status-file": { type: "string" },
    // Stated by the Python side (localrt/server.py, localrt/locking.py), never here.
    "lock-file": { type: "string" },
    "died-status": { type: "string" },
  },
});
for (const option of ["lock-file", "died-status"]) {
  if (args[option] === undefined) {
    console.error(`dotdo: server.mjs takes --${option} (localrt/server.py gives it)`);
    process.exit(2);
  }
}
const project = path.resolve(args.project);
const nodeModules = path.resolve(args["node-modules"] ?? path.join(project, "node_modules"));
const persistTo = path.resolve(project, args["persist-to"] ?? path.join(".dotdo", "state"));

// Miniflare otherwise tries to download the `Request.cf` sample at every start on a machine
// without its cache; offline that is a failed lookup and a warning, so use the placeholder.
process.env.CLOUDFLARE_CF_FETCH_ENABLED ??= "false";
process.env.WRANGLER_SEND_METRICS ??= "false";
// Every workerd that wrangler's dev stack starts (miniflare spawns one for wrangler's proxy,
// which holds the port, and one for the worker, which runs the objects) is watched: one
// that exits when nothing here stopped it (`kill -9`, a crash) leaves a port that is closed
// or answers 503s and holds GETs forever, so the whole runtime stops, saying what died, and
// the `dotdo` process that started it (devloop.py) starts it again. Patched before wrangler
// loads: miniflare calls `child_process.spawn` through the module object.
const RUNTIME_DIED = Number(args["died-status"]); // exit status for that; devloop.py reads the details from --status-file
const originalSpawn = childProcess.spawn;
childProcess.spawn = function spawnWatched(command, ...rest) {
  const child = originalSpawn.call(this, command, ...rest);
  if (path.basename(String(command)).startsWith("workerd")) watchWorkerd(child);
  return child;
};

function watchWorkerd(child) {
  let role = "worker";
  let expected = false;
  const kill = child.kill.bind(child);
  child.kill = (...killArgs) => {
    expected = true; // miniflare disposing of it: a restart or a stop of ours
    return kill(...killArgs);
  };
  const write = child.stdin.write.bind(child.stdin);
  child.stdin.write = (chunk, ...writeArgs) => {
    // miniflare's first write is the whole config: the proxy's names wrangler's ProxyWorker.
    if (Buffer.isBuffer(chunk) && chunk.includes("ProxyWorker")) role = "proxy";
    return write(chunk, ...writeArgs);
  };
  child.on("exit", (code, signal) => {
    // While wrangler starts the stack, an exit is a failed start (a bad config, a port):
    // startWorker rejects and says so, and nothing is to be started again until a change.
    if (expected || stopping || !workersUp) return;
    const what =
      role === "proxy" ? "wrangler's proxy workerd (it serves the port)" : "the workerd that runs the objects";
    died(role, what, child, code, signal);
  });
}

// A process of the runtime exited unasked: stop the whole runtime with RUNTIME_DIED. What
// died is said once: in the status file, which the `dotdo` process that started us reads
// and reports with what it does about it (devloop.py, dotdo.testing), else on stderr.
function died(role, what, child, code, signal) {
  if (args["status-file"]) {
    const report = { died: role, what, pid: child.pid, code, signal };
    writeFileSync(args["status-file"], JSON.stringify(report) + "\n");
  } else {
    const status = signal ? `signal ${signal}` : `exit status ${code}`;
    console.error(`dotdo: ${what} (pid ${child.pid}) exited on its own (${status}); stopping the runtime`);
  }
  stop(RUNTIME_DIED);
}

const require = createRequire(path.join(nodeModules, "..", "package.json"));
const wrangler = require("wrangler");

// Local runs are development unless told otherwise (CORS then allows localhost origins, and
// the passthrough accepts the /@tenant/ path prefix).
let vars;
try {
  vars = { ENVIRONMENT: "development", ...parseVars(args.var) };
} catch (error) {
  console.error(`dotdo: ${error.message}`);
  process.exit(2);
}
const origin = `http://${args.ip === "0.0.0.0" ? "127.0.0.1" : args.ip}:${args.port}`;
const BOOT_PATH = "/_dotdo/boot";
// The boot path's commands that replace the app's code or hold the runtime (`reload`,
// `standby`, `occupy`) are this process's alone: the runtime answers them only with this token
// (host.mjs `CONTROL_KINDS`), which reaches it as a var and no client knows. Any client of the
// port posted a `reload` of its own sources, and its code served every object (it read their
// storage, DOTDO_SECRET or not), with nothing said in the terminal. DOTDO_LOCAL_CONTROL_TOKEN
// in the environment sets it (a test that sends these commands itself).
const CONTROL_TOKEN = process.env.DOTDO_LOCAL_CONTROL_TOKEN || randomUUID();
const TOKEN_HEADER = { "x-dotdo-local-runtime-token": CONTROL_TOKEN };

// The running host's app: `{ mainDir, nestedRoots, rules, config }` (build.mjs's app.json),
// with `parsedRules`, its module rules as lib.mjs `moduleRules` compiles them; null until a
// build succeeds. Declared before any output is printed (`explainMissingFiles` reads it).
let app = null;
let explained = new Set(); // the files `explainNotShipped` spoke of since the last start

// wrangler's own lines that would mislead here: its "Ready" comes before Python and the app
// are loaded (ours follows the boot), and the boot request is ours, not the user's.
const QUIET = [/^\[wrangler:info\] Ready on /, /^Attaching additional modules:/, new RegExp(` ${BOOT_PATH} `)];
for (const level of ["log", "info"]) {
  const original = console[level].bind(console);
  console[level] = (...parts) => {
    // eslint-disable-next-line no-control-regex -- ANSI colour codes, which wrangler adds on a terminal
    const text = format(...parts).replace(/\x1b\[[0-9;]*m/g, "");
    if (QUIET.some((pattern) => pattern.test(text))) return;
    original(...parts);
    explainMissingFiles(text); // the app's own output: a traceback's FileNotFoundError
  };
}

// workerd's refusal of a compatibility date newer than it serves, reworded (lib.mjs
// `newerDateRefusal`), once it printed it during the start under way, else null: the start's
// error says only "The Workers runtime failed to start", and `dotdo test` showed that alone.
let newerDateSaid = null;
for (const level of ["error", "warn"]) {
  const original = console[level].bind(console);
  console[level] = (...parts) => {
    original(...parts);
    // eslint-disable-next-line no-control-regex -- ANSI colour codes, which wrangler adds on a terminal
    const text = format(...parts).replace(/\x1b\[[0-9;]*m/g, "");
    // Only a start prints it, after `configFile` is declared (read here before, it throws).
    if (newerDateSaid === null && text.includes("newest date supported")) {
      newerDateSaid = newerDateRefusal(text, path.relative(project, configFile));
    }
  };
}

class BuildFailed extends Error {}

function build() {
  const extra = ["--project", project, "--node-modules", nodeModules];
  if (args.config) extra.push("--config", args.config);
  if (args.out) extra.push("--out", args.out);
  if (args.recorded) extra.push("--recorded", args.recorded);
  for (const root of args["python-root"]) extra.push("--python-root", root);
  if (args["test-control"]) extra.push("--test-control");
  try {
    return execFileSync(process.execPath, [path.join(here, "build.mjs"), ...extra], {
      encoding: "utf8",
      // build.mjs says what failed on stderr: one line, then the TOML to add when that is the fix.
      stdio: ["ignore", "pipe", "inherit"],
    }).trim();
  } catch {
    throw new BuildFailed();
  }
}

// The project's `[ai]` binding, served offline by aihost.py (an embedding model on this
// machine) in a child process of this one, so it ends with the runtime. Started once, on
// the first build that binds AI; its URL reaches host.mjs as the DOTDO_LOCAL_AI var.
let localAi = null;
let localAiChild = null;
function startLocalAi() {
  localAi ??= new Promise((resolve, reject) => {
    // fd 3 carries the one line {"port": n} (aihost.PORT_CHANNEL_FD); its logs go to our stderr.
    const child = (localAiChild = spawn(args.python, [path.join(here, "..", "aihost.py")], {
      stdio: ["ignore", "inherit", "inherit", "pipe"],
    }));
    child.on("error", reject);
    const channel = child.stdio[3];
    channel.setEncoding("utf8");
    let buffered = "";
    let serving = false;
    channel.on("data", (chunk) => {
      buffered += chunk;
      const line = buffered.split("\n")[0];
      if (buffered.includes("\n") && !serving) {
        serving = true;
        resolve(`http://127.0.0.1:${JSON.parse(line).port}`);
      }
    });
    child.on("exit", (code, signal) => {
      reject(new Error(`the local AI binding exited (${signal ?? code})`)); // while starting
      // Once serving, its exit unasked is a death of the runtime, as a workerd's is: the
      // binding would answer no request again until the runtime starts again.
      if (serving && !stopping) died("ai", "the local AI binding (aihost.py)", child, code, signal);
    });
  });
  return localAi;
}

// The project's lock (dotdo/localrt/locking.py: an flock on --lock-file), held while
// the host is built and wrangler reads it: vendoring (which replaces python_modules/) and
// another runtime's build of the same host folder wait, so neither is read half-written.
// Node cannot flock; a Python child locks a descriptor of ours, and the lock, which belongs
// to the open file, stays held after it exits, until we close the descriptor (or die).
async function lockProject() {
  const file = path.resolve(args["lock-file"]);
  mkdirSync(path.dirname(file), { recursive: true });
  const fd = openSync(file, "a");
  try {
    await new Promise((resolve, reject) => {
      const child = spawn(args.python, ["-c", "import fcntl; fcntl.flock(3, fcntl.LOCK_EX)"], {
        stdio: ["ignore", "inherit", "inherit", fd],
      });
      child.on("error", reject);
      child.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`locking ${file} failed (${code})`))));
    });
  } catch (error) {
    closeSync(fd);
    throw error;
  }
  return () => closeSync(fd);
}

async function startWorker() {
  const unlock = await lockProject();
  try {
    return await startWorkerLocked();
  } finally {
    unlock();
  }
}

// What the running runtime was built from (`currentInputs`), taken just before its build read
// them, or null (its build failed, or none ran yet): a restart asked for with these inputs
// unchanged does nothing. Two saves of wrangler.toml 0.1 s apart restarted twice: the second
// command waited behind the first, whose build had already read both saves.
let builtFrom = null;

// The digest of what a restart reads (lib.mjs `restartInputs`): the config, `.dev.vars`, `.env`
// and `.env.local` beside it (the build copies them), pyproject.toml, python_modules/, the folder of the main module the
// config names (as build.mjs finds it) and the extra roots. Throws when the config does not
// parse: then the restart runs, and its build says why.
const configFile = path.resolve(project, args.config ?? "wrangler.toml");
const hostDir = path.resolve(project, args.out ?? path.join(".dotdo", "host"));
function currentInputs() {
  const { rawConfig } = wrangler.experimental_readRawConfig({ config: configFile });
  const mainPath = path.resolve(path.dirname(configFile), String(rawConfig.main ?? ""));
  if (!rawConfig.main || !mainPath.endsWith(".py")) throw new Error("no Python main module"); // the build says so
  const mainDir = path.dirname(mainPath);
  const pythonModules = path.join(project, "python_modules");
  const extraRoots = args["python-root"].map((root) => path.resolve(project, root));
  const trees = [pythonModules, mainDir, ...extraRoots];
  const skip = (dir) =>
    dir === persistTo || dir === hostDir || dir.startsWith(`${hostDir}.build-`) || trees.includes(dir);
  return restartInputs({
    files: [
      configFile,
      ...[".dev.vars", ".env", ".env.local"].map((name) => path.join(path.dirname(configFile), name)),
      path.join(project, "pyproject.toml"),
    ],
    trees,
    skip,
  });
}

async function startWorkerLocked() {
  // Before the build reads anything: a save after this point makes the next restart differ.
  let inputs = null;
  try {
    inputs = currentInputs();
  } catch {
    // A config the build fails on, most likely, and says why; the next restart runs anyway.
  }
  builtFrom = null;
  const configPath = build();
  app = JSON.parse(readFileSync(path.join(path.dirname(configPath), "app.json"), "utf8"));
  app.parsedRules = moduleRules(app.rules); // checked by the build
  explained = new Set();
  const hostVars = { ...vars, DOTDO_LOCAL_CONTROL: CONTROL_TOKEN };
  if (existsSync(path.join(path.dirname(configPath), "ai.json"))) {
    try {
      hostVars.DOTDO_LOCAL_AI = await startLocalAi();
    } catch (error) {
      console.error(`dotdo: the local AI binding did not start (${error.message}); env.AI answers errors`);
    }
  }
  const worker = await wrangler.unstable_startWorker({
    config: configPath,
    bindings: Object.fromEntries(Object.entries(hostVars).map(([name, value]) => [name, { type: "plain_text", value }])),
    dev: {
      inspector: false,
      remote: false,
      watch: false,
      liveReload: false,
      logLevel: args["log-level"],
      server: { hostname: args.ip, port: Number(args.port) },
      persist: persistTo,
      ...(args.registry ? { registry: path.resolve(project, args.registry) } : {}),
    },
  });
  // A start that wrangler fails once it has returned (a compatibility date in the future) is
  // only an error event of its dev stack: the boot request waited forever, and nothing was said.
  const failed = startFailed(worker.raw);
  try {
    await Promise.race([worker.ready, failed]);
  } catch (error) {
    await tearDown(worker);
    throw error;
  }
  builtFrom = inputs;
  return { worker, failed };
}

// Disposes of a dev stack that failed to start: not `dispose`, which waits for its proxy to be
// ready, and at most 10 s (a stack whose workerd died may never finish).
async function tearDown(failedWorker) {
  const late = new Promise((resolve) => setTimeout(resolve, 10_000).unref());
  await Promise.race([failedWorker.raw.teardown().catch(() => {}), late]);
}

// Boots Python and imports the app (host.mjs answers the boot header). The request is sent
// again every few seconds until one is answered. Under load, wrangler's proxy (its
// ProxyWorker, 4.86) can lose its forward of the boot request to the worker ("Network
// connection lost", seen right after another request that came with it was answered) and
// then takes it for a restart of the worker (it compares the request's URL, path included,
// with the worker's bare origin): a GET is parked for a retry that only the proxy's next
// request or restart runs. Nothing else may come (dotdo.testing's /health probe stops at its
// 500), so the boot request waited out its timeout and the import error went unprinted. A
// copy is that next request: it takes the parked one along. Each waits for the same boot of
// Python and answers the same.
const BOOT_RESEND_MS = 5_000;
const BOOT_TIMEOUT_MS = 300_000;
async function warm() {
  const started = performance.now();
  const send = async (signal) => {
    const headers = { ...TOKEN_HEADER, "x-dotdo-local-runtime": "boot" };
    const response = await fetch(`${origin}${BOOT_PATH}`, { headers, signal });
    return response.json();
  };
  let answer;
  try {
    answer = await firstAnswer(send, { everyMs: BOOT_RESEND_MS, totalMs: BOOT_TIMEOUT_MS });
  } catch (error) {
    answer = { ok: false, error: `the boot request failed: ${error.message}` };
  }
  return { ...answer, seconds: ((performance.now() - started) / 1000).toFixed(1) };
}

let worker = null;
let workersUp = false; // startWorker has answered: from here a workerd's exit unasked is a death

// Whether `file` is one of the app's own files, which a reload replaces: in the main
// module's folder, not in another root inside it (python_modules/, the host's own Python).
function isAppSource(file) {
  return isInside(file, app.mainDir) && !app.nestedRoots.some((root) => isInside(file, root));
}

// Whether a deploy ships the app's file `file` (a path, which may be gone: the rules go by
// name), by the config's module rules; true when a rule makes a deploy fail on it, so that
// the reload's build says why.
function isShipped(file) {
  const rel = path.relative(app.mainDir, file).split(path.sep).join("/");
  try {
    return shipsToPython(rel, app.parsedRules);
  } catch {
    return true;
  }
}

// Each file of the app the runtime was told of (saved, or named by a FileNotFoundError) that
// is there on disk but that a deploy leaves out: why, and the rule that ships it, said once
// per file and start (`explained`; a README.md beside a main module at the project's top is
// saved often).
function explainNotShipped(files) {
  for (const file of files) {
    if (app === null || explained.has(file) || !isAppSource(file) || !worthShipping(path.basename(file))) continue;
    if (isShipped(file) || !statIfThere(file)?.isFile()) continue;
    explained.add(file);
    console.error(`dotdo: ${notShippedHint(path.relative(app.mainDir, file).split(path.sep).join("/"))}`);
  }
}

// A FileNotFoundError of the app's (in a traceback printed here) that names one of its files
// a deploy leaves out gets the reason and the fix beside it.
const MISSING_FILE = /No such file or directory: '([^']+)'/g;
function explainMissingFiles(text) {
  if (app === null || !text.includes("No such file or directory")) return;
  explainNotShipped([...text.matchAll(MISSING_FILE)].map((match) => match[1]));
}

async function start(restarted) {
  let answer;
  newerDateSaid = null;
  try {
    const started = await startWorker();
    worker = started.worker;
    workersUp = true;
    answer = await Promise.race([warm(), started.failed]);
  } catch (error) {
    if (worker !== null) {
      workersUp = false;
      await tearDown(worker);
      worker = null;
    }
    // wrangler's own words are "An error occurred when starting the server": the reason is
    // its cause, which went only to wrangler's log file.
    const reason = newerDateSaid ?? startFailure(error, path.relative(project, configFile));
    if (!(error instanceof BuildFailed)) console.error(`dotdo: the local runtime did not start: ${reason}`);
    return false;
  }
  if (answer.ok) {
    const how = restarted ? "restarted, " : "";
    if (!reportCodeFailed(await probe())) {
      console.log(`Ready on ${origin} (${how}Python and the app loaded in ${answer.seconds} s)`);
    }
    prepareStandby();
    return true;
  }
  reportNotReady(answer);
  // The fix is a save of the app, most likely: reloaded, with an interpreter booted ahead
  // (holding what the app imported before its error) as after a "Ready".
  if (answer.import) prepareStandby();
  return true; // serving (failed requests answer at once), so the harness sees the state
}

// Whether a bound class's code raises when an object is built (its constructor, `routes()`),
// as the runtime builds one at a tenant's first event: `{ ok }` or `{ ok: false, className,
// error }` (host.mjs `probe`, on an object no tenant names). Such an app imported and said
// "Ready", and every request then answered 503 `object_unavailable`, the traceback logged at
// the first. Not under dotdo.testing, whose runtime finds it by its own probe.
async function probe() {
  if (args["test-control"]) return { ok: true };
  try {
    return await bootGet("probe");
  } catch {
    return { ok: true }; // not found out: the requests say it, as before
  }
}

// Says "not ready" for a probe that found an exception (`probe`); whether it did.
function reportCodeFailed(found) {
  if (found.ok) return false;
  const traceback = found.error.trimEnd();
  const said = traceback.split("\n").at(-1).trim();
  console.error(`dotdo: building an object of ${found.className} raised ${said}:\n${traceback}`);
  explainMissingFiles(traceback);
  const until = args.control ? "a change is saved" : "a restart";
  console.error(`dotdo: not ready: every request to an object of ${found.className} fails until ${until}`);
  return true;
}

function reportNotReady(answer) {
  const what = answer.import ? "the app failed to import" : "Python failed to start";
  console.error(`dotdo: ${what}:\n${answer.error}`);
  explainMissingFiles(answer.error);
  console.error(`dotdo: not ready: every request answers 500 until ${args.control ? "a change is saved" : "a restart"}`);
}

// A reload's interpreters (host.mjs) are booted ahead of the next save, once the runtime has
// been idle (no request, no object event) for `STANDBY_IDLE_MS`: a boot holds the runtime's
// thread for 1-3 s, and a request that comes meanwhile waits that long. Asked every
// `STANDBY_CHECK_MS` from each "Ready" until it is booted.
const STANDBY_IDLE_MS = 5_000;
const STANDBY_CHECK_MS = 500;
let standbyTimer = null;
function prepareStandby() {
  if (!args.control) return;
  clearTimeout(standbyTimer);
  const serving = worker;
  const check = async () => {
    if (worker !== serving || stopping) return;
    let status;
    try {
      status = await standbyStatus();
    } catch {
      status = null; // restarting or stopped: the next "Ready" starts again
    }
    if (worker !== serving || stopping || status === null || status.ready || status.error) return;
    if (status.idleMs >= STANDBY_IDLE_MS) {
      await askForStandby();
      await standbyBooted();
      return;
    }
    standbyTimer = setTimeout(check, STANDBY_CHECK_MS);
    standbyTimer.unref();
  };
  standbyTimer = setTimeout(check, STANDBY_CHECK_MS);
  standbyTimer.unref();
}

function standbyStatus() {
  return bootGet("standby-status");
}

// A GET of the boot path (`kind`: its `x-dotdo-local-runtime`), as JSON. Sent again every
// `BOOT_GET_RESEND_MS` until one is answered, as `warm` sends the boot request: wrangler's
// proxy holds a GET it lost until its next request (a connection closed under it, see
// `occupyProxyConnections`), and these polls were at times the only requests, so one held
// stopped the reload that waited on it until some other request came (a save after a broken
// one waited 20-98 s, 4 times in 53; 0 in 60 so).
const BOOT_GET_RESEND_MS = 1_000;
function bootGet(kind, headers = {}) {
  const send = async (signal) => {
    const response = await fetch(`${origin}${BOOT_PATH}`, {
      headers: { ...headers, ...TOKEN_HEADER, "x-dotdo-local-runtime": kind },
      signal,
    });
    return response.json();
  };
  return firstAnswer(send, { everyMs: BOOT_GET_RESEND_MS, totalMs: BOOT_TIMEOUT_MS });
}

// Waits until the runtime's next reload's interpreters are booted: `{ ready: true }`, or
// `{ ready: false, error }` when that failed or took longer than a boot may. Polled every
// `STANDBY_POLL_MS`: a save waits for it, so that granularity is part of the save's latency.
const STANDBY_POLL_MS = 50;
async function standbyBooted() {
  const pause = () => new Promise((resolve) => setTimeout(resolve, STANDBY_POLL_MS));
  const deadline = performance.now() + BOOT_TIMEOUT_MS;
  while (performance.now() < deadline) {
    try {
      const answer = await standbyStatus();
      if (answer.ready || answer.error) return answer;
    } catch (error) {
      return { ready: false, error: error.message };
    }
    await pause();
  }
  return { ready: false, error: "it did not boot in time" };
}

// Takes every idle connection of wrangler's proxy to the runtime for the length of a boot or
// an import that holds the runtime's thread (ADR 0060): `PROXY_HOLDS` `occupy` requests at once,
// which the runtime answers when that work is done (host.mjs `withProxyOccupied`); the headers
// the request that starts the work carries, so that it waits for them. Both ends of a pooled
// connection close it after 5 s idle (kj's HTTP defaults; workers-sdk #14641, #15252), and one
// whose 5 s end fell while the thread was held was closed by the runtime as the thread came
// back, with the request the proxy had written into it meanwhile unread: the proxy held a GET
// until its next request and answered a write 503 "Your worker restarted mid-request" (a POST
// 1 s into a 2.5 s hold, 4.5 s after its connection's last use: 6 of 6 answered 503). Renewing
// the connections just before the hold covers holds shorter than 5 s only (a 7 s hold: 4 of 4
// answered 503); a connection in use has no idle end at all. As many as the pool may hold
// (`connections` of `standby-status`, host.mjs `pooledConnectionsAtMost`), and a few more:
// 40 requests at once 2.5 s before a save left 24 pooled connections, and with 16 held the
// writes sent during the boot took the 8 others (8 of 8 answered 503).
const PROXY_HOLDS = 16; // at least
const PROXY_HOLDS_SPARE = 4; // beyond the pool's count: its own status polls, requests meanwhile
const PROXY_HOLDS_MAX = 512;
let occupyBatches = 0;
async function occupyProxyConnections() {
  const batch = `${process.pid}-${++occupyBatches}`;
  const status = await standbyStatus().catch(() => ({}));
  const pooled = Number.isInteger(status.connections) ? status.connections + PROXY_HOLDS_SPARE : 0;
  const holds = Math.min(PROXY_HOLDS_MAX, Math.max(PROXY_HOLDS, pooled));
  // One that comes after its batch's work is done is answered at once (host.mjs `occupy`).
  for (let i = 0; i < holds; i += 1) {
    fetch(`${origin}${BOOT_PATH}`, {
      method: "POST", // one the proxy loses is answered 503 at once (a GET waits for its next request)
      headers: { ...TOKEN_HEADER, "x-dotdo-local-runtime": "occupy", "x-dotdo-occupy-batch": batch },
      signal: AbortSignal.timeout(BOOT_TIMEOUT_MS),
    })
      .then((response) => response.arrayBuffer())
      .catch(() => {}); // the work they wait for says what is wrong
  }
  return { "x-dotdo-occupied": String(holds), "x-dotdo-occupy-batch": batch };
}

// Asks the runtime to boot the next reload's interpreters (host.mjs answers at once and boots
// them after its answer; it says so itself when that fails).
async function askForStandby() {
  const serving = worker;
  try {
    await bootGet("standby", await occupyProxyConnections());
  } catch (error) {
    // A runtime restarted or stopped meanwhile took its standby with it: nothing to say
    // ("terminated", the request cut by the restart, read as a failure).
    if (worker === serving && workersUp && !stopping) {
      console.error(`dotdo: booting Python ahead of the next save failed: ${error.message}`);
    }
  }
}

// The app's own files as a reload posts them: `[path, its bytes in base64]` each, the bytes
// as the build ships them, since a source need not be UTF-8 (PEP 263: `# coding: latin-1`):
// those of the main module's folder that a deploy ships (its sources, and its data files by
// the config's module rules), as the build chooses them.
function appSources() {
  const options = { nestedRoots: app.nestedRoots, exclude: [app.config] };
  return shippedAppFiles(app.mainDir, app.parsedRules, options).map((rel) => {
    const file = path.join(app.mainDir, rel);
    return [file, readFileSync(file).toString("base64")];
  });
}

// The paths of a `reload` command (a JSON array), or null when it does not parse (a restart).
function changedPaths(text) {
  try {
    return JSON.parse(text ?? "");
  } catch {
    return null;
  }
}

// Serves the saved sources of the main module's folder without a restart: every isolate
// imports them into a new interpreter (host.mjs). A change of a file that is not the app's
// own source, a runtime not serving (its last start failed) or a reload the host could not
// do (not an import error) restarts instead.
let reloadCount = 0;
let lastPosted = null; // the sources of the last reload the runtime imported (JSON), or null
async function reload(changed) {
  // No app before a first build that succeeded: then any change restarts.
  const appOnly =
    app !== null && Array.isArray(changed) && changed.every((file) => typeof file === "string" && isAppSource(file));
  if (appOnly && !changed.some(isShipped)) {
    // Only files a deploy leaves out (a data file no module rule matches, an editor's swap
    // file): the runtime has none of them, so nothing changed for it.
    explainNotShipped(changed);
    return;
  }
  if (worker === null || app === null || !existsSync(app.mainDir) || !appOnly) {
    return restart({ ifChanged: true, changed: Array.isArray(changed) ? changed : [] });
  }
  console.log("dotdo: app sources changed, reloading");
  explainNotShipped(changed);
  const started = performance.now();
  // Booted after an answer of its own (host.mjs), unless one is already; the reload is sent
  // once it is booted.
  clearTimeout(standbyTimer);
  let standby = await standbyStatus().catch(() => ({ ready: false }));
  if (!standby.ready) {
    await askForStandby();
    standby = await standbyBooted();
  }
  if (!standby.ready) {
    console.error(`dotdo: booting Python for the reload failed (${standby.error}); restarting`);
    return restart();
  }
  let files;
  try {
    files = appSources();
  } catch (error) {
    // A file of the folder that cannot be read (an editor's lock file linking to nothing, one
    // removed as the folder was read): the restart's build says what, as before reloads.
    console.error(`dotdo: the app's sources could not be read (${error.message}); restarting`);
    return restart();
  }
  const posted = JSON.stringify(files);
  if (posted === lastPosted) {
    // Saves merged behind a reload that already read them (a burst), or a save that changed
    // nothing: the runtime serves these very bytes.
    console.log(`dotdo: the app's sources are as last reloaded; nothing to do`);
    return prepareStandby();
  }
  let answer;
  try {
    const response = await fetch(`${origin}${BOOT_PATH}`, {
      method: "POST",
      // the import holds the runtime's thread
      headers: {
        ...(await occupyProxyConnections()),
        ...TOKEN_HEADER,
        "x-dotdo-local-runtime": "reload",
        "content-type": "application/json",
      },
      body: JSON.stringify({ id: `${process.pid}-${++reloadCount}`, files }),
    });
    answer = await response.json();
  } catch (error) {
    answer = { ok: false, error: `the reload request failed: ${error.message}` };
  }
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  if (answer.ok) {
    lastPosted = posted;
    if (!reportCodeFailed(await probe())) {
      console.log(`Ready on ${origin} (reloaded, the app imported in ${seconds} s)`);
    }
  } else if (answer.import) {
    lastPosted = posted;
    reportNotReady(answer);
  } else {
    console.error(`dotdo: the reload failed (${answer.error}); restarting`);
    return restart();
  }
  prepareStandby();
}

let stopping = false;
async function stop(code = 0) {
  if (stopping) return;
  stopping = true;
  try {
    localAiChild?.kill();
    // A stack whose workerd died may never finish disposing: the process group goes anyway.
    await Promise.race([worker?.dispose(), new Promise((resolve) => setTimeout(resolve, 10_000).unref())]);
  } finally {
    process.exit(code);
  }
}
process.on("SIGTERM", () => stop());
process.on("SIGINT", () => stop());

// A restart, unless `ifChanged` and the runtime serves what it would build: a restart asked
// for by a save (a `restart` command, a reload of files that are not the app's sources), not
// one that recovers from a reload that failed. `changed`: the files the save changed, which the
// log names.
async function restart({ ifChanged = false, changed = [] } = {}) {
  if (ifChanged && worker !== null && builtFrom !== null) {
    let inputs = null;
    try {
      inputs = currentInputs();
    } catch {
      // unreadable now: restart, and let the build say what
    }
    if (inputs === builtFrom) {
      console.log("dotdo: nothing a restart reads changed since the runtime started; nothing to do");
      return;
    }
  }
  console.log(`dotdo: sources changed${changedFilesSaid(changed, project)}, restarting`);
  lastPosted = null; // the restart's build read the sources afresh
  clearTimeout(standbyTimer);
  workersUp = false;
  try {
    await worker?.dispose();
  } catch (error) {
    console.error(`dotdo: stopping the old host failed: ${error.message}`);
  }
  worker = null;
  if (!(await start(true))) console.error("dotdo: waiting for a change to restart");
}

// Listened to before the first start, so that a parent gone while it runs is seen too; the
// stop waits for the start (and any restart) in flight, then disposes of the workerd it made.
// Commands that wait behind a running one are merged (lib.mjs `CommandQueue`).
// A reload that fails unexpectedly restarts, so that the save is served all the same.
const commands = new CommandQueue(({ restart: restarting, paths }) =>
  restarting
    ? restart({ ifChanged: true, changed: paths })
    : reload(paths).catch((error) => {
        console.error(`dotdo: the reload failed (${error.stack ?? error}); restarting`);
        return restart();
      }),
);
const started = start(false);
commands.after(() => started);
const fromParent = fstatSync(0).isFIFO();
if (args.control || fromParent) {
  const lines = createInterface({ input: process.stdin });
  lines.on("line", (line) => {
    // `restart` or `reload`, each with a JSON array of the changed files' paths (a restart's
    // may be left out: a restart asked for by no save).
    const [command, changed] = line.trim().split(/ (.*)/s);
    if (args.control && command === "restart") commands.push({ restart: true, paths: changedPaths(changed) ?? [] });
    if (args.control && command === "reload") commands.push({ paths: changedPaths(changed) });
  });
  if (fromParent) lines.on("close", () => commands.after(() => stop()));
}

if (!(await started)) {
  if (!args.control) await stop(1);
  console.error("dotdo: waiting for a change to restart");
}
