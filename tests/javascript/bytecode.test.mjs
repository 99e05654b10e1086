// The host bundle's precompiled Python (build.mjs, compile-pyc.mjs), under node's test runner:
//   node --test tests/javascript/
// That Pyodide inside workerd loads the modules from these pycs, and that their tracebacks
// name the real files, is tested through the runtime (tests/integration/test_local_runtime.py).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

import { openPyc, pycPath, sealPyc } from "../../src/dotdo/localrt/js/lib.mjs";
import { readHost, tinyProject } from "./fixtures.mjs";

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");

test("a source's bytecode path is PEP 3147's __pycache__/<stem>.<tag>.pyc", () => {
  assert.equal(pycPath("/app/python_modules/pkg/mod.py", "cpython-313"), "/app/python_modules/pkg/__pycache__/mod.cpython-313.pyc");
  assert.equal(pycPath("/a/__init__.py", "cpython-313"), "/a/__pycache__/__init__.cpython-313.pyc");
});

function project() {
  return tinyProject("dotdo-pyc-", {
    "python_modules/workers/__init__.py": "VALUE = 1\n",
    "python_modules/helper.py": "def helper():\n    return 2\n",
  });
}

function build(root) {
  const result = spawnSync(
    process.execPath,
    [path.join(repo, "src", "dotdo", "localrt", "js", "build.mjs"), "--project", root, "--node-modules", path.join(repo, "node_modules")],
    { encoding: "utf8" },
  );
  assert.equal(result.status, 0, result.stderr);
  const { host, index, blob } = readHost(root);
  // What host.mjs writes into Python's file system: path -> content.
  const files = new Map(index.map(([file, offset, length]) => [file, blob.subarray(offset, offset + length)]));
  const compiled = /compiling (\d+) Python files/.exec(result.stderr);
  return { files, host, compiled: compiled ? Number(compiled[1]) : 0 };
}

test("python_modules/ and the host's Python ship as unchecked-hash pycs, the main folder as source", () => {
  const root = project();
  const first = build(root);
  assert.ok(first.compiled >= 3, `compiled ${first.compiled}`); // workers, helper, the host's own
  const helperPyc = path.join(root, "python_modules", "__pycache__", "helper.cpython-313.pyc");
  assert.ok(first.files.has(helperPyc), [...first.files.keys()].join("\n"));
  assert.ok(first.files.has(pycPath(path.join(repo, "src", "dotdo", "localrt", "python", "_dotdo_host.py"), "cpython-313")));
  assert.ok(!first.files.has(path.join(root, "src", "__pycache__", "entry.cpython-313.pyc"))); // the user's folder stays source
  assert.equal(first.files.get(path.join(root, "src", "entry.py")).toString(), "class App:\n    pass\n");
  assert.ok(!existsSync(path.join(first.host, "py", "1"))); // one Data module, no file of its own
  const cache = path.join(root, ".dotdo", "pyc", "0.28.2");
  const pycs = [...first.files].filter(([file]) => file.endsWith(".pyc")).map(([, content]) => content);
  assert.ok(pycs.length >= 3);
  for (const pyc of pycs) {
    assert.equal(pyc.readUInt16LE(0), 3571); // CPython 3.13's magic number, as Pyodide 0.28's
    assert.equal(pyc.readUInt32LE(4), 0b01); // PEP 552: hash-based, not checked against the source
  }
  assert.ok(pycs.some((pyc) => pyc.includes(Buffer.from(path.join(root, "python_modules", "helper.py")))));
  // Every compiled file is cached as a pyc: the host's own Python all compiles.
  const cached = readdirSync(cache);
  assert.equal(cached.filter((name) => name.endsWith(".pyc")).length, first.compiled);
  assert.equal(cached.filter((name) => name.endsWith(".failed")).length, 0);
  // The wasm recorder's exercise runs under Node only: no app's host bundle carries it.
  assert.deepEqual([...first.files.keys()].filter((file) => path.basename(file).startsWith("exercise.")), []);

  // A save of the user's own file: every pyc is cached, Pyodide is not booted again.
  writeFileSync(path.join(root, "src", "entry.py"), "class App:\n    pass\n# saved\n");
  assert.equal(build(root).compiled, 0);

  // A changed vendored file gets a new key: only it is compiled, its stale pyc is never used.
  writeFileSync(path.join(root, "python_modules", "helper.py"), "def helper():\n    return 3\n");
  const changed = build(root);
  assert.equal(changed.compiled, 1);
  const pyc = changed.files.get(helperPyc);
  const helperSource = Buffer.from(path.join(root, "python_modules", "helper.py"));
  const stale = pycs.find((old) => old.includes(helperSource));
  assert.ok(pyc.includes(helperSource));
  assert.notDeepEqual(pyc.subarray(8, 16), stale.subarray(8, 16)); // the new content's hash
});

test("a vendored file that does not compile ships as source alone, and is not compiled again", () => {
  const root = project();
  build(root);
  writeFileSync(path.join(root, "python_modules", "helper.py"), "def helper(:\n    return 2\n");
  const broken = build(root);
  assert.equal(broken.compiled, 1);
  assert.ok(!broken.files.has(path.join(root, "python_modules", "__pycache__", "helper.cpython-313.pyc")));
  assert.ok(broken.files.has(path.join(root, "python_modules", "helper.py")));
  const cache = path.join(root, ".dotdo", "pyc", "0.28.2");
  const failed = readdirSync(cache).filter((name) => name.endsWith(".failed"));
  assert.equal(failed.length, 1); // helper.py
  for (const name of failed) assert.match(readFileSync(path.join(cache, name), "utf8"), /SyntaxError/);
  assert.equal(existsSync(path.join(root, "python_modules", "__pycache__")), false); // nothing written into the project
  assert.equal(build(root).compiled, 0);
});

test("a cache entry holds its pyc's SHA-256: a damaged byte, a cut or an unsealed pyc does not open", () => {
  const pyc = Buffer.from("\xf3\x0d\x0d\x0a\x01\x00\x00\x00 a code object", "latin1");
  assert.deepEqual(openPyc(sealPyc(pyc)), pyc);
  const damaged = sealPyc(pyc);
  damaged[20] ^= 0x01;
  assert.equal(openPyc(damaged), null);
  assert.equal(openPyc(sealPyc(pyc).subarray(0, pyc.length)), null);
  assert.equal(openPyc(pyc), null); // an entry of the format before the digest: compiled again
  assert.equal(openPyc(Buffer.alloc(0)), null);
});

test("a cached pyc whose body was damaged (header intact) is compiled again, never shipped", () => {
  const root = project();
  const first = build(root);
  const helperPyc = path.join(root, "python_modules", "__pycache__", "helper.cpython-313.pyc");
  const good = first.files.get(helperPyc);
  const cache = path.join(root, ".dotdo", "pyc", "0.28.2");
  const helperSource = Buffer.from(path.join(root, "python_modules", "helper.py"));
  const entry = readdirSync(cache)
    .map((name) => path.join(cache, name))
    .find((file) => file.endsWith(".pyc") && readFileSync(file).includes(helperSource));
  const damaged = readFileSync(entry);
  damaged[16] ^= 0xff; // the marshalled code object's first byte; the 16-byte header is intact
  writeFileSync(entry, damaged);

  const rebuilt = build(root);
  assert.equal(rebuilt.compiled, 1); // the damaged entry alone
  assert.deepEqual(rebuilt.files.get(helperPyc), good);
  assert.equal(build(root).compiled, 0); // the entry written again is sound
});
