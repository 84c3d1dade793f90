// Dashboard first load in headless Chromium, run by bench/frontend_budget.py (which starts the
// service with data.csv loaded): for each run a fresh browser context (empty cache) opens /,
// and the time is read when every widget has left its loading state and every chart has drawn.
// Also counts the JavaScript the browser fetched for that first load (bytes as served).
// Prints one JSON line.
import { chromium } from "@playwright/test";

const baseURL = process.env.BASE_URL;
const token = process.env.ADMIN_TOKEN ?? "";
const runs = Number.parseInt(process.env.RUNS ?? "5", 10);
if (!baseURL) throw new Error("BASE_URL is not set: run bench/frontend_budget.py");

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
});
const results = [];
try {
  for (let run = 0; run < runs; run += 1) {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: "en-US" });
    await context.addInitScript((value) => window.sessionStorage.setItem("sales-ingest.token", value), token);
    const page = await context.newPage();
    const scripts = new Set();
    page.on("response", (response) => {
      if (response.request().resourceType() === "script") scripts.add(new URL(response.url()).pathname);
    });
    await page.goto(`${baseURL}/`);
    await page.waitForFunction(
      () => {
        const widgets = [...document.querySelectorAll("[data-widget]")];
        const charts = [...document.querySelectorAll(".chart")];
        return (
          widgets.length >= 12 &&
          widgets.every((w) => w.getAttribute("data-state") === "ready") &&
          charts.length >= 10 &&
          charts.every((c) => c.querySelector("svg.recharts-surface .recharts-layer") !== null)
        );
      },
      undefined,
      { polling: "raf", timeout: 30_000 },
    );
    const renderedMs = await page.evaluate(() => performance.now());
    results.push({ renderedMs, scripts: [...scripts].sort() });
    await context.close();
  }
} finally {
  await browser.close();
}
console.log(JSON.stringify({ runs: results }));
