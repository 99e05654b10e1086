// Pure helpers of the local runtime's build (build.mjs), kept apart so that
// they can be tested under node's own test runner without a project on disk.

import { createHash } from "node:crypto";
import { readFileSync, readdirSync, statSync } from "node:fs";
import path from "node:path";

/**
 * Durable Object classes a worker must export: the ones bound in its config
 * (without `script_name`) and the ones its migrations created and did not
 * delete or rename away since (workerd refuses a script missing either).
 * Returns `{ bound, migrated, exported }`: `bound` lists `{ binding, className }`,
 * `migrated` is a Set of class names, `exported` the union, bound first.
 */
export function durableObjectClasses(config) {
  const migrated = new Set();
  for (const migration of config.migrations ?? []) {
    for (const name of [...(migration.new_sqlite_classes ?? []), ...(migration.new_classes ?? [])]) {
      migrated.add(name);
    }
    for (const { from, to } of migration.renamed_classes ?? []) {
      migrated.delete(from);
      migrated.add(to);
    }
    for (const name of migration.deleted_classes ?? []) migrated.delete(name);
  }
  const bound = (config.durable_objects?.bindings ?? [])
    .filter((binding) => !binding.script_name)
    .map((binding) => ({ binding: binding.name, className: binding.class_name }));
  const exported = [...new Set([...bound.map((b) => b.className), ...migrated])];
  return { bound, migrated, exported };
}

/**
 * The tag a new `[[migrations]]` entry should take: one past the highest
 * `v<number>` tag in use (`v1` when there is none).
 */
export function nextMigrationTag(config) {
  let highest = 0;
  for (const { tag } of config.migrations ?? []) {
    const match = /^v(\d+)/.exec(String(tag ?? ""));
    if (match) highest = Math.max(highest, Number(match[1]));
  }
  return `v${highest + 1}`;
}

/**
 * `lines` of TOML as a hint shows them: each on a line of its own, indented two spaces
 * (still valid TOML when pasted as it is), after a newline.
 */
export function tomlSnippet(...lines) {
  return lines.map((line) => `\n  ${line}`).join("");
}

/**
 * One message per bound class that no migration creates (Cloudflare refuses such a class
 * only at its first call, with a message about `new_classes`): a line that says so, then
 * the entry to add as a snippet to paste (`tomlSnippet`). Empty when every bound class has
 * its migration. project.py's `missing_migrations` says the same.
 */
export function missingMigrations(config, configName = "wrangler.toml") {
  const { bound, migrated } = durableObjectClasses(config);
  const tag = nextMigrationTag(config);
  const boundNames = new Set(bound.map(({ className }) => className));
  const unbound = [...migrated].filter((name) => !boundNames.has(name)).sort();
  return bound
    .filter(({ className }) => !migrated.has(className))
    .map(
      ({ binding, className }) =>
        `${configName} binds ${binding} to class ${className}, which no migration creates. ` +
        `Add at the end of ${configName}:` +
        tomlSnippet("[[migrations]]", `tag = "${tag}"`, `new_sqlite_classes = ["${className}"]`) +
        renameHint(unbound, className, tag),
    );
}

/**
 * What to add instead when `className` replaces a class a migration made that nothing
 * binds now: a migration tagged `tag` renaming it, which keeps that class's objects on
 * Cloudflare (`renamed_classes`).
 */
function renameHint(unbound, className, tag) {
  if (unbound.length === 0) return "";
  const old = unbound.length === 1 ? unbound[0] : "<the old name>";
  const which = unbound.length === 1 ? unbound[0] : `one of ${unbound.join(", ")}`;
  return (
    `\nOr, if ${className} is ${which} renamed, add this instead, which keeps its objects on ` +
    "Cloudflare (the local runtime starts the renamed class with none):" +
    tomlSnippet("[[migrations]]", `tag = "${tag}"`, `renamed_classes = [{ from = "${old}", to = "${className}" }]`)
  );
}

