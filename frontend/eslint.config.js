// ESLint (flat config): typescript-eslint's recommended rules and React's hooks rules
// over the app, its tests, the Playwright suite and the config files. `npm run lint` runs it with
// `prettier --check`; generated code (src/gql, src/api/openapi.ts) and builds are not linted.
import js from "@eslint/js";
import reactHooks from "eslint-plugin-react-hooks";
import globals from "globals";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["dist", "node_modules", "test-results", "src/gql", "src/api/openapi.ts"] },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    files: ["src/**/*.{ts,tsx}"],
    languageOptions: { globals: globals.browser },
    plugins: { "react-hooks": reactHooks },
    rules: reactHooks.configs.recommended.rules,
  },
  {
    files: ["e2e/**/*.ts", "*.config.ts", "*.config.js", "codegen.ts", "scripts/**/*.mjs"],
    languageOptions: { globals: globals.node },
  },
  {
    // Playwright runs these functions in the page (page.waitForFunction, addInitScript).
    files: ["e2e/**/*.ts", "scripts/**/*.mjs"],
    languageOptions: { globals: { ...globals.node, ...globals.browser } },
  },
);
