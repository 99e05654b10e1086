// Builds the local runtime's host bundle from a project's own wrangler.toml and
// Python sources: a JavaScript worker (host.mjs) that boots the npm `pyodide`
// package in workerd and serves the same Durable Object classes, bindings,
// migrations and vars. Nothing here is edited by hand; every run rewrites the
// output folder.
//
//   node build.mjs --project DIR --node-modules DIR [--config FILE] [--out DIR]
//                  [--python-root DIR ...] [--recorded DIR] [--test-control]
//
// --config defaults to the project's wrangler.toml; --out to .dotdo/host in the
// project; --python-root adds folders to sys.path after python_modules/ (the
// framework's own test harness uses it to reach src/). --node-modules is where
// wrangler and pyodide are installed. Prints the path of the generated
// wrangler.json; every failure is one line on stderr (then the TOML to add, when
// that is the fix) and exit status 1.
//
// --test-control (set by dotdo.testing, never by `dotdo dev`) serves each dotdo object
// with the test routes of `dotdo.testing.control` (time travel, fault points). A dotdo
// vendored into python_modules/ has no `testing` package (it never reaches a Worker), so
// that module and its package's `__init__.py` are added to the bundle inside the dotdo
// the app imports, from the dotdo this runtime belongs to.

import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

import {
  durableObjectClasses,
  filesUnder,
  hostFlags,
  isInside,
  isPackageData,
  missingMigrations,
  moduleRules,
  OLDEST_DATE,
  openPyc,
  pycPath,
  shippedAppFiles,
} from "./lib.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const localrt = path.dirname(here);
const { values: args } = parseArgs({
  options: {
    project: { type: "string", default: process.cwd() },
    "node-modules": { type: "string" },
    config: { type: "string" },
    out: { type: "string" },
    "python-root": { type: "string", multiple: true, default: [] },
    recorded: { type: "string" },
    "test-control": { type: "boolean", default: false },
  },
});
const project = path.resolve(args.project);
const configFile = path.resolve(project, args.config ?? "wrangler.toml");

// Worded as server.mjs words a start wrangler refused, which `dotdo test` reports in one line
// (dotdo.testing's runtime reads it): the build's refusal read "the local runtime exited:" and
// the log's end there.
function fail(message) {
  console.error(`dotdo: the local runtime did not start: ${message}`);
  process.exit(1);
}

const nodeModules = path.resolve(args["node-modules"] ?? path.join(project, "node_modules"));
const require = createRequire(path.join(nodeModules, "..", "package.json"));
let wrangler, pyodidePkg;
try {
  wrangler = require("wrangler");
  pyodidePkg = path.dirname(require.resolve("pyodide/package.json"));
} catch {
  fail(`the local runtime's npm packages are missing from ${nodeModules} (the dotdo command installs them)`);
}
const pyodideVersion = JSON.parse(readFileSync(path.join(pyodidePkg, "package.json"), "utf8")).version;

if (!existsSync(configFile)) fail(`no wrangler config at ${configFile}`);
let config;
try {
  ({ rawConfig: config } = wrangler.experimental_readRawConfig({ config: configFile }));
} catch (error) {
  fail(`${configFile}: ${error.message.split("\n")[0]}`);
}
const configName = path.relative(process.cwd(), configFile) || configFile;
const missing = missingMigrations(config, configName);
if (missing.length) fail(missing[0]);
const mainPath = path.resolve(path.dirname(configFile), config.main ?? "");
if (!config.main || !mainPath.endsWith(".py") || !existsSync(mainPath)) {
  fail(`${configName}'s main must name an existing .py file (got ${JSON.stringify(config.main)})`);
}
// A compatibility date is YYYY-MM-DD (Cloudflare's "Compatibility dates" page); miniflare
// compares it as text, so "2026/05/01" was refused as a date "in the future".
const date = config.compatibility_date;
if (date !== undefined && !(typeof date === "string" && /^\d{4}-\d{2}-\d{2}$/.test(date))) {
  fail(`${configName}: compatibility_date ${JSON.stringify(date)} is no date written YYYY-MM-DD (e.g. "2026-05-01")`);
}
if (date !== undefined && date < OLDEST_DATE) {
  fail(`${configName}: compatibility_date "${date}" is older than ${OLDEST_DATE}, the oldest the local runtime serves Python on: use a newer one`);
}
// The host's boot crashed inside workerd on it ("FinalizationRegistry is not defined"), which
// `dotdo test` never showed: said here, as a date the host cannot serve is.
if ((config.compatibility_flags ?? []).includes("disable_weak_ref")) {
  fail(
    `${configName}: compatibility_flags names "disable_weak_ref", but the Python runtime (Pyodide) ` +
      "needs WeakRef and FinalizationRegistry: remove it",
  );
}
// wrangler refuses to deploy a Python main module without the flag ("The `python_workers`
// compatibility flag is required to use Python."); the local runtime needs none, so it is
// said here, at each start, rather than first at the deploy.
if (!(config.compatibility_flags ?? []).includes("python_workers")) {
  console.error(
    `dotdo: ${configName} has no compatibility_flags = ["python_workers"]: served here, but ` +
      "wrangler deploys no Python Worker without it (add it)",
  );
}
// The config's module rules: what a deploy ships from the main module's folder (lib.mjs).
let rules;
try {
  rules = moduleRules(config.rules ?? []);
} catch (error) {
  fail(`${configName}: ${error.message}`);
}
const pythonModulesDir = path.join(project, "python_modules");
if (!existsSync(path.join(pythonModulesDir, "workers", "__init__.py"))) {
  fail(`${pythonModulesDir} has no \`workers\` SDK: vendor the project's dependencies (dotdo dev does)`);
}

