// A tiny Python Worker project for the local runtime's build tests: one Durable Object class,
// a stand-in `workers` SDK in python_modules/, and whatever extra files a test names.
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

export function tinyProject(prefix, files = {}) {
  const root = mkdtempSync(path.join(tmpdir(), prefix));
  const all = {
    "src/entry.py": "class App:\n    pass\n",
    "python_modules/workers/__init__.py": "",
    "wrangler.toml": [
      'name = "app"',
      'main = "src/entry.py"',
      'compatibility_date = "2025-08-01"',
      'compatibility_flags = ["python_workers"]',
      "[[durable_objects.bindings]]",
      'name = "APP"',
      'class_name = "App"',
      "[[migrations]]",
      'tag = "v1"',
      'new_sqlite_classes = ["App"]',
      "",
    ].join("\n"),
    ...files,
  };
  for (const [name, text] of Object.entries(all)) {
    mkdirSync(path.dirname(path.join(root, name)), { recursive: true });
    writeFileSync(path.join(root, name), text);
  }
  return root;
}

// The generated host of a built project: its `manifest.mjs` text, the index of the Python
// blob (`[path, offset, length]`), how many of its first entries are the app's sources, and
// the blob itself.
export function readHost(project) {
  const host = path.join(project, ".dotdo", "host");
  const manifest = readFileSync(path.join(host, "manifest.mjs"), "utf8");
  const index = JSON.parse(/^export const pythonFiles = (.*);$/m.exec(manifest)[1]);
  const appFiles = Number(/^export const appFiles = (\d+);$/m.exec(manifest)?.[1]);
  const blob = readFileSync(path.join(host, "py", "python.bin"));
  return { host, manifest, index, appFiles, blob };
}
