// Pure helpers of the local runtime's build (build.mjs), kept apart so that
// they can be tested under node's own test runner without a project on disk.

import { createHash } from "node:crypto";
import { readdirSync, statSync } from "node:fs";
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
 * One line per bound class that no migration creates, naming the entry to add
 * (Cloudflare refuses such a class only at its first call, with a message
 * about `new_classes`). Empty when every bound class has its migration.
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
        `${configName} binds ${binding} to class ${className}, which no migration creates: add ` +
        `[[migrations]] tag = "${tag}" new_sqlite_classes = ["${className}"]` +
        renameHint(unbound, className),
    );
}

/**
 * What to add instead when `className` replaces a class a migration made that nothing
 * binds now: a rename keeps that class's objects on Cloudflare (`renamed_classes`).
 */
function renameHint(unbound, className) {
  if (unbound.length === 0) return "";
  const old = unbound.length === 1 ? unbound[0] : "<the old name>";
  const which = unbound.length === 1 ? unbound[0] : `one of ${unbound.join(", ")}`;
  return (
    `; or, if ${className} is ${which} renamed: renamed_classes = [{ from = "${old}", to = "${className}" }], ` +
    "which keeps its objects on Cloudflare (the local runtime starts the renamed class with none)"
  );
}

/** Folders never searched for Python sources: caches, metadata, tool and build state. */
export const SKIPPED_DIRS = new Set([
  "__pycache__",
  "node_modules",
  ".venv",
  ".git",
  ".dotdo",
  ".wrangler",
  ".pytest_cache",
  ".mypy_cache",
  ".ruff_cache",
]);

/** Relative paths (sorted, "/"-separated) of the files under `root` whose name `keep` accepts. */
export function* filesUnder(root, keep, rel = "") {
  for (const name of readdirSync(path.join(root, rel)).sort()) {
    const relPath = rel ? `${rel}/${name}` : name;
    const full = path.join(root, relPath);
    if (statSync(full).isDirectory()) {
      if (!SKIPPED_DIRS.has(name) && !name.endsWith(".dist-info")) yield* filesUnder(root, keep, relPath);
    } else if (keep(name)) {
      yield relPath;
    }
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
 * `paths` holds every merged reload's paths, each once, in the order saved.
 * `push(command)` takes `{ restart: true }` or `{ paths }`; it returns the promise of the
 * run it joined. `idle` is the promise of the last run.
 */
export class CommandQueue {
  constructor(run) {
    this.run = run;
    this.waiting = null; // the merged command not yet begun
    this.idle = Promise.resolve();
  }

  push(command) {
    if (this.waiting === null) {
      const merged = { restart: false, paths: [] };
      this.waiting = merged;
      this.idle = this.idle.then(() => {
        this.waiting = null; // from here a save queues a command of its own
        return this.run(merged);
      });
    }
    const merged = this.waiting;
    if (command.restart || !Array.isArray(command.paths)) merged.restart = true;
    else for (const file of command.paths) if (!merged.paths.includes(file)) merged.paths.push(file);
    return this.idle;
  }

  // Runs `task` after every command queued so far (the first start, a stop).
  after(task) {
    this.idle = this.idle.then(task);
    return this.idle;
  }
}
