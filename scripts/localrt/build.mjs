// Builds the local runtime's host bundle in .dotdo/host from the project's own
// wrangler.toml and src/: a JavaScript worker (host.mjs) that boots the npm
// `pyodide` package in workerd and serves the same Durable Object classes,
// bindings, migrations and vars. Nothing here is edited by hand; every run
// rewrites the folder.
//
//   node scripts/localrt/build.mjs [--project DIR] [--config FILE] [--out DIR]
//                                  [--python-root DIR ...]
//
// --config defaults to the project's wrangler.toml; --python-root adds folders
// to sys.path after python_modules/ (the test harness uses it to reach src/).
// Prints the path of the generated wrangler.json.

import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { execFileSync } from "node:child_process";

const here = path.dirname(fileURLToPath(import.meta.url));
const { values: args } = parseArgs({
  options: {
    project: { type: "string", default: process.cwd() },
    config: { type: "string" },
    out: { type: "string" },
    "python-root": { type: "string", multiple: true, default: [] },
  },
});
const project = path.resolve(args.project);
const configFile = path.resolve(project, args.config ?? "wrangler.toml");
const require = createRequire(path.join(project, "package.json"));

function fail(message) {
  console.error(`dotdo local runtime: ${message}`);
  process.exit(1);
}

let wrangler, pyodidePkg;
try {
  wrangler = require("wrangler");
  pyodidePkg = path.dirname(require.resolve("pyodide/package.json"));
} catch {
  fail("npm packages are missing: run `npm ci` in the project root (./scripts/dev does this for you)");
}
const pyodideVersion = JSON.parse(readFileSync(path.join(pyodidePkg, "package.json"), "utf8")).version;

if (!existsSync(configFile)) fail(`no wrangler config at ${configFile}`);
const { rawConfig: config } = wrangler.experimental_readRawConfig({ config: configFile });
const mainPath = path.resolve(path.dirname(configFile), config.main ?? "");
if (!config.main || !mainPath.endsWith(".py") || !existsSync(mainPath)) {
  fail(`wrangler.toml's main must name an existing .py file (got ${JSON.stringify(config.main)})`);
}
const pythonModulesDir = path.join(project, "python_modules");
if (!existsSync(path.join(pythonModulesDir, "workers", "__init__.py"))) {
  fail("python_modules/ has no `workers` SDK: run ./scripts/vendor (./scripts/dev does this for you)");
}

const out = path.resolve(project, args.out ?? path.join(".dotdo", "host"));
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

