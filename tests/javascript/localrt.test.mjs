// The local runtime's pure helpers (src/dotdo/localrt/js/lib.mjs), under node's test runner:
//   node --test tests/javascript/
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, mkdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { EventEmitter } from "node:events";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

import {
  CommandQueue,
  changedFilesSaid,
  durableObjectClasses,
  filesUnder,
  firstAnswer,
  globRegExp,
  hostFlags,
  isInside,
  isPackageData,
  missingMigrations,
  moduleRules,
  moduleType,
  newerDateRefusal,
  nextMigrationTag,
  notShippedHint,
  parseVars,
  restartInputs,
  shippedAppFiles,
  shipsToPython,
  startFailed,
  startFailure,
  worthShipping,
} from "../../src/dotdo/localrt/js/lib.mjs";
import { readHost, tinyProject } from "./fixtures.mjs";

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");

/** Runs the local runtime's build (build.mjs) of `project`, with `extra` arguments. */
function buildHost(project, ...extra) {
  execFileSync(process.execPath, [
    path.join(repo, "src", "dotdo", "localrt", "js", "build.mjs"),
    "--project",
    project,
    "--node-modules",
    path.join(repo, "node_modules"),
    ...extra,
  ]);
}

const config = (bindings, migrations) => ({
  durable_objects: { bindings: bindings.map(([name, class_name, script_name]) => ({ name, class_name, script_name })) },
  migrations,
});

test("exported classes: bound ones and the migrations' survivors", () => {
  const { exported, migrated } = durableObjectClasses(
    config(
      [["APP", "App"], ["OTHER", "Elsewhere", "other-worker"]],
      [
        { tag: "v1", new_sqlite_classes: ["Old", "App"] },
        { tag: "v2", renamed_classes: [{ from: "Old", to: "New" }], new_classes: ["Kv"] },
        { tag: "v3", deleted_classes: ["Kv"] },
      ],
    ),
  );
  assert.deepEqual(exported, ["App", "New"]); // another worker's class is not ours to export
  assert.deepEqual([...migrated].sort(), ["App", "New"]);
});

test("a bound class without a migration is named with the entry to add", () => {
  const lines = missingMigrations(
    config([["APP", "App"], ["TICKETS", "Ticket"]], [{ tag: "v1", new_sqlite_classes: ["App"] }]),
  );
  // a snippet to paste, as the data-file hint shows one: it was one line, not TOML
  assert.deepEqual(lines, [
    "wrangler.toml binds TICKETS to class Ticket, which no migration creates. Add at the end of wrangler.toml:\n" +
      '  [[migrations]]\n  tag = "v2"\n  new_sqlite_classes = ["Ticket"]',
  ]);
  assert.deepEqual(missingMigrations(config([["APP", "App"]], [{ tag: "v1", new_sqlite_classes: ["App"] }])), []);
});

test("a class that replaced a migrated one is told how to rename it", () => {
  // the template's class renamed in the code and in the binding: the hint named only
  // new_sqlite_classes, which then failed on the old class the first migration made
  const lines = missingMigrations(config([["DEMO", "Library"]], [{ tag: "v1", new_sqlite_classes: ["Demo"] }]));
  assert.equal(lines.length, 1);
  assert.ok(
    lines[0].endsWith(
      'new_sqlite_classes = ["Library"]\nOr, if Library is Demo renamed, add this instead, which keeps its objects on ' +
        "Cloudflare (the local runtime starts the renamed class with none):\n" +
        '  [[migrations]]\n  tag = "v2"\n  renamed_classes = [{ from = "Demo", to = "Library" }]',
    ),
    lines[0],
  );
});

test("a renamed-away or deleted class counts as missing", () => {
  const renamed = config([["APP", "Old"]], [
    { tag: "v1", new_sqlite_classes: ["Old"] },
    { tag: "v2", renamed_classes: [{ from: "Old", to: "New" }] },
  ]);
  assert.equal(missingMigrations(renamed).length, 1);
});

test("the next migration tag follows the highest vN", () => {
  assert.equal(nextMigrationTag({}), "v1");
  assert.equal(nextMigrationTag({ migrations: [{ tag: "v1" }, { tag: "v10-bounds" }, { tag: "v3" }] }), "v11");
  assert.equal(nextMigrationTag({ migrations: [{ tag: "initial" }] }), "v1");
});

test("--var pairs: NAME=VALUE, the value may hold '='", () => {
  assert.deepEqual(parseVars(["A=1", "B=x=y", "EMPTY="]), { A: "1", B: "x=y", EMPTY: "" });
  assert.throws(() => parseVars(["=1"]), /NAME=VALUE/);
  assert.throws(() => parseVars(["NOEQ"]), /NAME=VALUE/);
});

