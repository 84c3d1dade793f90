// Vite builds the app into dist/ (served by backend/api/frontend.py at /); `npm run dev` proxies
// the API to the service on 127.0.0.1:8000 (make dev-frontend). Vitest reads the same file.
import react from "@vitejs/plugin-react";
import { defineConfig } from "vitest/config";

const API = process.env.API_URL ?? "http://127.0.0.1:8000";

export default defineConfig({
  plugins: [react()],
  server: {
    host: "127.0.0.1",
    port: 5173,
    proxy: {
      "/graphql": { target: API, ws: true },
      "/api": { target: API },
      "/docs": { target: API },
      "/redoc": { target: API },
      "/healthz": { target: API },
    },
  },
  build: {
    outDir: "dist",
    assetsDir: "assets",
    sourcemap: false,
    chunkSizeWarningLimit: 600,
  },
  test: {
    environment: "jsdom",
    include: ["src/**/*.test.{ts,tsx}"],
    setupFiles: ["src/test/setup.ts"],
    css: false,
    testTimeout: 20_000, // a test waits up to 5 s per step (src/test/setup.ts)
  },
});