const target = path.resolve(project, args.out ?? path.join(".dotdo", "host"));
// Built in a folder of its own and swapped in whole at the end, so two runtimes started in
// one project at once (or a build while a runtime starts) never see a half-written host.
const out = `${target}.build-${process.pid}`;
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

// Pyodide's distribution files.
mkdirSync(path.join(out, "pyodide"));
for (const file of ["pyodide.asm.js", "pyodide.mjs", "pyodide.asm.wasm", "python_stdlib.zip", "pyodide-lock.json"]) {
  copyFileSync(path.join(pyodidePkg, file), path.join(out, "pyodide", file));
}

// Python sources: the main module's folder, the vendored packages, the host's stand-ins.
// Each lands in Pyodide's file system at its real path, so tracebacks name the files the
// user edits. From the main module's folder (index 0: it changes on every save), the files
// a deploy ships there, by the config's module rules: its Python sources and its data
// files (`*.txt`, `*.html`, `*.sql`, `*.bin` by default; a `genres.json` only with a rule),
// and no other. Every file outside it is also shipped precompiled (`precompile` below).
// Each is read once, here: its bytecode's cache key and the blob both come from that one
// read, so a file saved during the build never ships with another content's bytecode.
const mainDir = path.dirname(mainPath);
const extraRoots = args["python-root"].map((dir) => path.resolve(project, dir));
const pythonRoots = [mainDir, pythonModulesDir, path.join(localrt, "python"), ...extraRoots];
// The other roots inside the main module's folder (python_modules/ beside a main module at
// the project's top, the host's own Python when the main folder holds dotdo, as this
// repository's does): their files are theirs, precompiled, never the app's sources, which a
// reload (host.mjs) replaces with the saved ones.
const nestedRoots = [...new Set(pythonRoots.slice(1))].filter((root) => isInside(root, mainDir));
const pythonFiles = [];
const seen = new Set();
function appFiles() {
  try {
    const shipped = shippedAppFiles(mainDir, rules, { nestedRoots, exclude: [configFile] });
    const main = path.relative(mainDir, mainPath).split(path.sep).join("/");
    return shipped.includes(main) ? shipped : [main, ...shipped]; // the entry ships whatever the rules say
  } catch (error) {
    fail(`${configName}'s module rules: ${error.message}`);
  }
}
for (const [index, root] of pythonRoots.entries()) {
  for (const rel of index === 0 ? appFiles() : filesUnder(root, (name) => name.endsWith(".py"))) {
    const real = path.join(root, rel);
    if (seen.has(real)) continue; // a root inside another (src/ as both main folder and extra root)
    seen.add(real);
    pythonFiles.push([real, readFileSync(real), index > 0]);
  }
}

// The test routes: dotdo.testing.control inside the dotdo package the app imports (the first
// on sys.path: the main module's folder, python_modules/, then the extra roots).
if (args["test-control"]) {
  const importOrder = [mainDir, pythonModulesDir, ...[...extraRoots].reverse()];
  const dotdoRoot = importOrder.find((root) => existsSync(path.join(root, "dotdo", "__init__.py")));
  if (dotdoRoot && !existsSync(path.join(dotdoRoot, "dotdo", "testing", "control.py"))) {
    const testing = path.join(localrt, "..", "testing");
    for (const file of ["__init__.py", "control.py"]) {
      pythonFiles.push([path.join(dotdoRoot, "dotdo", "testing", file), readFileSync(path.join(testing, file)), true]);
    }
  }
}