test("sources skip tool folders, virtual environments and dist-info, and only those", () => {
  const root = mkdtempSync(path.join(tmpdir(), "dotdo-lib-"));
  const skipped = [".venv/lib/x.py", "venv/lib/x.py", ".venv-workers/x.py", "node_modules/p/y.py", "pkg-1.0.dist-info/z.py", "a/__pycache__/c.py", ".hg/h.py", ".hypothesis/h.py"];
  // `build` and `dist` are names a package may have, and a deploy ships them.
  for (const rel of [...skipped, "app/entry.py", "a/b.py", "build/steps.py", "dist/x.py"]) {
    mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    writeFileSync(path.join(root, rel), "");
  }
  assert.deepEqual([...filesUnder(root, (name) => name.endsWith(".py"))], ["a/b.py", "app/entry.py", "build/steps.py", "dist/x.py"]);
  assert.deepEqual(shippedAppFiles(root, moduleRules()), ["a/b.py", "app/entry.py", "build/steps.py", "dist/x.py"]);
});

test("a link to nothing or in a loop is no file to ship: an editor's lock failed every build", () => {
  const root = mkdtempSync(path.join(tmpdir(), "dotdo-lib-"));
  writeFileSync(path.join(root, "entry.py"), "");
  writeFileSync(path.join(root, "notes.txt"), "");
  symlinkSync("root@host.1234:1700000000", path.join(root, ".#entry.py")); // Emacs, buffer modified
  symlinkSync("loop.json", path.join(root, "loop.json"));
  assert.deepEqual([...filesUnder(root, (name) => name.endsWith(".py"))], ["entry.py"]);
  assert.deepEqual(shippedAppFiles(root, moduleRules()), ["entry.py", "notes.txt"]);
});

test("package data: everything but Python sources, typing markers and dot files", () => {
  assert.equal(isPackageData("Oslo"), true);
  assert.equal(isPackageData("zones.json"), true);
  for (const name of ["x.py", "x.pyc", "x.pyi", "x.pth", "py.typed", ".hidden"]) assert.equal(isPackageData(name), false);
});

test("package data travels in the Python blob at its real path, with no archive to unpack", async () => {
  const { existsSync } = await import("node:fs");
  const project = tinyProject("dotdo-data-", {
    "python_modules/tzdata/zoneinfo/Europe/Oslo": "TZif-oslo",
    "python_modules/tzdata/zones": "Europe/Oslo\n",
    "python_modules/tzdata/__init__.py": "",
  });
  buildHost(project);
  const { host, manifest, index, blob } = readHost(project);
  const shipped = Object.fromEntries(
    index.map(([file, offset, length]) => [file, blob.subarray(offset, offset + length).toString()]),
  );
  const modules = path.join(project, "python_modules");
  assert.equal(shipped[path.join(modules, "tzdata", "zoneinfo", "Europe", "Oslo")], "TZif-oslo");
  assert.equal(shipped[path.join(modules, "tzdata", "zones")], "Europe/Oslo\n");
  assert.equal(shipped[path.join(modules, "tzdata", "__init__.py")], "");
  assert.doesNotMatch(manifest, /\.tar/);
  assert.equal(existsSync(path.join(host, "py", "python_modules_data.tar")), false);
});

test("the app's sources lead the Python index, counted, and app.json names their folder", async () => {
  const { readFileSync } = await import("node:fs");
  const project = tinyProject("dotdo-app-", {
    "src/models/__init__.py": "",
    "src/models/note.py": "NOTE = 1\n",
    "python_modules/attrs/__init__.py": "",
  });
  buildHost(project);
  const { host, manifest, index, appFiles } = readHost(project);
  const src = path.join(project, "src");
  // A reload (host.mjs) boots an interpreter with every entry after these, then writes the
  // saved app: so these are exactly the main folder's sources, and none of them is after.
  assert.deepEqual(
    index.slice(0, appFiles).map(([file]) => path.relative(src, file)).sort(),
    ["entry.py", "models/__init__.py", "models/note.py"],
  );
  assert.ok(index.slice(appFiles).every(([file]) => !file.startsWith(src + path.sep)));
  assert.deepEqual(JSON.parse(readFileSync(path.join(host, "app.json"), "utf8")), {
    mainDir: src,
    nestedRoots: [],
    rules: [],
    config: path.join(project, "wrangler.toml"),
  });
  assert.ok(manifest.includes(`export const mainDir = ${JSON.stringify(src)};`));
});

// What a deploy ships from the main module's folder (wrangler 4.86's module rules).