/**
 * Folders never searched for the app's files: tools, caches, virtual environments
 * (`skipped_dirs.json`, which `dotdo dev`'s watcher reads too, so that every file shipped is
 * watched), and packages' metadata (`*.dist-info`).
 */
const SKIPPED = JSON.parse(readFileSync(new URL("../skipped_dirs.json", import.meta.url), "utf8"));
const SKIPPED_NAMES = new Set(SKIPPED.names);

/** Whether a folder named `name` is one the build never searches (`skipped_dirs.json`). */
export function isSkippedDir(name) {
  return SKIPPED_NAMES.has(name) || SKIPPED.suffixes.some((suffix) => name.endsWith(suffix));
}

/** Relative paths (sorted, "/"-separated) of the files under `root` whose name `keep` accepts. */
export function* filesUnder(root, keep, rel = "") {
  for (const name of readdirSync(path.join(root, rel)).sort()) {
    const relPath = rel ? `${rel}/${name}` : name;
    const full = path.join(root, relPath);
    const stats = statIfThere(full);
    if (stats === null) continue;
    if (stats.isDirectory()) {
      if (!isSkippedDir(name)) yield* filesUnder(root, keep, relPath);
    } else if (keep(name)) {
      yield relPath;
    }
  }
}

/**
 * The `fs.Stats` of what `file` names, or null when there is nothing to read there: a
 * symbolic link to nothing (Emacs's lock file `.#entry.py`, there while a buffer is
 * modified), one in a loop, or a file removed since its folder was listed. A walk skips
 * such an entry: it failed the build and every reload for as long as the editor held it.
 */
export function statIfThere(file) {
  try {
    return statSync(file, { throwIfNoEntry: false }) ?? null;
  } catch (error) {
    if (error.code === "ELOOP" || error.code === "ENOTDIR") return null;
    throw error;
  }
}

/** Whether `file` is strictly inside the folder `dir` (both absolute): not `dir` itself. */
export function isInside(file, dir) {
  const rel = path.relative(dir, file);
  return rel !== "" && !rel.startsWith("..") && !path.isAbsolute(rel);
}

/**
 * Where Python's import looks for the bytecode of the source at `sourcePath` (PEP 3147, no
 * `sys.pycache_prefix`): `<dir>/__pycache__/<stem>.<cacheTag>.pyc`, as
 * `importlib.util.cache_from_source` gives it. `cacheTag` is `sys.implementation.cache_tag`.
 */
export function pycPath(sourcePath, cacheTag) {
  const dir = path.posix.dirname(sourcePath);
  const stem = path.posix.basename(sourcePath, ".py");
  return `${dir}/__pycache__/${stem}.${cacheTag}.pyc`;
}

const PYC_DIGEST_BYTES = 32;

/**
 * A bytecode cache entry (build.mjs's `.dotdo/pyc/`): the pyc followed by the SHA-256 of
 * the pyc. The import system reads a pyc's header but trusts its body, so a body damaged
 * on disk (a torn copy, a bad sector, an edit) would break every boot until its source
 * changed; the digest lets the build find it and compile the file again.
 */
export function sealPyc(pyc) {
  return Buffer.concat([pyc, createHash("sha256").update(pyc).digest()]);
}

/** The pyc of a cache entry (`sealPyc`), or null when its digest does not match. */
export function openPyc(entry) {
  if (entry.length < PYC_DIGEST_BYTES) return null;
  const pyc = entry.subarray(0, entry.length - PYC_DIGEST_BYTES);
  const digest = entry.subarray(entry.length - PYC_DIGEST_BYTES);
  return createHash("sha256").update(pyc).digest().equals(digest) ? pyc : null;
}