// Bytecode for the Python files that rarely change (python_modules/, the host's own Python,
// the extra roots). Pyodide inside workerd otherwise compiles every one of them under wasm
// on each boot (dotdo alone is ~21k lines); with a .pyc beside the source it only unmarshals.
// Compiled by Pyodide's own Python under Node (compile-pyc.mjs: the same interpreter, so the
// same magic number and code format) as unchecked-hash pycs, and cached under
// .dotdo/pyc/<Pyodide version>/ by a hash of the real path and the content: a file whose
// content changed has a new key, so a stale .pyc is never shipped, and a rebuild after a
// save of the user's own file finds every .pyc cached and boots no Pyodide here. A file
// that does not compile is shipped as source alone: its import reports the error as before.
// Each entry carries its pyc's SHA-256 (lib.mjs `sealPyc`): one whose bytes no longer match
// is compiled again, never shipped (Python would trust its body and fail on every boot).
const PYC_CACHE_DAYS = 14; // an entry unused for this long is removed by the next compile
function precompile(files) {
  const cache = path.join(project, ".dotdo", "pyc", pyodideVersion);
  mkdirSync(cache, { recursive: true });
  // A cache entry's pyc, or null: absent, or damaged (compiled again).
  const opened = (cached) => (existsSync(cached) ? openPyc(readFileSync(cached)) : null);
  const entries = files.map(([real, content]) => {
    const key = createHash("sha256").update(real).update("\0").update(content).digest("hex");
    const cached = path.join(cache, `${key.slice(0, 32)}.pyc`);
    return { real, content, cached, pyc: opened(cached) };
  });
  const tagFile = path.join(cache, "cache_tag");
  const missing = entries.filter(({ cached, pyc }) => pyc === null && !existsSync(`${cached}.failed`));
  if (missing.length || !existsSync(tagFile)) {
    // compile-pyc.mjs reads each source from a file: the content read above, not the file
    // as it may be now.
    const sources = path.join(out, "compile");
    for (const [i, job] of missing.entries()) {
      job.source = path.join(sources, `${i}.py`);
      mkdirSync(sources, { recursive: true });
      writeFileSync(job.source, job.content);
    }
    console.error(`dotdo: compiling ${missing.length} Python files to bytecode with Pyodide ${pyodideVersion} (once per content)`);
    let result;
    try {
      const output = execFileSync(process.execPath, [path.join(here, "compile-pyc.mjs"), "--node-modules", nodeModules], {
        input: JSON.stringify(missing.map(({ real, source, cached }) => ({ path: real, source, out: cached }))),
        encoding: "utf8",
        stdio: ["pipe", "pipe", 2], // stdout carries only the config path
      });
      result = JSON.parse(output.trim().split("\n").pop());
    } catch (error) {
      rmSync(path.join(out, "compile"), { recursive: true, force: true });
      // Bytecode only saves time: without it the host runs from the sources, as it always could.
      console.error(`dotdo: compiling to bytecode failed, the host ships the sources alone (${String(error.message).split("\n")[0]})`);
      return new Map();
    }
    const partial = `${tagFile}.${process.pid}.partial`;
    writeFileSync(partial, `${result.cacheTag}\n`);
    renameSync(partial, tagFile);
    const cutoff = Date.now() - PYC_CACHE_DAYS * 86_400_000;
    for (const name of readdirSync(cache)) {
      const file = path.join(cache, name);
      if (name !== "cache_tag" && statSync(file, { throwIfNoEntry: false })?.mtimeMs < cutoff) rmSync(file, { force: true });
    }
  }
  const cacheTag = readFileSync(tagFile, "utf8").trim();
  const now = new Date();
  const pycs = new Map();
  rmSync(path.join(out, "compile"), { recursive: true, force: true });
  for (const entry of entries) {
    const { real, cached } = entry;
    const pyc = entry.pyc ?? opened(cached); // compiled just now, or never
    if (pyc === null) continue; // it failed to compile: the source reports why
    utimesSync(cached, now, now); // in use: kept by the pruning above
    pycs.set(real, { pyc, target: pycPath(real, cacheTag) });
  }
  return pycs;
}
const pycs = precompile(pythonFiles.filter(([, , compiled]) => compiled));