// A ustar archive of `files` (paths relative to `root`): 512-byte headers, padded contents.
function tarArchive(root, files) {
  const blocks = [];
  for (const rel of files) {
    const content = readFileSync(path.join(root, rel));
    const header = Buffer.alloc(512);
    let name = rel;
    let prefix = "";
    if (Buffer.byteLength(name) > 100) {
      const cut = rel.lastIndexOf("/", 155);
      prefix = rel.slice(0, cut);
      name = rel.slice(cut + 1);
    }
    header.write(name, 0, 100);
    header.write("0000644\0", 100);
    header.write("0000000\0", 108);
    header.write("0000000\0", 116);
    header.write(content.length.toString(8).padStart(11, "0") + "\0", 124);
    header.write("00000000000\0", 136);
    header.write("        ", 148); // checksum field counts as spaces while summing
    header.write("0", 156);
    header.write("ustar\0" + "00", 257);
    header.write(prefix, 345, 155);
    let sum = 0;
    for (const byte of header) sum += byte;
    header.write(sum.toString(8).padStart(6, "0") + "\0 ", 148);
    blocks.push(header, content, Buffer.alloc((512 - (content.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

function* filesUnder(root, keep, rel = "") {
  for (const name of readdirSync(path.join(root, rel)).sort()) {
    const relPath = rel ? `${rel}/${name}` : name;
    const full = path.join(root, relPath);
    if (statSync(full).isDirectory()) {
      if (name !== "__pycache__" && !name.endsWith(".dist-info")) yield* filesUnder(root, keep, relPath);
    } else if (keep(name)) {
      yield relPath;
    }
  }
}

// Pyodide's distribution files.
mkdirSync(path.join(out, "pyodide"));
for (const file of ["pyodide.asm.js", "pyodide.mjs", "pyodide.asm.wasm", "python_stdlib.zip", "pyodide-lock.json"]) {
  copyFileSync(path.join(pyodidePkg, file), path.join(out, "pyodide", file));
}

// Python sources: the main module's folder, the vendored packages, the host's stand-ins.
const mainDir = path.dirname(mainPath);
const extraRoots = args["python-root"].map((dir, i) => [`extra${i}`, path.resolve(project, dir)]);
const pythonTrees = [
  ["main", mainDir],
  ["python_modules", pythonModulesDir],
  ["host", path.join(here, "python")],
  ...extraRoots,
];
const pythonFiles = [];
for (const [prefix, root] of pythonTrees) {
  for (const rel of filesUnder(root, (name) => name.endsWith(".py"))) {
    const dest = path.join(out, "py", prefix, rel);
    mkdirSync(path.dirname(dest), { recursive: true });
    copyFileSync(path.join(root, rel), dest);
    pythonFiles.push(`${prefix}/${rel}`);
  }
}

// Package data (non-Python files such as tzdata's zone files) ships with python_modules/ on
// Cloudflare too. Hundreds of small modules slow workerd's start, so they travel as one tar
// archive that host.mjs unpacks into Python's file system.
const isPackageData = (name) => !/\.(py|pyc|pyi|pth)$/.test(name) && name !== "py.typed" && !name.startsWith(".");
const dataFiles = [...filesUnder(pythonModulesDir, isPackageData)];
writeFileSync(path.join(out, "py", "python_modules_data.tar"), tarArchive(pythonModulesDir, dataFiles));

// The wasm modules Pyodide compiles from bytes, recorded once per Pyodide version.
const recordedDir = path.join(project, ".dotdo", "recorded", pyodideVersion);
if (!existsSync(path.join(recordedDir, "index.json"))) {
  console.error(`dotdo local runtime: recording Pyodide ${pyodideVersion}'s wasm modules (once)`);
  execFileSync(process.execPath, [
    path.join(here, "record-wasm.mjs"), "--out", recordedDir,
    "--exercise", path.join(here, "python", "exercise.py"),
  ], { cwd: project, stdio: ["ignore", 2, 2] }); // stdout carries only the config path
}
const recorded = JSON.parse(readFileSync(path.join(recordedDir, "index.json"), "utf8"));
if (recorded.pyodide !== pyodideVersion) fail(`${recordedDir} was recorded for Pyodide ${recorded.pyodide}`);
mkdirSync(path.join(out, "recorded"));
for (const { file } of recorded.modules) copyFileSync(path.join(recordedDir, file), path.join(out, "recorded", file));

// manifest.mjs: everything host.mjs needs, as module imports.
const lines = [
  "// Generated by scripts/localrt/build.mjs; do not edit.",
  'import pyodideWasm from "./pyodide/pyodide.asm.wasm";',
  'import pythonStdlib from "./pyodide/python_stdlib.zip";',
  'import pyodideLock from "./pyodide/pyodide-lock.json";',
];
recorded.modules.forEach(({ file }, i) => lines.push(`import wasm${i} from "./recorded/${file}";`));
pythonFiles.forEach((rel, i) => lines.push(`import py${i} from "./py/${rel}";`));
lines.push('import pythonModulesData from "./py/python_modules_data.tar";');
lines.push(
  "export { pyodideWasm, pythonStdlib, pyodideLock };",
  `export const recordedWasm = {${recorded.modules.map(({ hex }, i) => `\n  "${hex}": wasm${i},`).join("")}\n};`,
  `export const pythonFiles = [${pythonFiles.map((rel, i) => `\n  [${JSON.stringify(rel)}, py${i}],`).join("")}\n];`,
  "export { pythonModulesData };",
  // Cloudflare puts only the main module's folder and python_modules/ on sys.path;
  // host.mjs inserts each at the front, so the main module's folder ends up first.
  `export const pythonPath = ${JSON.stringify(["host", ...extraRoots.map(([p]) => p), "python_modules", "main"])};`,
  `export const mainModule = ${JSON.stringify(path.basename(mainPath, ".py"))};`,
  "",
);
writeFileSync(path.join(out, "manifest.mjs"), lines.join("\n"));

// worker.mjs: one export per Durable Object class of this worker: bound in wrangler.toml, or
// created by a migration and not deleted since (workerd wants those exported too).
const migrated = new Set();
for (const migration of config.migrations ?? []) {
  for (const name of [...(migration.new_sqlite_classes ?? []), ...(migration.new_classes ?? [])]) migrated.add(name);
  for (const { from, to } of migration.renamed_classes ?? []) {
    migrated.delete(from);
    migrated.add(to);
  }
  for (const name of migration.deleted_classes ?? []) migrated.delete(name);
}
const bound = (config.durable_objects?.bindings ?? []).filter((b) => !b.script_name).map((b) => b.class_name);
const classNames = [...new Set([...bound, ...migrated])];
const worker = [
  "// Generated by scripts/localrt/build.mjs; do not edit.",
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
  compatibility_flags: (config.compatibility_flags ?? []).filter((flag) => !flag.startsWith("python_workers")),
  no_bundle: true,
  find_additional_modules: true,
  // wrangler's default rules already load **/*.wasm as CompiledWasm.
  rules: [
    { type: "ESModule", globs: ["**/*.mjs", "**/*.js"], fallthrough: true },
    { type: "Data", globs: ["**/*.zip", "**/*.tar"], fallthrough: true },
    { type: "Text", globs: ["**/*.py", "**/*.json"], fallthrough: true },
  ],
  durable_objects: config.durable_objects,
  migrations: config.migrations,
  vars: config.vars,
};
const configText = JSON.stringify(hostConfig, null, 2) + "\n";
writeFileSync(path.join(out, "wrangler.json"), configText);
console.log(path.join(out, "wrangler.json"));
