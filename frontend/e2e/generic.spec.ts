import type { Page } from "@playwright/test";

import { expect, expectAccessible, screenshot, test, TOKEN } from "./fixtures";

test.describe.configure({ mode: "serial" });

// A small shop's sales, without any of the sales dashboard's columns: a date, two text columns
// and an amount.
const ROWS: [string, string, string, number][] = [
  ["2024-01-01", "North", "Food", 10.5],
  ["2024-01-01", "South", "Toys", 20],
  ["2024-01-02", "North", "Toys", 5.25],
  ["2024-01-03", "East", "Food", 7],
  ["2024-01-03", "South", "Food", 3],
  ["2024-01-04", "North", "Garden", 12.75],
  ["2024-01-05", "East", "Toys", 40],
  ["2024-01-06", "South", "Garden", 1.5],
  ["2024-01-08", "North", "Food", 2],
  ["2024-01-09", "East", "Food", 9.99],
  ["2024-01-10", "South", "Toys", 30.01],
  ["2024-01-12", "North", "Garden", 4],
];
const CSV = ["day,store,category,amount", ...ROWS.map((row) => row.join(","))].join("\n") + "\n";
const AUTH = { Authorization: `Bearer ${TOKEN}` };

/** The CSV uploaded through the REST API into a new datasource, as a script would; resolves once
 * its task succeeded. */
async function uploadShop(page: Page, name: string): Promise<void> {
  const response = await page.request.post("/api/ingest/upload", {
    headers: AUTH,
    multipart: {
      file: { name: "shop.csv", mimeType: "text/csv", buffer: Buffer.from(CSV, "utf-8") },
      datasource_name: name,
    },
  });
  expect(response.status(), await response.text()).toBeLessThan(300);
  const { task_id: task } = (await response.json()) as { task_id: string };
  await expect
    .poll(
      async () => {
        const status = await page.request.get(`/api/ingest/status/${task}`, { headers: AUTH });
        return ((await status.json()) as { status: string }).status;
      },
      { timeout: 60_000, intervals: [500] },
    )
    .toBe("succeeded");
}

const name = `shop_${Date.now().toString(36)}`;

test("a datasource without the sales columns gets a dashboard of its own figures", async ({ signedIn: page }) => {
  await uploadShop(page, name);
  await page.setViewportSize({ width: 1400, height: 900 });
  await page.goto(`/?ds=${name}`);

  await expect(page.getByRole("heading", { level: 1, name: `Dashboard of ${name}` })).toBeVisible();
  await expect(page.getByLabel("Datasource", { exact: true })).toHaveValue(name);
  await expect(page.locator('[data-kpi="rows"] .kpi-value')).toHaveAttribute("data-value", String(ROWS.length));
  await expect(page.locator('[data-kpi="rows"] .kpi-value')).toHaveText(String(ROWS.length));

  // A breakdown by each text column; its table has each store's sum, added up here on its own.
  const byStore = page.locator('[data-widget="By store"]');
  await expect(byStore).toHaveAttribute("data-state", "ready");
  await expect(page.locator('[data-widget="By category"]')).toHaveAttribute("data-state", "ready");
  for (const store of ["North", "South", "East"]) {
    const mine = ROWS.filter((row) => row[1] === store);
    const sum = mine.reduce((total, row) => total + row[3], 0);
    const row = byStore.getByRole("row").filter({ has: page.getByRole("cell", { name: store, exact: true }) });
    await expect(row.getByRole("cell")).toHaveText([
      store,
      String(mine.length),
      sum.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 }),
      (sum / mine.length).toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 }),
    ]);
  }

  // Rows over time, by day: one point per day that has rows.
  const trend = page.locator('[data-widget="Rows over time"]');
  await expect(trend).toHaveAttribute("data-state", "ready");
  await trend.getByText("Show the figures as a table").click();
  await expect(trend.getByRole("row")).toHaveCount(1 + new Set(ROWS.map((row) => row[0])).size);

  // The rows themselves, the latest first.
  const table = page.locator('[data-widget="Rows, latest first"]');
  await expect(table).toHaveAttribute("data-state", "ready");
  await expect(table.getByRole("row")).toHaveCount(1 + ROWS.length);
  await expect(table.getByRole("row").nth(1)).toContainText("2024-01-12");
  await expect(table.getByText(`Rows 1 to ${ROWS.length} of ${ROWS.length}`)).toBeVisible();

  await expect(page.getByText(/could not be loaded|has no data yet|went wrong|failed/i)).toHaveCount(0);
  await expect(page.locator('[data-state="error"]')).toHaveCount(0);
  await screenshot(page, "dashboard-generic");
  await expectAccessible(page);

  await page.setViewportSize({ width: 390, height: 844 });
  await expect(byStore).toHaveAttribute("data-state", "ready");
  await screenshot(page, "dashboard-generic-390");
  await expectAccessible(page);
});

