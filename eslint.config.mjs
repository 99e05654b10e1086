// eslint for the local runtime's JavaScript (src/dotdo/localrt/js) and the JavaScript tests.
// build.mjs, server.mjs and record-wasm.mjs run under Node; host.mjs runs inside workerd
// (web platform globals plus the `cloudflare:*` modules).
import js from "@eslint/js";
import globals from "globals";

export default [
  { ignores: ["**/.dotdo/**", "**/.wrangler/**", "**/node_modules/**", "**/python_modules/**", "site/**"] },
  js.configs.recommended,
  {
    files: ["src/dotdo/localrt/js/**/*.mjs", "tests/javascript/**/*.mjs", "tests/node/**/*.mjs", "examples/**/*.mjs"],
    languageOptions: {
      ecmaVersion: 2024,
      sourceType: "module",
      globals: { ...globals.node },
    },
    rules: {
      "no-unused-vars": ["error", { argsIgnorePattern: "^_" }],
    },
  },
  {
    files: ["src/dotdo/localrt/js/host.mjs"],
    languageOptions: { globals: { ...globals.serviceworker } },
  },
];
