// End to end against a real service: tests/e2e/test_frontend_browser.py starts uvicorn on a fresh
// SQLite database, writes an admin token, and runs this suite with BASE_URL and ADMIN_TOKEN set.
// Debian's Chromium (browsers cannot be downloaded here); screenshots of every page go to
// test-results/screenshots.
import { defineConfig } from "@playwright/test";

const baseURL = process.env.BASE_URL;
if (!baseURL) throw new Error("BASE_URL is not set: run this suite through tests/e2e/test_frontend_browser.py");

export default defineConfig({
  testDir: "e2e",
  outputDir: "test-results/artifacts",
  fullyParallel: false,
  workers: 1,
  retries: 0,
  timeout: 90_000,
  expect: { timeout: 20_000 },
  reporter: [["list"]],
  use: {
    baseURL,
    viewport: { width: 1280, height: 900 },
    locale: "en-US",
    screenshot: "only-on-failure",
    trace: "off",
    launchOptions: {
      executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
      args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
    },
  },
});