test("globs match as wrangler's: ** spans folders and none, * one name, and without globstar anything", () => {
  const star = (glob, rel) => globRegExp(glob, { globstar: true }).test(rel);
  assert.equal(star("**/*.py", "entry.py"), true); // ** may be no folder at all
  assert.equal(star("**/*.py", "club/a/texts.py"), true);
  assert.equal(star("club/*", "club/genres.json"), true);
  assert.equal(star("club/*", "club/a/genres.json"), false);
  assert.equal(star("data.json", "club/data.json"), false);
  assert.equal(star("**/*.wasm?module", "x.wasm?module"), true); // ? is itself
  // wrangler checks its removed rules without globstar: `**/*.bin` needs a slash then
  assert.equal(globRegExp("**/*.bin").test("data.bin"), false);
  assert.equal(globRegExp("**/*.bin").test("a/data.bin"), true);
});

test("a deploy ships Python, Text and Data modules as files: *.py, *.txt, *.html, *.sql, *.bin by default", () => {
  const rules = moduleRules([]);
  const shipped = (rel) => shipsToPython(rel, rules);
  for (const rel of ["entry.py", "club/__init__.py", "notes.txt", "club/page.html", "q.sql", "data.bin", ".hidden.txt"]) {
    assert.equal(shipped(rel), true, rel);
  }
  for (const rel of ["club/genres.json", "README.md", "club/LICENSE", "lib.wasm", "x.pyc", "config.toml"]) {
    assert.equal(shipped(rel), false, rel);
  }
  assert.equal(moduleType("lib.wasm", rules), "CompiledWasm"); // a module, but not a file to Python
  assert.equal(moduleType("club/genres.json", rules), null);
});

test("the config's rules come first, and one without fallthrough removes the defaults of its type", () => {
  const json = moduleRules([{ type: "Data", globs: ["**/*.json"], fallthrough: true }]);
  assert.equal(moduleType("club/genres.json", json), "Data");
  assert.equal(moduleType("data.bin", json), "Data"); // the default Data rule stays
  const text = moduleRules([{ type: "Text", globs: ["**/*.json"] }]);
  assert.equal(moduleType("club/genres.json", text), "Text");
  // the default Text rule is removed: a deploy drops a top-level *.txt and fails on a nested one
  assert.equal(moduleType("notes.txt", text), null);
  assert.throws(() => moduleType("club/notes.txt", text), /The file club\/notes.txt matched a module rule .*fallthrough = true/);
  const js = moduleRules([{ type: "ESModule", globs: ["**/*.js"] }, { type: "Data", globs: ["club/*"] }]);
  assert.equal(shipsToPython("helper.js", js), false);
  assert.equal(moduleType("club/__init__.py", js), "Data"); // the first rule matching wins
  assert.equal(shipsToPython("club/__init__.py", js), true);
  for (const wrong of [{}, [{ type: "Json", globs: ["*"] }], [{ type: "Data", globs: "**/*.json" }], [null]]) {
    assert.throws(() => moduleRules(wrong), /rules/);
  }
});

test("a file left out is explained with the rule that ships it; editors' files are not", () => {
  const hint = notShippedHint("club/genres.json");
  assert.match(hint, /^club\/genres.json is not shipped: .* a deploy leaves it out and the local runtime does too/);
  assert.ok(hint.endsWith('\n  [[rules]]\n  type = "Data"\n  globs = ["**/*.json"]\n  fallthrough = true'), hint);
  assert.match(notShippedHint("club/LICENSE"), /globs = \["club\/LICENSE"\]/);
  assert.equal(worthShipping("genres.json"), true);
  for (const name of [".entry.py.swp", ".#entry.py", "entry.py~", "#entry.py#", "x.pyc", "x.pyi", "py.typed"]) {
    assert.equal(worthShipping(name), false, name);
  }
});

const DATA_FILES = {
  "src/club/__init__.py": "",
  "src/club/genres.json": '["mystery"]',
  "src/club/notes.txt": "notes",
  "src/club/page.html": "<p>",
  "src/club/LICENSE": "MIT",
  "src/q.sql": "SELECT 1",
  "src/data.bin": "\u0000\u0001",
  "src/lib.wasm": "\u0000asm",
  "src/.hidden.txt": "dot files ship too",
  "src/notes.md": "not shipped",
  "src/__pycache__/entry.cpython-313.pyc": "bytecode",
};

