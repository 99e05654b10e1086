// Compiles Python sources to bytecode with Pyodide's own Python, under Node, for the
// local runtime's host bundle (build.mjs): Pyodide inside workerd then loads each
// module from its .pyc instead of compiling its source under wasm on every boot.
//
//   node compile-pyc.mjs --node-modules DIR < jobs.json
//
// jobs.json is `[{ "path": REAL, "source": FILE, "out": FILE }, ...]`: `path` is where
// the source lives in the runtime's file system (it becomes the code's co_filename, so
// tracebacks name the real file), `source` where its text is read from here, `out`
// where the .pyc goes. Each .pyc is a PEP 552 unchecked-hash pyc: valid without
// comparing the source's mtime, which workerd's in-memory file system does not keep.
// It is written sealed with its SHA-256 (lib.mjs `sealPyc`): build.mjs checks the digest
// when it reads the cache and compiles a damaged entry again.
// A source that does not compile (a SyntaxError) gets `out + ".failed"` holding the
// error instead, so that the build ships the source, whose import reports the error
// as it always did, and does not try again for the same content.
//
// Prints one line of JSON: `{ "cacheTag": "cpython-313", "compiled": n, "failed": n }`.
// Every file is written beside its target and renamed into place, so a build running at
// the same time sees a whole .pyc or none.

import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { parseArgs } from "node:util";

import { sealPyc } from "./lib.mjs";

const { values: args } = parseArgs({
  options: { "node-modules": { type: "string", default: path.join(process.cwd(), "node_modules") } },
});
const jobs = JSON.parse(readFileSync(0, "utf8"));
const require = createRequire(path.join(path.resolve(args["node-modules"]), "..", "package.json"));
const pyodidePkg = path.dirname(require.resolve("pyodide/package.json"));
const { loadPyodide } = require("pyodide");
const pyodide = await loadPyodide({ indexURL: pyodidePkg + "/", stdout: () => {}, stderr: () => {} });

const compileOne = pyodide.runPython(`
import py_compile

def compile_one(source, cfile, dfile):
    try:
        py_compile.compile(
            source, cfile=cfile, dfile=dfile, doraise=True,
            invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
        )
    except py_compile.PyCompileError as error:
        return error.msg.strip().splitlines()[-1]
    return None

compile_one
`);
const cacheTag = pyodide.runPython("import sys; sys.implementation.cache_tag");

function writeAtomically(file, data) {
  const partial = `${file}.${process.pid}.partial`;
  writeFileSync(partial, data);
  renameSync(partial, file);
}

const SOURCE = "/tmp/dotdo-compile/source.py";
const CFILE = "/tmp/dotdo-compile/source.pyc";
pyodide.FS.mkdirTree("/tmp/dotdo-compile");
let compiled = 0;
let failed = 0;
for (const job of jobs) {
  pyodide.FS.writeFile(SOURCE, readFileSync(job.source));
  const error = compileOne(SOURCE, CFILE, job.path);
  if (error) {
    writeAtomically(`${job.out}.failed`, `${error}\n`);
    failed++;
  } else {
    writeAtomically(job.out, sealPyc(Buffer.from(pyodide.FS.readFile(CFILE))));
    pyodide.FS.unlink(CFILE);
    compiled++;
  }
}
console.log(JSON.stringify({ cacheTag, compiled, failed }));
// Everything is written: do not let a straggling Pyodide timer decide the exit status.
process.exit(0);