// Every source and its bytecode travel as one Data module (py/python.bin, with an index of
// [path in Python's file system, offset, length]) rather than a module each: workerd
// registers every module of the bundle at start-up, and a dotdo app has hundreds of files.
const blobParts = [];
const pythonIndex = [];
let blobLength = 0;
function addToBlob(target, content) {
  pythonIndex.push([target, blobLength, content.length]);
  blobParts.push(content);
  blobLength += content.length;
}
for (const [real, content] of pythonFiles) {
  addToBlob(real, content);
  const pyc = pycs.get(real);
  if (pyc) addToBlob(pyc.target, pyc.pyc);
}
// Package data (non-Python files such as tzdata's ~600 zone files) ships with python_modules/
// on Cloudflare too, and travels in the same blob: host.mjs writes each file as it writes the
// sources. (Unpacked from a tar archive, by Pyodide's Python under wasm, it took 250-400 ms
// of each isolate's boot, twice a start; written from the blob, ~40 ms: ADR 0036.)
for (const rel of filesUnder(pythonModulesDir, isPackageData)) {
  const real = path.join(pythonModulesDir, rel);
  addToBlob(real, readFileSync(real));
}
mkdirSync(path.join(out, "py"));
writeFileSync(path.join(out, "py", "python.bin"), Buffer.concat(blobParts));

// The wasm modules Pyodide compiles from bytes, recorded once per Pyodide version: shipped
// with the package for the pinned version, recorded on first use for any other.
const shipped = path.join(localrt, "recorded", pyodideVersion);
const recordedDir = existsSync(path.join(shipped, "index.json"))
  ? shipped
  : path.resolve(args.recorded ?? path.join(project, ".dotdo", "recorded"), pyodideVersion);
if (!existsSync(path.join(recordedDir, "index.json"))) {
  console.error(`dotdo: recording Pyodide ${pyodideVersion}'s wasm modules (once)`);
  execFileSync(
    process.execPath,
    [
      path.join(here, "record-wasm.mjs"),
      "--out",
      recordedDir,
      "--node-modules",
      nodeModules,
    ],
    { stdio: ["ignore", 2, 2] }, // stdout carries only the config path
  );
}
const recorded = JSON.parse(readFileSync(path.join(recordedDir, "index.json"), "utf8"));
if (recorded.pyodide !== pyodideVersion) fail(`${recordedDir} was recorded for Pyodide ${recorded.pyodide}`);
mkdirSync(path.join(out, "recorded"));
// index.json carries each module's bytes; the package ships only it (a .wasm file in the
// package would be uploaded with a deploy whose main folder holds dotdo, as this repository's).
for (const { file, hex } of recorded.modules) writeFileSync(path.join(out, "recorded", file), Buffer.from(hex, "hex"));

const { exported: classNames, bound } = durableObjectClasses(config);

// manifest.mjs: everything host.mjs needs, as module imports.
const lines = [
  "// Generated by dotdo's local runtime (build.mjs); do not edit.",
  'import pyodideWasm from "./pyodide/pyodide.asm.wasm";',
  'import pythonStdlib from "./pyodide/python_stdlib.zip";',
  'import pyodideLock from "./pyodide/pyodide-lock.json";',
];
recorded.modules.forEach(({ file }, i) => lines.push(`import wasm${i} from "./recorded/${file}";`));
lines.push('import pythonFilesData from "./py/python.bin";');
lines.push(
  "export { pyodideWasm, pythonStdlib, pyodideLock };",
  `export const recordedWasm = {${recorded.modules.map(({ hex }, i) => `\n  "${hex}": wasm${i},`).join("")}\n};`,
  // [path in Python's file system, offset, length] into pythonFilesData: each source, its
  // bytecode where Python's import looks for it, and the vendored packages' data files.
  `export const pythonFiles = ${JSON.stringify(pythonIndex)};`,
  // The first entries are the app's files (the main module's folder, never compiled: its
  // sources and data files): a reload (host.mjs) replaces them with the saved ones in an
  // interpreter booted without them.
  `export const appFiles = ${pythonFiles.filter(([, , compiled]) => !compiled).length};`,
  `export const mainDir = ${JSON.stringify(mainDir)};`,
  `export const nestedRoots = ${JSON.stringify(nestedRoots)};`,
  "export { pythonFilesData };",
  `export const pythonModulesDir = ${JSON.stringify(pythonModulesDir)};`,
  // Cloudflare puts only the main module's folder and python_modules/ on sys.path;
  // host.mjs inserts each at the front, so the main module's folder ends up first.
  `export const pythonPath = ${JSON.stringify([path.join(localrt, "python"), ...extraRoots, pythonModulesDir, mainDir])};`,
  `export const mainModule = ${JSON.stringify(path.basename(mainPath, ".py"))};`,
  `export const mainFile = ${JSON.stringify(mainPath)};`,
  `export const durableObjectClasses = ${JSON.stringify(classNames)};`,
  `export const durableObjectBindings = ${JSON.stringify(bound.map((b) => b.binding))};`,
  `export const testControl = ${JSON.stringify(args["test-control"])};`,
  // `[ai] binding`: served locally by aihost.py (server.mjs starts it), see host.mjs.
  `export const aiBinding = ${JSON.stringify(config.ai?.binding ?? null)};`,
  "",
);
writeFileSync(path.join(out, "manifest.mjs"), lines.join("\n"));