test("the build ships the app's data files a deploy ships, as app files a reload replaces", async () => {
  const { readFileSync } = await import("node:fs");
  const project = tinyProject("dotdo-datafiles-", DATA_FILES);
  buildHost(project);
  const { host, index, appFiles, blob } = readHost(project);
  const src = path.join(project, "src");
  const app = Object.fromEntries(
    index.slice(0, appFiles).map(([file, offset, length]) => [path.relative(src, file), blob.subarray(offset, offset + length).toString()]),
  );
  assert.deepEqual(Object.keys(app).sort(), [".hidden.txt", "club/__init__.py", "club/notes.txt", "club/page.html", "data.bin", "entry.py", "q.sql"]);
  assert.equal(app["club/notes.txt"], "notes");
  const left = ["club/genres.json", "club/LICENSE", "notes.md", "lib.wasm", "__pycache__/entry.cpython-313.pyc"];
  for (const rel of left) assert.ok(index.every(([file]) => file !== path.join(src, rel)), rel);
  const appJson = JSON.parse(readFileSync(path.join(host, "app.json"), "utf8"));
  assert.deepEqual(appJson.rules, []);
  // with a rule, the JSON file ships, where the code reads it (Path(__file__).parent / "genres.json")
  const toml = path.join(project, "wrangler.toml");
  writeFileSync(toml, readFileSync(toml, "utf8") + '[[rules]]\ntype = "Data"\nglobs = ["**/*.json"]\nfallthrough = true\n');
  buildHost(project);
  const again = readHost(project);
  const shipped = again.index.slice(0, again.appFiles).map(([file]) => path.relative(src, file));
  assert.ok(shipped.includes("club/genres.json") && shipped.includes("data.bin"));
});

test("a rule a deploy fails on fails the build with wrangler's message", async () => {
  const { readFileSync } = await import("node:fs");
  const project = tinyProject("dotdo-badrule-", DATA_FILES);
  const toml = path.join(project, "wrangler.toml");
  writeFileSync(toml, readFileSync(toml, "utf8") + '[[rules]]\ntype = "Text"\nglobs = ["**/*.json"]\n');
  assert.throws(
    () => execFileSync(process.execPath, [path.join(repo, "src", "dotdo", "localrt", "js", "build.mjs"), "--project", project, "--node-modules", path.join(repo, "node_modules")], { stdio: "pipe" }),
    (error) => /^dotdo: the local runtime did not start: \S*wrangler.toml's module rules: The file club\/notes.txt matched a module rule/.test(String(error.stderr)),
  );
});

test("the build ships exactly the files of the main module's folder that wrangler deploy uploads", async () => {
  const { readFileSync, readdirSync } = await import("node:fs");
  const project = tinyProject("dotdo-deploy-", DATA_FILES);
  const toml = path.join(project, "wrangler.toml");
  writeFileSync(toml, readFileSync(toml, "utf8") + '[[rules]]\ntype = "Text"\nglobs = ["**/*.json"]\nfallthrough = true\n');
  buildHost(project);
  const { index, appFiles } = readHost(project);
  const src = path.join(project, "src");
  const ours = index.slice(0, appFiles).map(([file]) => path.relative(src, file)).sort();
  // wrangler's own dry run writes every module it would upload to --outdir
  const dist = path.join(project, "dist");
  execFileSync(process.execPath, [path.join(repo, "node_modules", "wrangler", "bin", "wrangler.js"), "deploy", "--dry-run", "--outdir", dist], {
    cwd: project,
    stdio: "pipe",
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", WRANGLER_HIDE_BANNER: "true", CLOUDFLARE_CF_FETCH_ENABLED: "false" },
  });
  const uploaded = [...filesUnder(dist, () => true)].filter(
    (rel) => rel !== "README.md" && !rel.startsWith("python_modules/") && !rel.endsWith(".wasm"), // wrangler's note; not the app's; not a file to Python
  );
  assert.deepEqual(ours, uploaded.sort());
  assert.ok(ours.includes("club/genres.json") && readdirSync(dist).includes("lib.wasm"));
});

test("isInside: strictly inside a folder, never the folder itself or a sibling with its prefix", () => {
  assert.equal(isInside("/p/src/a.py", "/p/src"), true);
  assert.equal(isInside("/p/src/lib/a.py", "/p/src/lib"), true);
  assert.equal(isInside("/p/src", "/p/src"), false);
  assert.equal(isInside("/p/src2/a.py", "/p/src"), false);
  assert.equal(isInside("/p/a.py", "/p/src"), false);
});

test("roots inside the main module's folder are not the app's sources: python_modules/ and --python-root", async () => {
  const { readFileSync } = await import("node:fs");
  const project = tinyProject("dotdo-nested-", {
    "wrangler.toml": readFileSync(path.join(tinyProject("dotdo-toml-"), "wrangler.toml"), "utf8").replace(
      'main = "src/entry.py"',
      'main = "entry.py"',
    ),
    "entry.py": "class App:\n    pass\n",
    "lib/helpers.py": "HELP = 1\n",
    "python_modules/attrs/__init__.py": "",
  });
  buildHost(project, "--python-root", "lib");
  const { host, index, appFiles } = readHost(project);
  const app = index.slice(0, appFiles).map(([file]) => path.relative(project, file));
  // The project's top is the main folder: src/entry.py of the fixture is the app's too.
  assert.deepEqual(app.sort(), ["entry.py", "src/entry.py"]);
  const shipped = index.map(([file]) => path.relative(project, file));
  for (const file of ["lib/helpers.py", "python_modules/attrs/__init__.py", "python_modules/workers/__init__.py"]) {
    assert.ok(shipped.includes(file), file); // shipped, with their roots'
    assert.ok(shipped.some((other) => other.startsWith(path.join(path.dirname(file), "__pycache__"))), file);
  }
  const { mainDir, nestedRoots } = JSON.parse(readFileSync(path.join(host, "app.json"), "utf8"));
  assert.equal(mainDir, project);
  assert.deepEqual(nestedRoots.map((root) => path.relative(project, root)).sort(), ["lib", "python_modules"]);
});

