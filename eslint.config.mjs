// eslint for the local runtime's JavaScript (src/dotdo/localrt/js), the JavaScript front
// (front/worker.js), the scripts and the JavaScript tests. build.mjs, server.mjs,
// record-wasm.mjs and the scripts run under Node; host.mjs and the front run inside workerd
// (web platform globals plus the `cloudflare:*` modules).
import js from "@eslint/js";
import globals from "globals";

export default [
  { ignores: ["**/.dotdo/**", "**/.wrangler/**", "**/node_modules/**", "**/python_modules/**", "site/**"] },
  js.configs.recommended,
  {
    files: [
      "src/dotdo/localrt/js/**/*.mjs",
      "tests/javascript/**/*.mjs",
      "tests/node/**/*.mjs",
      "examples/**/*.mjs",
      "scripts/**/*.mjs",
      "front/**/*.js",
    ],
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
    files: ["src/dotdo/localrt/js/host.mjs", "front/**/*.js"],
    languageOptions: { globals: { ...globals.serviceworker } },
  },
];
