// Issue 25, item 9: the Status and Performance pages in plain words. The suite's server runs
// without Druid (tests/e2e/test_frontend_browser.py).
import fs from "node:fs";

import { DATA_CSV, TOKEN, expect, expectAccessible, screenshot, test } from "./fixtures";
import type { Page } from "@playwright/test";

const admin = { Authorization: `Bearer ${TOKEN}` };

/** data.csv in the sales datasource, loaded (or found loaded already: a duplicate). */
async function salesLoaded(page: Page): Promise<void> {
  const sent = await page.request.post("/api/ingest/upload", {
    headers: admin,
    multipart: {
      datasource_name: "sales",
      file: { name: "data.csv", mimeType: "text/csv", buffer: fs.readFileSync(DATA_CSV) },
    },
  });
  expect(sent.ok(), await sent.text()).toBe(true);
  const { task_id: taskId } = (await sent.json()) as { task_id: string };
  await expect
    .poll(
      async () =>
        (
          (await (await page.request.get(`/api/ingest/status/${taskId}`, { headers: admin })).json()) as {
            status: string;
          }
        ).status,
    )
    .toBe("succeeded");
}

/** Nothing wider than the window: no sideways scrolling. */
async function expectNoSidewaysScroll(page: Page): Promise<void> {
  const widths = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
  expect(widths[0]).toBeLessThanOrEqual(widths[1]);
}

async function atBothWidths(page: Page, name: string, ready: () => Promise<void>): Promise<void> {
  for (const width of [1400, 390]) {
    await page.setViewportSize({ width, height: 900 });
    await ready();
    await expectNoSidewaysScroll(page);
    await screenshot(page, `${name}-${width}`);
    await expectAccessible(page);
  }
}

test("the status page names the engine and says why Druid cannot be chosen", async ({ signedIn: page }) => {
  await page.goto("/status");
  await expect(page.getByTestId("engine")).toHaveText("embedded (Polars)");
  await expect(page.getByText("Engine: embedded (Polars).")).toBeVisible();
  await expect(page.getByText(/sigma/i)).toHaveCount(0);
  await expect(page.getByText(/standalone mode|served by embedded/i)).toHaveCount(0);
  const druid = page.getByRole("button", { name: "Use Apache Druid" });
  await expect(druid).toBeDisabled();
  await expect(druid).toHaveAccessibleDescription(/Apache Druid cannot be chosen: .*DRUID_URL is not set/);
  await expect(page.getByRole("heading", { name: "Engine", exact: true })).toBeVisible();
  // Capabilities in sentences, not internal names.
  const capabilities = page.getByRole("table", { name: "Capabilities" });
  await expect(capabilities).toContainText("Files can be uploaded as CSV, TSV, Excel");
  await expect(capabilities).not.toContainText("druid_sql");
  await atBothWidths(page, "status", () => expect(page.getByTestId("engine")).toBeVisible());
});

test("the performance page shows no Druid stage, names requests and narrows the access log", async ({
  signedIn: page,
}) => {
  await salesLoaded(page);
  // An entry of its own kind in the access log: the engine chosen again (it stays embedded).
  const chosen = await page.request.post("/api/sigma/toggle-mode", { headers: admin, data: { mode: "standalone" } });
  expect(chosen.ok(), await chosen.text()).toBe(true);
  await page.goto("/performance");
  await page.getByRole("button", { name: "Pause auto-refresh" }).click();

  const pipeline = page.locator('[data-pipeline="sales"]');
  await expect(pipeline.getByText("Checking the rows").first()).toBeVisible();
  await expect(pipeline).not.toContainText(/druid/i);
  const requests = page.getByRole("table", { name: "Requests per route" });
  await expect(requests.getByRole("row").filter({ hasText: "Upload a file" })).toContainText("POST /api/ingest/upload");

  const log = page.getByRole("table", { name: "Access log" });
  const what = log.locator('td[data-label="What"]');
  await expect(what.filter({ hasText: /^upload$/ }).first()).toBeVisible();
  await page.getByLabel("Starts with").fill("sigma_mode");
  await expect(page.getByTestId("access-log-range")).toContainText("starting with “sigma_mode”");
  // The rows change when the search's answer arrives, after the sentence above: wait for them.
  await expect.poll(async () => new Set(await what.allTextContents())).toEqual(new Set(["sigma mode changed"]));
  await page.getByLabel("Starts with").fill("50%_");
  await expect(page.getByTestId("access-log-range")).toHaveText(
    "No entry's person, action or target starts with “50%_”.",
  );
  await page.getByLabel("Starts with").fill("");
  await expect(what.filter({ hasText: /^upload$/ }).first()).toBeVisible();

  await atBothWidths(page, "performance", () => expect(pipeline).toBeVisible());
});

test("opening the app with a stale token writes one access log row, not one per request", async ({
  browser,
  signedIn: adminPage,
}) => {
  const count = async () =>
    (
      (await (await adminPage.request.get("/api/access-logs?action=denied&limit=1", { headers: admin })).json()) as {
        data: { total: number };
      }
    ).data.total;
  const before = await count();
  const context = await browser.newContext({ baseURL: process.env.BASE_URL });
  await context.addInitScript(() => window.sessionStorage.setItem("sales-ingest.token", "an-old-token-from-yesterday"));
  const stale = await context.newPage();
  for (const path of ["/", "/status", "/performance"]) {
    await stale.goto(path);
    await stale.waitForLoadState("networkidle");
  }
  await context.close();
  expect((await count()) - before).toBeLessThanOrEqual(2); // the page's requests, and its live socket
});