test("two builds of one project at once both succeed and leave one whole host", async () => {
  const { spawn } = await import("node:child_process");
  const { existsSync, readdirSync } = await import("node:fs");
  const project = tinyProject("dotdo-build-");
  const build = () =>
    new Promise((resolve) => {
      const child = spawn(
        process.execPath,
        [
          path.join(repo, "src", "dotdo", "localrt", "js", "build.mjs"),
          "--project",
          project,
          "--node-modules",
          path.join(repo, "node_modules"),
        ],
        { stdio: ["ignore", "pipe", "pipe"] },
      );
      let err = "";
      child.stderr.on("data", (chunk) => (err += chunk));
      child.on("close", (code) => resolve({ code, err }));
    });
  const results = await Promise.all(Array.from({ length: 6 }, build));
  for (const { code, err } of results) assert.equal(code, 0, err);
  const dotdo = path.join(project, ".dotdo");
  assert.deepEqual(readdirSync(dotdo).filter((name) => name.startsWith("host")), ["host"]);
  assert.ok(existsSync(path.join(dotdo, "host", "wrangler.json")));
  assert.ok(existsSync(path.join(dotdo, "host", "pyodide", "pyodide.asm.wasm")));
});

test("the host runs with the config's flags, and WeakRef on a date before workerd's default for it", () => {
  const flags = (date, compatibility_flags) => hostFlags({ compatibility_date: date, compatibility_flags });
  assert.deepEqual(flags("2026-05-01", ["python_workers", "nodejs_compat"]), ["nodejs_compat"]);
  assert.deepEqual(flags("2025-05-05", ["python_workers"]), []); // workerd refuses a flag already the default
  assert.deepEqual(flags("2024-09-23", ["python_workers"]), ["enable_weak_ref"]); // was "FinalizationRegistry is not defined"
  assert.deepEqual(flags("2024-09-23", ["disable_weak_ref"]), ["disable_weak_ref"]); // the app's choice stands
});

test("a compatibility date not written YYYY-MM-DD, or older than the host serves, is refused in one line", async () => {
  const { readFileSync } = await import("node:fs");
  const build = (date) => {
    const project = tinyProject("dotdo-date-");
    const toml = path.join(project, "wrangler.toml");
    writeFileSync(toml, readFileSync(toml, "utf8").replace('"2025-08-01"', `"${date}"`));
    return spawnSync(process.execPath, [
      path.join(repo, "src", "dotdo", "localrt", "js", "build.mjs"),
      ...["--project", project, "--node-modules", path.join(repo, "node_modules")],
    ]);
  };
  const slashed = build("2026/05/01"); // miniflare called it "in the future"
  assert.equal(slashed.status, 1);
  assert.match(String(slashed.stderr), /compatibility_date "2026\/05\/01" is no date written YYYY-MM-DD/);
  const old = build("2020-01-01"); // the host's boot failed: "FinalizationRegistry is not defined"
  assert.equal(old.status, 1);
  assert.match(String(old.stderr), /"2020-01-01" is older than 2024-04-03, the oldest the local runtime serves Python on/);
  assert.equal(build("2024-04-03").status, 0);
});

test("a config naming disable_weak_ref is refused in one line", async () => {
  const { readFileSync } = await import("node:fs");
  const project = tinyProject("dotdo-weakref-");
  const toml = path.join(project, "wrangler.toml");
  const config = readFileSync(toml, "utf8");
  assert.match(config, /compatibility_flags = \["python_workers"\]/);
  writeFileSync(toml, config.replace('["python_workers"]', '["python_workers", "disable_weak_ref"]'));
  const built = spawnSync(process.execPath, [
    path.join(repo, "src", "dotdo", "localrt", "js", "build.mjs"),
    ...["--project", project, "--node-modules", path.join(repo, "node_modules")],
  ]);
  assert.equal(built.status, 1);
  // the host's boot crashed inside workerd: "FinalizationRegistry is not defined"
  assert.match(
    String(built.stderr),
    /^dotdo: the local runtime did not start: \S*wrangler\.toml: compatibility_flags names "disable_weak_ref", but the Python runtime \(Pyodide\) needs WeakRef and FinalizationRegistry: remove it\n$/,
  );
});