// --- What a deploy ships from the main module's folder --------------------------------------
// `wrangler deploy` of a Python Worker uploads the files of the main module's folder that its
// module rules match, each as a module of the rule's type, and workerd puts every Python,
// Text and Data module into Python's file system (workerd `createPyodideMetadataState`;
// CompiledWasm, ESModule and CommonJS modules are not files to Python). The rules, as
// wrangler 4.86 applies them (`applyPythonConfig`, `parseRules`, `matchFiles`): the config's
// `[[rules]]`, then PythonModule for `**/*.py`, then its defaults. Any other file (a
// `genres.json` beside the code) is left out, so the local runtime leaves it out too.

/** wrangler's default module rules, after the config's own. */
export const DEFAULT_MODULE_RULES = [
  { type: "Text", globs: ["**/*.txt", "**/*.html", "**/*.sql"] },
  { type: "Data", globs: ["**/*.bin"] },
  { type: "CompiledWasm", globs: ["**/*.wasm", "**/*.wasm?module"] },
];

/** The module types a Python Worker reads as files. */
const PYTHON_FILE_TYPES = new Set(["PythonModule", "Text", "Data"]);
const RULE_TYPES = new Set(["ESModule", "CommonJS", "CompiledWasm", "Text", "Data", "PythonModule", "PythonRequirement"]);

/**
 * A glob as wrangler matches it (the `glob-to-regexp` package, 0.4.1, without `extended`):
 * `*` is any run of characters but `/` with `globstar` (`**` between slashes is any number
 * of folders) and any run at all without it; every other character is itself.
 */
export function globRegExp(glob, { globstar = false } = {}) {
  let source = "";
  for (let i = 0; i < glob.length; i += 1) {
    const c = glob[i];
    if (c !== "*") {
      source += /[/$^+.()=!|?[\]{},]/.test(c) ? `\\${c}` : c;
      continue;
    }
    const previous = glob[i - 1];
    let stars = 1;
    while (glob[i + 1] === "*") {
      stars += 1;
      i += 1;
    }
    const next = glob[i + 1];
    if (!globstar) {
      source += ".*";
    } else if (stars > 1 && (previous === "/" || previous === undefined) && (next === "/" || next === undefined)) {
      source += "((?:[^/]*(?:/|$))*)";
      i += 1; // the "/" after it
    } else {
      source += "([^/]*)";
    }
  }
  return new RegExp(`^${source}$`);
}

/**
 * The module rules a deploy of a Python Worker applies, from the config's `rules` (its
 * `[[rules]]`, raw): `{ rules, removedRules }`, each rule with its globs compiled. A rule
 * after one of the same type that is not marked `fallthrough = true` is removed, as
 * wrangler removes it (a file it matches fails the deploy: `moduleType`). Throws an Error
 * naming a malformed rule.
 */
export function moduleRules(configRules = []) {
  if (!Array.isArray(configRules)) throw new Error(`rules is a list of [[rules]] tables, not ${JSON.stringify(configRules)}`);
  for (const [i, rule] of configRules.entries()) {
    const where = `rules[${i}] (${JSON.stringify(rule)})`;
    if (typeof rule !== "object" || rule === null || !RULE_TYPES.has(rule.type)) {
      throw new Error(`${where}: type is one of ${[...RULE_TYPES].join(", ")}`);
    }
    if (!Array.isArray(rule.globs) || !rule.globs.every((glob) => typeof glob === "string")) {
      throw new Error(`${where}: globs is a list of strings`);
    }
  }
  const all = [...configRules, { type: "PythonModule", globs: ["**/*.py"] }, ...DEFAULT_MODULE_RULES];
  const completed = new Set();
  const rules = [];
  const removedRules = [];
  for (const rule of all) {
    if (completed.has(rule.type)) {
      removedRules.push(rule);
      continue;
    }
    if (rule.fallthrough !== true) completed.add(rule.type);
    rules.push(rule);
  }
  const compiled = (list, globstar) =>
    list.map((rule) => ({ rule, patterns: rule.globs.map((glob) => globRegExp(glob, { globstar })) }));
  // wrangler matches the rules with globstar, and checks the removed ones without.
  return { rules: compiled(rules, true), removedRules: compiled(removedRules, false) };
}