test("the granularity of the trend is kept in the URL, and survives a reload", async ({ signedIn: page }) => {
  await page.goto(`/?ds=${name}`);
  const trend = page.locator('[data-widget="Rows over time"]');
  await trend.getByLabel("Granularity").selectOption("WEEK");
  await expect(page).toHaveURL(/[?&]g=week/);
  await page.reload();
  await expect(trend.getByLabel("Granularity")).toHaveValue("WEEK");
  await trend.getByText("Show the figures as a table").click();
  // 2024-01-01 to 2024-01-12: the weeks starting January 1 and 8.
  await expect(trend.getByRole("row")).toHaveCount(3);
});

test("a datasource that does not exist says so, and another one can be chosen", async ({ signedIn: page }) => {
  await page.goto("/?ds=no_such_datasource");
  await expect(page.getByText("There is no datasource named “no_such_datasource” that you can open.")).toBeVisible();
  await expect(page.locator(".widget")).toHaveCount(0);
  await page.getByLabel("Datasource", { exact: true }).selectOption(name);
  await expect(page).toHaveURL(new RegExp(`[?&]ds=${name}`));
  await expect(page.locator('[data-kpi="rows"] .kpi-value')).toHaveText(String(ROWS.length));
  await expectAccessible(page);
});

test("a datasource without rows says so, with no figures to load", async ({ signedIn: page }) => {
  const empty = `empty_${Date.now().toString(36)}`;
  const response = await page.request.post("/api/datasources", {
    headers: AUTH,
    data: {
      name: empty,
      contract: "declared",
      columns: [
        { name: "day", type: "date" },
        { name: "store", type: "string" },
      ],
      time_column: "day",
    },
  });
  expect(response.status(), await response.text()).toBe(201);
  await page.goto(`/?ds=${empty}`);
  await expect(page.getByRole("heading", { level: 1, name: `Dashboard of ${empty}` })).toBeVisible();
  await expect(page.getByText(`${empty} has no rows yet.`)).toBeVisible();
  await expect(page.locator(".widget")).toHaveCount(0);
  await expect(page.getByRole("button", { name: "Make a workbook from this" })).toHaveCount(0);
});

test("the page becomes a workbook holding its figures", async ({ signedIn: page }) => {
  await page.goto(`/?ds=${name}`);
  await expect(page.locator('[data-widget="By store"]')).toHaveAttribute("data-state", "ready");
  await page.getByRole("button", { name: "Make a workbook from this" }).click();
  const dialog = page.getByRole("dialog");
  await dialog.getByLabel("Title").fill(`Shop figures ${name}`);
  await dialog.getByRole("button", { name: "Save workbook" }).click();
  await expect(page).toHaveURL(/\/workbooks\/[0-9a-f]{32}$/);
  await expect(page.getByRole("heading", { level: 1, name: `Shop figures ${name}` })).toBeVisible();
  await expect(page.locator('[data-widget="Rows"] .kpi-value')).toHaveAttribute("data-value", String(ROWS.length));
  const byStore = page.locator('[data-widget="Sum of amount by store"]');
  await expect(byStore).toHaveAttribute("data-state", "ready");
  await expect(page.locator('[data-widget="Rows over time"]')).toHaveAttribute("data-state", "ready");
  await expect(page.locator('[data-state="error"]')).toHaveCount(0);
});