test("a config without the python_workers flag is served, and said to deploy as no Python Worker", async () => {
  const { readFileSync } = await import("node:fs");
  const build = (project) =>
    spawnSync(process.execPath, [
      path.join(repo, "src", "dotdo", "localrt", "js", "build.mjs"),
      ...["--project", project, "--node-modules", path.join(repo, "node_modules")],
    ]);
  const flagged = tinyProject("dotdo-flag-");
  assert.equal(String(build(flagged).stderr).includes("python_workers"), false);
  const unflagged = tinyProject("dotdo-noflag-");
  const toml = path.join(unflagged, "wrangler.toml");
  writeFileSync(toml, readFileSync(toml, "utf8").replace('compatibility_flags = ["python_workers"]\n', ""));
  const built = build(unflagged);
  assert.equal(built.status, 0);
  assert.match(String(built.stderr), /has no compatibility_flags = \["python_workers"\]: served here, but wrangler deploys/);
});

test("the project's .dev.vars goes beside the generated config, where wrangler's dev reads it", async () => {
  const { existsSync, readFileSync, rmSync } = await import("node:fs");
  const project = tinyProject("dotdo-devvars-");
  const build = (...extra) => buildHost(project, ...extra);
  writeFileSync(path.join(project, ".dev.vars"), "DOTDO_SECRET=from-the-file\n");
  build();
  const copied = path.join(project, ".dotdo", "host", ".dev.vars");
  assert.equal(readFileSync(copied, "utf8"), "DOTDO_SECRET=from-the-file\n");
  build("--test-control"); // dotdo.testing's runtime: a test session's env is its own
  assert.equal(existsSync(copied), false);
  build();
  rmSync(path.join(project, ".dev.vars"));
  build();
  assert.equal(existsSync(copied), false);
});

test("a project's .env and .env.local go there too: wrangler's dev reads them without a .dev.vars", async () => {
  const { existsSync, readFileSync, rmSync } = await import("node:fs");
  const project = tinyProject("dotdo-dotenv-");
  const host = path.join(project, ".dotdo", "host");
  writeFileSync(path.join(project, ".env"), "DOTDO_SECRET=from-env\n");
  writeFileSync(path.join(project, ".env.local"), "DOTDO_SECRET=from-env-local\n");
  buildHost(project);
  assert.equal(readFileSync(path.join(host, ".env"), "utf8"), "DOTDO_SECRET=from-env\n");
  assert.equal(readFileSync(path.join(host, ".env.local"), "utf8"), "DOTDO_SECRET=from-env-local\n");
  buildHost(project, "--test-control");
  assert.equal(existsSync(path.join(host, ".env")), false);
  rmSync(path.join(project, ".env.local"));
  buildHost(project);
  assert.equal(existsSync(path.join(host, ".env.local")), false);
});

// firstAnswer: the boot request of server.mjs, sent again while unanswered.

/** A `send` whose calls are recorded; `answer(i, value)` settles call i (0-based). */
function sends() {
  const calls = [];
  const send = (signal) =>
    new Promise((resolve, reject) => {
      calls.push({ signal, resolve, reject });
      signal.addEventListener("abort", () => reject(new Error("aborted")));
    });
  return { calls, send };
}

const tick = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

test("a request held unanswered is sent again, and the first answer is the result", async () => {
  const { calls, send } = sends();
  const answer = firstAnswer(send, { everyMs: 20, totalMs: 60_000 });
  while (calls.length < 3) await tick(10);
  calls[1].resolve({ ok: false, import: true });
  assert.deepEqual(await answer, { ok: false, import: true });
  const sent = calls.length;
  assert.ok(calls.every((call, i) => i === 1 || call.signal.aborted), "the others are aborted");
  await tick(60);
  assert.equal(calls.length, sent, "nothing is sent after the answer");
});

test("an answer before the next interval is the only request", async () => {
  const { calls, send } = sends();
  const answer = firstAnswer(send, { everyMs: 1_000, totalMs: 5_000 });
  await tick(0);
  calls[0].resolve("booted");
  assert.equal(await answer, "booted");
  assert.equal(calls.length, 1);
});

test("a failed request fails the whole, at once", async () => {
  const { calls, send } = sends();
  const answer = firstAnswer(send, { everyMs: 1_000, totalMs: 5_000 });
  await tick(0);
  calls[0].reject(new Error("connection refused"));
  await assert.rejects(answer, /connection refused/);
});

test("firstAnswer: a copy failing while an earlier one is out ends nothing", async () => {
  const { send, calls } = sends();
  const answer = firstAnswer(send, { everyMs: 20, totalMs: 60_000 });
  while (calls.length < 2) await tick(10);
  calls[1].reject(new Error("Network connection lost"));
  await tick(30);
  calls[0].resolve("booted");
  assert.equal(await answer, "booted");
});

