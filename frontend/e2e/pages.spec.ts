import type { Page } from "@playwright/test";

import { DATA_CSV, expect, expectAccessible, screenshot, test, TOKEN } from "./fixtures";

// Every page of the app (the routes of src/App.tsx) at a desktop width and a phone's: a screenshot
// of each in test-results/screenshots ("page-<name>-1400", "page-<name>-390"), no axe violation
// of any impact, and nothing wider than the phone's screen (no sideways scrolling at 390 px).

test.describe.configure({ mode: "serial" });

const WIDTHS = [1400, 390] as const;
const auth = { Authorization: `Bearer ${TOKEN}` };

interface Ids {
  task: string;
  workbook: string;
  me: string;
}

/** A task (data.csv in sales, uploaded unless it is already) and a workbook to open. */
async function fixtures(page: Page): Promise<Ids> {
  const form = { datasource_name: "sales", file: { name: "data.csv", mimeType: "text/csv", buffer: await readCsv() } };
  const upload = await page.request.post("/api/ingest/upload", { headers: auth, multipart: form });
  expect(upload.status(), await upload.text()).toBeLessThan(300);
  const task = ((await upload.json()) as { task_id: string }).task_id;
  await expect // the dashboard has figures once it is loaded (a fresh service has none before)
    .poll(
      async () => {
        const status = await page.request.get(`/api/ingest/status/${task}`, { headers: auth });
        return ((await status.json()) as { status: string }).status;
      },
      { timeout: 90_000 },
    )
    .toBe("succeeded");
  const saved = await page.request.post("/api/workbooks", {
    headers: auth,
    data: { title: `Every page ${Date.now().toString(36)}`, datasource: "sales", visibility: "private" },
  });
  expect(saved.status(), await saved.text()).toBeLessThan(300);
  const { id, owner } = (await saved.json()) as { id: string; owner: string };
  return { task, workbook: id, me: owner };
}

async function readCsv(): Promise<Buffer> {
  const { readFile } = await import("node:fs/promises");
  return readFile(DATA_CSV);
}

/** The pages: a name for the screenshot, the path, and what shows the page has its content. */
function pages(ids: Ids): { name: string; path: string; ready: (page: Page) => Promise<void> }[] {
  const heading = (name: RegExp | string) => async (page: Page) => {
    await expect(page.getByRole("heading", { level: 1, name })).toBeVisible();
  };
  return [
    {
      name: "dashboard",
      path: "/",
      ready: async (page) => {
        await expect(page.locator('[data-kpi="totalSales"] .kpi-value')).toHaveAttribute("data-value", /\d/);
      },
    },
    {
      name: "upload",
      path: "/upload",
      ready: async (page) => {
        await expect(page.getByLabel("Choose a file")).toBeAttached();
      },
    },
    {
      name: "tasks",
      path: "/tasks",
      ready: async (page) => {
        await expect(page.getByRole("link", { name: /data\.csv/ }).first()).toBeVisible();
      },
    },
    {
      name: "task",
      path: `/tasks/${ids.task}`,
      ready: async (page) => {
        await expect(page.locator("[data-task-status]")).toHaveAttribute("data-task-status", "succeeded", {
          timeout: 60_000,
        });
      },
    },
    { name: "workbooks", path: "/workbooks", ready: heading(/workbooks/i) },
    { name: "workbook", path: `/workbooks/${ids.workbook}`, ready: heading(/every page/i) },
    {
      name: "status",
      path: "/status",
      ready: async (page) => {
        await expect(page.getByRole("table", { name: "Components" })).toBeVisible();
      },
    },
    { name: "performance", path: "/performance", ready: heading(/performance/i) },
    { name: "actions", path: "/actions", ready: heading(/actions/i) },
    { name: "me", path: "/me", ready: heading(/./) },
    { name: "user", path: `/users/${encodeURIComponent(ids.me)}`, ready: heading(/./) },
    { name: "not-found", path: "/no-such-page", ready: heading(/./) },
  ];
}

/** The page at `width` px: its screenshot, axe, and (on a phone) no sideways scrolling. */
async function check(page: Page, name: string, width: number): Promise<void> {
  await page.waitForLoadState("networkidle").catch(() => undefined); // widgets that poll never idle
  await expect(page.getByRole("status").filter({ hasText: /^Loading/ })).toHaveCount(0);
  await screenshot(page, `page-${name}-${width}`);
  await expectAccessible(page, { soft: true });
  if (width < 600) {
    const wide = await page.evaluate(() => document.documentElement.scrollWidth);
    expect.soft(wide, `${name} scrolls sideways at ${width} px`).toBeLessThanOrEqual(width);
  }
}

test("every page at 1400 and 390 px: a screenshot, no axe violation, nothing wider than a phone", async ({
  signedIn: page,
}) => {
  test.setTimeout(600_000);
  const ids = await fixtures(page);
  for (const width of WIDTHS) {
    await page.setViewportSize({ width, height: 900 });
    for (const { name, path, ready } of pages(ids)) {
      await test.step(`${name} at ${width} px`, async () => {
        await page.goto(path);
        await ready(page);
        await check(page, name, width);
      });
    }
  }
});

test("the sign-in page at 1400 and 390 px", async ({ page }) => {
  for (const width of WIDTHS) {
    await page.setViewportSize({ width, height: 900 });
    await page.goto("/sign-in");
    await expect(page.getByRole("button", { name: /sign in|use an api token/i }).first()).toBeVisible();
    await check(page, "sign-in", width);
  }
});
