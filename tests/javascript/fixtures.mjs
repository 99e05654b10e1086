// A tiny Python Worker project for the local runtime's build tests: one Durable Object class,
// a stand-in `workers` SDK in python_modules/, and whatever extra files a test names.
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
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