test("no answer within the total time rejects, and every request is aborted", async () => {
  const { calls, send } = sends();
  await assert.rejects(firstAnswer(send, { everyMs: 20, totalMs: 90 }), /no answer within 0.09 s/);
  assert.ok(calls.length >= 1 && calls.every((call) => call.signal.aborted));
});

// CommandQueue: the dev server's restart and reload commands, those waiting merged.

/** A queue whose commands are recorded in `ran`; the first runs until `finish()`. */
function firstCommandHeld() {
  const ran = [];
  let release;
  const held = new Promise((resolve) => (release = resolve));
  const queue = new CommandQueue(async (command) => {
    ran.push(command);
    if (ran.length === 1) await held;
  });
  return { ran, queue, finish: () => release() };
}

test("saves made while a reload runs are served by one more reload, their paths merged", async () => {
  const { ran, queue, finish } = firstCommandHeld();
  queue.push({ paths: ["/a.py"] });
  await tick(0); // the first is running
  for (const file of ["/b.py", "/a.py", "/c.py", "/b.py"]) queue.push({ paths: [file] });
  finish();
  await queue.idle;
  assert.deepEqual(ran, [
    { restart: false, paths: ["/a.py"] },
    { restart: false, paths: ["/b.py", "/a.py", "/c.py"] },
  ]);
});

test("a command that throws is reported and the next one runs: it ended the dev server", async () => {
  const ran = [];
  const failures = [];
  const queue = new CommandQueue(
    async ({ paths }) => {
      ran.push(paths.join());
      if (ran.length === 1) throw new Error("ELOOP");
    },
    (error) => failures.push(error.message),
  );
  queue.push({ paths: ["/a.py"] });
  await queue.idle;
  queue.push({ paths: ["/b.py"] });
  queue.after(() => ran.push("after"));
  await queue.idle;
  assert.deepEqual(ran, ["/a.py", "/b.py", "after"]);
  assert.deepEqual(failures, ["ELOOP"]);
});

test("a restart among the waiting commands makes their merge a restart", async () => {
  const { ran, queue, finish } = firstCommandHeld();
  queue.push({ restart: true });
  await tick(0);
  queue.push({ paths: ["/a.py"] });
  queue.push({ restart: true });
  queue.push({ paths: null }); // a reload whose paths did not parse
  finish();
  await queue.idle;
  assert.equal(ran.length, 2);
  assert.equal(ran[1].restart, true);
});

test("a command waits for the work queued before it, and a save after it began runs again", async () => {
  const order = [];
  let started;
  const queue = new CommandQueue(async ({ paths }) => order.push(paths.join()));
  queue.after(() => new Promise((resolve) => (started = resolve)));
  queue.push({ paths: ["/a.py"] });
  await tick(0);
  assert.deepEqual(order, [], "not before the start");
  started();
  await queue.idle;
  queue.push({ paths: ["/a.py"] });
  await queue.idle;
  assert.deepEqual(order, ["/a.py", "/a.py"]);
});

// restartInputs: what a restart reads, so that one asked for with nothing changed is skipped.

test("the restart inputs change with every file a restart reads, and only with those", () => {
  const root = mkdtempSync(path.join(tmpdir(), "restart-inputs-"));
  const config = path.join(root, "wrangler.toml");
  const app = path.join(root, "src");
  const modules = path.join(root, "python_modules");
  const state = path.join(app, "state");
  for (const dir of [app, modules, state, path.join(app, "__pycache__")]) mkdirSync(dir, { recursive: true });
  writeFileSync(config, 'name = "x"\n');
  writeFileSync(path.join(app, "entry.py"), "A = 1\n");
  writeFileSync(path.join(modules, "lib.py"), "B = 1\n");
  const inputs = () =>
    restartInputs({
      files: [config, path.join(root, ".dev.vars")],
      trees: [modules, app, path.join(root, "no-such-root")],
      skip: (dir) => dir === state,
    });
  let last = inputs();
  const changes = (what, change) => {
    change();
    const now = inputs();
    assert.notEqual(now, last, what);
    last = now;
  };
  const same = (what, change) => {
    change();
    assert.equal(inputs(), last, what);
  };
  same("nothing done", () => {});
  same("the config saved as it was", () => writeFileSync(config, 'name = "x"\n'));
  same("the state written", () => writeFileSync(path.join(state, "do.sqlite"), "rows"));
  same("bytecode written", () => writeFileSync(path.join(app, "__pycache__", "entry.pyc"), "pyc"));
  changes("the config edited", () => writeFileSync(config, 'name = "y"\n'));
  changes(".dev.vars made", () => writeFileSync(path.join(root, ".dev.vars"), "SECRET=1\n"));
  changes("a source saved", () => writeFileSync(path.join(app, "entry.py"), "A = 2\n"));
  changes("a vendored file saved", () => writeFileSync(path.join(modules, "lib.py"), "B = 2\n"));
  changes("a vendored file added", () => writeFileSync(path.join(modules, "new.py"), ""));
  changes("a file renamed into place", () => {
    writeFileSync(path.join(modules, "new.py.tmp"), "");
    renameSync(path.join(modules, "new.py.tmp"), path.join(modules, "new.py"));
  });
  changes("a source removed", () => rmSync(path.join(app, "entry.py")));
  changes("python_modules/ gone", () => rmSync(modules, { recursive: true }));
  symlinkSync(path.join(root, "nowhere"), path.join(app, ".#entry.py")); // Emacs's lock file
  assert.equal(inputs(), last, "a link to nothing is no input, as for the build");
});

