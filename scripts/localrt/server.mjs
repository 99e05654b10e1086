// Serves the project on wrangler's local dev stack (the same proxy + workerd
// that `wrangler dev` runs) with the devtools inspector off, and rebuilds and
// restarts the host when the Python sources or wrangler.toml change.
//
// Why not plain `wrangler dev`: wrangler 4.86 always attaches its devtools
// inspector, and every worker-to-object call then leaks a connection to the
// wrangler process; after ~20,000 requests it runs out of file descriptors and
// hangs (bench/README.md has the numbers). Its programmatic API turns it off.
//
//   node scripts/localrt/server.mjs [--port 8787] [--ip 127.0.0.1] [--persist-to DIR]
//                                   [--var NAME=VALUE ...] [--no-watch] [--registry DIR]
//                                   [--config FILE --out DIR --python-root DIR ...]
//
// --registry registers the worker in wrangler's dev registry at DIR, where another local
// worker binding its classes by `script_name` finds them (the front: scripts/front.mjs).

import { execFileSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const here = path.dirname(fileURLToPath(import.meta.url));
const project = path.resolve(here, "..", "..");
const { values: args } = parseArgs({
  options: {
    port: { type: "string", default: "8787" },
    ip: { type: "string", default: "127.0.0.1" },
    "persist-to": { type: "string", default: path.join(project, ".dotdo", "state") },
    var: { type: "string", multiple: true, default: [] },
    "no-watch": { type: "boolean", default: false },
    "log-level": { type: "string", default: "info" },
    config: { type: "string" },
    out: { type: "string" },
    "python-root": { type: "string", multiple: true, default: [] },
    registry: { type: "string" },
  },
});

// Miniflare otherwise tries to download the `Request.cf` sample at every start on a machine
// without its cache; offline that is a failed lookup and a warning, so use the placeholder.
process.env.CLOUDFLARE_CF_FETCH_ENABLED ??= "false";
const require = createRequire(path.join(project, "package.json"));
const wrangler = require("wrangler");

// Local runs are development unless told otherwise (CORS then allows localhost origins).
const vars = { ENVIRONMENT: "development" };
for (const pair of args.var) {
  const eq = pair.indexOf("=");
  if (eq <= 0) {
    console.error(`dotdo local runtime: --var takes NAME=VALUE (got ${JSON.stringify(pair)})`);
    process.exit(2);
  }
  vars[pair.slice(0, eq)] = pair.slice(eq + 1);
}

function build() {
  const extra = [];
  if (args.config) extra.push("--config", args.config);
  if (args.out) extra.push("--out", args.out);
  for (const root of args["python-root"]) extra.push("--python-root", root);
  return execFileSync(process.execPath, [path.join(here, "build.mjs"), "--project", project, ...extra], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  }).trim();
}

async function start() {
  const configPath = build();
  const worker = await wrangler.unstable_startWorker({
    config: configPath,
    bindings: Object.fromEntries(Object.entries(vars).map(([name, value]) => [name, { type: "plain_text", value }])),
    dev: {
      inspector: false,
      remote: false,
      watch: false,
      liveReload: false,
      logLevel: args["log-level"],
      server: { hostname: args.ip, port: Number(args.port) },
      persist: path.resolve(args["persist-to"]),
      ...(args.registry ? { registry: path.resolve(args.registry) } : {}),
    },
  });
  await worker.ready;
  return worker;
}

// A change to anything the host is built from: src/, wrangler.toml, python_modules/.
function sourceStamp() {
  let newest = 0;
  let count = 0;
  const visit = (target) => {
    let stat;
    try {
      stat = statSync(target);
    } catch {
      return;
    }
    if (stat.isDirectory()) {
      if (path.basename(target) === "__pycache__") return;
      for (const name of readdirSync(target)) visit(path.join(target, name));
    } else {
      count += 1;
      newest = Math.max(newest, stat.mtimeMs);
    }
  };
  const watched = ["src", "wrangler.toml", "python_modules", "scripts/localrt", ...args["python-root"]];
  if (args.config) watched.push(path.dirname(path.resolve(project, args.config)));
  for (const target of watched) visit(path.resolve(project, target));
  return `${count}:${newest}`;
}

let worker = await start();
console.log(`Ready on http://${args.ip}:${args.port} (dotdo local runtime, inspector off)`);

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  try {
    await worker.dispose();
  } finally {
    process.exit(0);
  }
}
process.on("SIGTERM", stop);
process.on("SIGINT", stop);

if (!args["no-watch"]) {
  let stamp = sourceStamp();
  let restarting = false;
  setInterval(async () => {
    if (restarting || stopping) return;
    const next = sourceStamp();
    if (next === stamp) return;
    stamp = next;
    restarting = true;
    console.log("dotdo local runtime: sources changed, restarting");
    try {
      await worker.dispose();
      worker = await start();
      console.log(`Ready on http://${args.ip}:${args.port} (restarted)`);
    } catch (error) {
      console.error(`dotdo local runtime: restart failed: ${error.message}`);
    } finally {
      restarting = false;
    }
  }, 500).unref();
}