// worker.mjs: one export per Durable Object class of this worker.
const worker = [
  "// Generated by dotdo's local runtime (build.mjs); do not edit.",
  'import { defaultHandler, makeDurableObjectClass } from "./host.mjs";',
  ...classNames.map((name) => `export const ${name} = makeDurableObjectClass(${JSON.stringify(name)});`),
  "export default defaultHandler;",
  "",
];
writeFileSync(path.join(out, "worker.mjs"), worker.join("\n"));
copyFileSync(path.join(here, "host.mjs"), path.join(out, "host.mjs"));

const hostConfig = {
  name: config.name ?? "dotdo",
  main: "worker.mjs",
  compatibility_date: config.compatibility_date,
  compatibility_flags: hostFlags(config),
  no_bundle: true,
  find_additional_modules: true,
  // wrangler's default rules already load **/*.wasm as CompiledWasm.
  rules: [
    { type: "ESModule", globs: ["**/*.mjs", "**/*.js"], fallthrough: true },
    // wrangler's default rules already load **/*.bin as Data (listing it again warns of a duplicate).
    { type: "Data", globs: ["**/*.zip"], fallthrough: true },
    { type: "Text", globs: ["**/*.py", "**/*.json"], fallthrough: true },
  ],
  durable_objects: config.durable_objects,
  migrations: config.migrations,
  // R2 buckets: wrangler's dev stack serves each binding from a local bucket (miniflare),
  // persisted with the objects' state, so `env.<binding>` works offline as deployed.
  r2_buckets: config.r2_buckets,
  vars: config.vars,
};
writeFileSync(path.join(out, "wrangler.json"), JSON.stringify(hostConfig, null, 2) + "\n");
// The project's `.dev.vars` (wrangler's file of local secrets, dotenv syntax, beside the
// config) goes beside the generated config, where wrangler's dev reads it: a secret then
// reaches the local env without being on any command line (`--var` is, for `ps` to show).
// Not for dotdo.testing's runtime (`--test-control`): a test session's env is its own
// (`dotdo_vars`), not whatever secret the developer serves with.
// Its `.env` and `.env.local` too, which wrangler reads when there is no `.dev.vars` (its
// choice, made there: `getVarsForDev`).
for (const name of [".dev.vars", ".env", ".env.local"]) {
  const file = path.join(path.dirname(configFile), name);
  if (!args["test-control"] && existsSync(file)) copyFileSync(file, path.join(out, name));
}
// The AI binding is not handed to wrangler (its local dev would reach Cloudflare for it);
// server.mjs reads this file and serves the binding from the host side instead.
if (config.ai?.binding) writeFileSync(path.join(out, "ai.json"), JSON.stringify({ binding: config.ai.binding }) + "\n");
// Where a reload (server.mjs) reads the saved app from: the main module's folder, less the
// roots inside it and the config, the files the config's module rules ship.
const appJson = { mainDir, nestedRoots, rules: config.rules ?? [], config: configFile };
writeFileSync(path.join(out, "app.json"), JSON.stringify(appJson) + "\n");
// Each rename is atomic; a build that lands between the two (another runtime's) is moved
// aside again, so the last build to finish is the one in place.
const retired = `${target}.old-${process.pid}`;
for (let attempt = 0; ; attempt++) {
  try {
    renameSync(target, retired);
  } catch (error) {
    if (error.code !== "ENOENT") throw error;
  }
  rmSync(retired, { recursive: true, force: true });
  try {
    renameSync(out, target);
    break;
  } catch (error) {
    if (!["ENOTEMPTY", "EEXIST"].includes(error.code) || attempt >= 10) throw error;
  }
}
console.log(path.join(target, "wrangler.json"));