test("a start wrangler refused is said in one line: the cause, not its 'An error occurred'", () => {
  const refused = (message) => new Error("An error occurred when starting the server", { cause: new Error(message) });
  const name =
    'Processing .dotdo/host/wrangler.json configuration:\n  - Expected "name" to be of type string, ' +
    'alphanumeric and lowercase with dashes only but got "Bad Name!".';
  assert.equal(
    startFailure(refused(name), "wrangler.toml"),
    'wrangler.toml: Expected "name" to be of type string, alphanumeric and lowercase with dashes only but got "Bad Name!"',
  );
  const twice =
    "Processing .dotdo/host/wrangler.json configuration:\n  - A assigned to multiple Durable Object bindings.\n" +
    "  - Bindings must have unique names.\n    Please change your bindings.";
  assert.equal(
    startFailure(refused(twice), "conf/w.toml"),
    "conf/w.toml: A assigned to multiple Durable Object bindings; Bindings must have unique names. Please change your bindings",
  );
  assert.equal(
    startFailure(new Error('Compatibility date "2099-01-01" is in the future and unsupported')),
    'wrangler.toml: compatibility_date "2099-01-01" is in the future: use today\'s or an earlier one',
  );
  assert.equal(startFailure(new Error("port 9 in use")), "port 9 in use");
});

test("workerd's refusal of a date newer than it serves is said in one line", () => {
  const said =
    '✘ [ERROR] service core:user:tiny: This Worker requires compatibility date "2026-11-01", but the newest ' +
    'date supported by this server binary is "2026-05-03".';
  assert.equal(
    newerDateRefusal(said, "conf/w.toml"),
    'conf/w.toml: compatibility_date "2026-11-01" is newer than 2026-05-03, the newest the local runtime\'s ' +
      "workerd serves: use 2026-05-03 or an earlier one",
  );
  assert.equal(newerDateRefusal("The Workers runtime failed to start."), null);
});

test("a start is failed by a refused config or a failed load, not by any error event", async () => {
  const events = new EventEmitter();
  const failed = startFailed(events);
  let said = null;
  failed.catch((error) => (said = error));
  events.emit("error", { type: "error", source: "ProxyController", reason: "Error inside ProxyWorker" });
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(said, null);
  events.emit("error", { source: "LocalRuntimeController", reason: "Error reloading local server", cause: new Error("x") });
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(said.message, "Error reloading local server");
  assert.equal(startFailure(said), "x");
  assert.equal(events.listenerCount("error"), 0);

  const other = new EventEmitter();
  const refused = startFailed(other);
  other.emit("error", new Error('Compatibility date "2099-01-01" is in the future and unsupported'));
  await assert.rejects(refused, /in the future/);
  startFailed(new EventEmitter()); // never rejected, never awaited: no unhandled rejection either way
});

test("the files a save changed are named, the first three and how many more", () => {
  assert.equal(changedFilesSaid([], "/p"), "");
  assert.equal(changedFilesSaid(["/p/wrangler.toml", "/p/.env"], "/p"), " (wrangler.toml, .env)");
  const many = ["a", "b", "c", "d", "e"].map((name) => `/p/python_modules/${name}.py`);
  assert.equal(
    changedFilesSaid(many, "/p"),
    " (python_modules/a.py, python_modules/b.py, python_modules/c.py and 2 more)",
  );
});

test("a restart merged with reloads keeps the paths of both", async () => {
  const runs = [];
  const queue = new CommandQueue(async (command) => runs.push(command));
  queue.push({ restart: true, paths: ["/p/wrangler.toml"] });
  queue.push({ paths: ["/p/src/entry.py"] });
  await queue.idle;
  assert.deepEqual(runs, [{ restart: true, paths: ["/p/wrangler.toml", "/p/src/entry.py"] }]);
});