/**
 * The module type a deploy gives the file at `rel` (its "/"-separated path in the main
 * module's folder) under `parsed` (`moduleRules`): the first rule with a glob that matches
 * it, or null when none does (a deploy leaves it out). Throws wrangler's own error when a
 * removed rule matches it: a deploy fails on that file.
 */
export function moduleType(rel, parsed) {
  const first = parsed.rules.find(({ patterns }) => patterns.some((pattern) => pattern.test(rel)));
  const removed = parsed.removedRules.find(({ patterns }) => patterns.some((pattern) => pattern.test(rel)));
  if (removed) {
    throw new Error(
      `The file ${rel} matched a module rule in your configuration (${JSON.stringify(removed.rule)}), but was ` +
        "ignored because a previous rule with the same type was not marked as `fallthrough = true` " +
        "(wrangler deploy fails on it too)",
    );
  }
  return first ? first.rule.type : null;
}

/** Whether a deploy ships the file at `rel` as a file Python reads (`moduleType`; may throw). */
export function shipsToPython(rel, parsed) {
  return PYTHON_FILE_TYPES.has(moduleType(rel, parsed));
}

/**
 * The files of the main module's folder `mainDir` that a deploy ships as files Python reads,
 * under `parsed` (`moduleRules`): their paths relative to it, sorted, "/"-separated. Not
 * searched: the roots inside it that are not the app's (`nestedRoots`: python_modules/ beside
 * a main module at the project's top), tool and cache folders (`isSkippedDir`, which a deploy
 * would search), the files of `exclude` (the config, which wrangler leaves out), and links
 * to nothing (`statIfThere`). Throws as `moduleType` does.
 */
export function shippedAppFiles(mainDir, parsed, { nestedRoots = [], exclude = [] } = {}) {
  const skipped = new Set(exclude.map((file) => path.resolve(file)));
  const found = [];
  const walk = (rel) => {
    for (const name of readdirSync(path.join(mainDir, rel)).sort()) {
      const relPath = rel ? `${rel}/${name}` : name;
      const full = path.join(mainDir, relPath);
      const stats = statIfThere(full);
      if (stats === null) continue;
      if (stats.isDirectory()) {
        const nested = nestedRoots.some((root) => path.resolve(root) === full);
        if (!nested && !isSkippedDir(name)) walk(relPath);
      } else if (!skipped.has(full) && shipsToPython(relPath, parsed)) {
        found.push(relPath);
      }
    }
  };
  walk("");
  return found;
}

/**
 * Whether a file named `name` left out of a deploy is worth a hint: not an editor's or a
 * tool's (a dot file such as a swap file or Emacs's lock, a `~` backup, a `#...#`
 * autosave, bytecode, typing stubs and markers).
 */
export function worthShipping(name) {
  return !/^[.#]|~$|\.(pyc|pyi)$/.test(name) && name !== "py.typed";
}

/**
 * What to say of the file at `rel` of the main module's folder, which a deploy leaves out:
 * why, and the `[[rules]]` entry that ships it (Data: its bytes as they are; `fallthrough`
 * keeps wrangler's default Data rule for `*.bin`).
 */
export function notShippedHint(rel) {
  const extension = path.posix.extname(rel);
  const glob = extension ? `**/*${extension}` : rel;
  return (
    `${rel} is not shipped: no module rule of the config matches it (by default a deploy ships ` +
    "*.py, *.txt, *.html, *.sql and *.bin from the main module's folder), so a deploy leaves it out and " +
    "the local runtime does too. To ship it, add to wrangler.toml:" +
    tomlSnippet("[[rules]]", 'type = "Data"', `globs = ["${glob}"]`, "fallthrough = true")
  );
}

/** Non-Python files of installed packages that travel as package data (tzdata's zone files). */
export function isPackageData(name) {
  return !/\.(py|pyc|pyi|pth)$/.test(name) && name !== "py.typed" && !name.startsWith(".");
}

/** Parses `NAME=VALUE` pairs into an object; throws naming the first malformed one. */
export function parseVars(pairs) {
  const vars = {};
  for (const pair of pairs) {
    const eq = pair.indexOf("=");
    if (eq <= 0) throw new Error(`--var takes NAME=VALUE (got ${JSON.stringify(pair)})`);
    vars[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return vars;
}

/**
 * The oldest compatibility date the local runtime serves Python on: on 2024-04-02 and
 * before, the host's boot fails inside workerd ("TypeError: ..."), measured by starting a
 * `dotdo new` app on each date (2024-04-03 and after start).
 */
export const OLDEST_DATE = "2024-04-03";

/** The date from which workerd enables `WeakRef` and `FinalizationRegistry` by default (its `enable_weak_ref` flag). */
export const WEAK_REF_DEFAULT = "2025-05-05";

/**
 * The compatibility flags the generated host runs with: the config's, less `python_workers`
 * (the host runs Pyodide as a JavaScript module), and `enable_weak_ref` for a date before
 * `WEAK_REF_DEFAULT`: Pyodide's FFI needs `FinalizationRegistry`, and without it a start on
 * an older date failed inside the host ("FinalizationRegistry is not defined"). workerd
 * refuses the flag named on a date where it is already the default, so only then. A config
 * that names `disable_weak_ref` is refused by the build (build.mjs).
 */
export function hostFlags(config) {
  const flags = (config.compatibility_flags ?? []).filter((flag) => !flag.startsWith("python_workers"));
  const date = config.compatibility_date;
  const named = flags.includes("enable_weak_ref") || flags.includes("disable_weak_ref");
  if (typeof date === "string" && date < WEAK_REF_DEFAULT && !named) flags.push("enable_weak_ref");
  return flags;
}

const NEWER_DATE = /This Worker requires compatibility date "([^"]+)", but the newest date supported by this server binary is "([^"]+)"/;

/**
 * The refusal of a compatibility date newer than the bundled workerd serves, in one line, from
 * a line of output (workerd's own words, which wrangler prints as an error and follows with
 * "The Workers runtime failed to start"); null for any other line. Said before the start only
 * by workerd: the `workerd` package's `compatibilityDate` (its release date) is older than the
 * newest date its binary serves, so a check against it refused dates that start.
 */
export function newerDateRefusal(text, configName = "wrangler.toml") {
  const found = NEWER_DATE.exec(text);
  if (found === null) return null;
  const [, date, newest] = found;
  return (
    `${configName}: compatibility_date "${date}" is newer than ${newest}, the newest the local ` +
    `runtime's workerd serves: use ${newest} or an earlier one`
  );
}

/**
 * Why wrangler's dev stack did not start, in one line, from what it threw or reported: the
 * innermost cause's message (its own is "An error occurred when starting the server", its
 * cause the reason), or an error event's (`{ reason, cause }`). A config it refuses is
 * reported as `Processing .dotdo/host/wrangler.json configuration:` and one `- ` line per
 * problem: the problems are joined with "; " after `configName` (the config the user wrote,
 * which the generated one copies), as is a compatibility date in the future.
 */
export function startFailure(error, configName = "wrangler.toml") {
  let found = error;
  while (found?.cause instanceof Error) found = found.cause;
  let message = found instanceof Error ? found.message : String(found?.reason ?? found);
  const header = /^Processing [^\n]* configuration:\n/.exec(message);
  if (header !== null) {
    const problems = message
      .slice(header[0].length)
      .split(/\n\s*- /)
      .map((problem) => problem.replace(/^\s*- /, "").replace(/\s+/g, " ").trim().replace(/\.$/, ""))
      .filter(Boolean);
    message = `${configName}: ${problems.join("; ")}`;
  }
  // miniflare's words for a date past today's (UTC), which it refuses.
  const future = /^Compatibility date ("[^"]*") is in the future and unsupported$/.exec(message);
  if (future !== null) message = `${configName}: compatibility_date ${future[1]} is in the future: use today's or an earlier one`;
  return message.replace(/\s+/g, " ").trim();
}

/**
 * A promise rejected with the first error `events` (wrangler's DevEnv, an EventEmitter)
 * reports that stops the app's worker from running: a config miniflare refuses (wrangler
 * re-emits it as an Error: a compatibility date in the future) or a failed load of the local
 * runtime (an event of its LocalRuntimeController). Never resolved; marked handled, so that
 * one nobody waits for any more is no unhandled rejection. Such a start is nothing but this
 * event: the proxy's `ready` settles, or not, and the worker behind it never answers.
 * Other error events (a request the proxy failed to forward) are no failure of the start.
 */
export function startFailed(events) {
  const failed = new Promise((_resolve, reject) => {
    const onError = (event) => {
      if (!(event instanceof Error) && event?.source !== "LocalRuntimeController") return;
      events.off("error", onError);
      reject(event instanceof Error ? event : new Error(String(event.reason), { cause: event.cause }));
    };
    events.on("error", onError);
  });
  failed.catch(() => {});
  return failed;
}

/**
 * The first answer of repeated calls of `send(signal)`: `send` is called at once and again
 * every `everyMs` milliseconds while none has answered, each with an AbortSignal of its own,
 * aborted once the result is known: the first value, or an error when no call is still out
 * (a call failing while an earlier one is out ends nothing). Rejects with an Error when
 * nothing is known within `totalMs` milliseconds. For an
 * idempotent request that a proxy may park until its next request arrives (the server's
 * boot request, see server.mjs `warm`).
 */
export function firstAnswer(send, { everyMs, totalMs }) {
  return new Promise((resolve, reject) => {
    const controllers = [];
    let settled = false;
    const finish = (settle, result) => {
      if (settled) return;
      settled = true;
      clearInterval(again);
      clearTimeout(deadline);
      for (const controller of controllers) controller.abort();
      settle(result);
    };
    let pending = 0;
    const attempt = () => {
      const controller = new AbortController();
      controllers.push(controller);
      pending += 1;
      Promise.resolve()
        .then(() => send(controller.signal))
        .then(
          (value) => finish(resolve, value),
          (error) => {
            // A copy that fails while an earlier one is still out ends nothing: that one
            // may yet answer. Only when none is out is the failure the answer.
            pending -= 1;
            if (pending === 0) finish(reject, error);
          },
        );
    };
    const again = setInterval(attempt, everyMs);
    const deadline = setTimeout(
      () => finish(reject, new Error(`no answer within ${totalMs / 1000} s (${controllers.length} requests)`)),
      totalMs,
    );
    attempt();
  });
}

/**
 * The dev server's `restart` and `reload` commands, run one after the other, those waiting
 * merged into one: a reload or a restart reads the files when it runs, so one that waits
 * serves every save made before it began (a burst of ten saves reloaded the same files ten
 * times, each booting an interpreter). `run({ restart, paths })` runs a command: `restart`
 * when any merged command was a restart (or a reload whose paths are not an array), else
 * `paths` holds every merged reload's paths, each once, in the order saved (and a restart's,
 * which only name the files that changed).
 * `push(command)` takes `{ restart: true, paths? }` or `{ paths }`; it returns the promise of the
 * run it joined. `idle` is the promise of the last run. A run or task that throws is given
 * to `failed` and the queue goes on: a rejection left in `idle` ran no later command, and
 * ended the dev server as an unhandled rejection.
 */
export class CommandQueue {
  constructor(run, failed = (error) => console.error(`dotdo: ${error.stack ?? error}`)) {
    this.run = run;
    this.failed = failed;
    this.waiting = null; // the merged command not yet begun
    this.idle = Promise.resolve();
  }

  push(command) {
    if (this.waiting === null) {
      const merged = { restart: false, paths: [] };
      this.waiting = merged;
      this.idle = this.idle
        .then(() => {
          this.waiting = null; // from here a save queues a command of its own
          return this.run(merged);
        })
        .catch(this.failed);
    }
    const merged = this.waiting;
    if (command.restart || !Array.isArray(command.paths)) merged.restart = true;
    if (Array.isArray(command.paths)) for (const file of command.paths) if (!merged.paths.includes(file)) merged.paths.push(file);
    return this.idle;
  }

  // Runs `task` after every command queued so far (the first start, a stop).
  after(task) {
    this.idle = this.idle.then(task).catch(this.failed);
    return this.idle;
  }
}

const FILES_NAMED = 3;

/**
 * The files of `paths` (absolute) that a save changed, as the dev server's "sources changed"
 * line names them: relative to `root`, the first `FILES_NAMED` and how many more (a
 * re-vendoring changes hundreds), in parentheses after a space; "" for none.
 */
export function changedFilesSaid(paths, root) {
  if (!Array.isArray(paths) || paths.length === 0) return "";
  const named = paths.slice(0, FILES_NAMED).map((file) => path.relative(root, file) || file);
  const more = paths.length - named.length;
  return ` (${named.join(", ")}${more > 0 ? ` and ${more} more` : ""})`;
}

/**
 * A digest (hex) of what a restart of the local runtime builds from, taken without building:
 * the bytes of each file of `files` (one not there counts as absent: the config, `.dev.vars`,
 * `pyproject.toml`), and for each folder of `trees` (python_modules/, the main module's
 * folder, the extra Python roots) its path and, for every file under it, its path, size,
 * inode and modification time in ns, so that a save, a file renamed into place and a
 * re-vendoring all change it with no file read (as devloop.py's `tree_fingerprint` of
 * python_modules/). Not walked: the folders the build never searches and the watcher never
 * watches (`isSkippedDir`), and those `skip(absolutePath)` accepts (the state, the generated
 * host, a root inside another, walked as its own). Equal digests: nothing the build reads
 * changed.
 */
export function restartInputs({ files = [], trees = [], skip = () => false }) {
  const digest = createHash("sha256");
  for (const file of files) {
    let bytes = null;
    try {
      bytes = readFileSync(file);
    } catch (error) {
      if (error.code !== "ENOENT" && error.code !== "ENOTDIR" && error.code !== "ELOOP") throw error;
    }
    digest.update(`file ${file} ${bytes === null ? "absent" : bytes.length}\n`);
    if (bytes !== null) digest.update(bytes);
  }
  const walk = (dir) => {
    let names;
    try {
      names = readdirSync(dir).sort();
    } catch (error) {
      if (error.code === "ENOENT" || error.code === "ENOTDIR") return digest.update(`absent ${dir}\n`);
      throw error;
    }
    for (const name of names) {
      const full = path.join(dir, name);
      let stats;
      try {
        stats = statSync(full, { bigint: true, throwIfNoEntry: false });
      } catch (error) {
        if (error.code === "ELOOP" || error.code === "ENOTDIR") continue; // a link to nothing, as the build
        throw error;
      }
      if (stats === undefined) continue; // removed since its folder was listed
      if (stats.isDirectory()) {
        if (!isSkippedDir(name) && !skip(full)) walk(full);
      } else {
        digest.update(`${full} ${stats.size} ${stats.ino} ${stats.mtimeNs}\n`);
      }
    }
  };
  for (const tree of trees) {
    digest.update(`tree ${tree}\n`);
    walk(tree);
  }
  return digest.digest("hex");
}
