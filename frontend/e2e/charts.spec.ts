// Issue 25, items 4 and 7: drill-through, the rows view, CSV of every widget, colours keyed by
// category and "Nothing to show".
import { readFile } from "node:fs/promises";

import type { Download, Page } from "@playwright/test";

import { DATA_CSV, TOKEN, expect, expectAccessible, graphql, screenshot, test } from "./fixtures";

interface Breakdown {
  key: string;
  totalSales: number;
  grossIncome: number;
  transactions: number;
  unitsSold: number;
  share: number;
}

const BREAKDOWN = "key totalSales grossIncome transactions unitsSold share";

/** data.csv in the sales datasource (the app spec uploads it first when the whole suite runs). */
async function ensureSales(page: Page): Promise<void> {
  const { rowCount } = await graphql<{ rowCount: number }>(page, 'query { rowCount(filter: { datasource: "sales" }) }');
  if (Number(rowCount) > 0) return;
  const headers = { Authorization: `Bearer ${TOKEN}` };
  const sent = await page.request.post("/api/ingest/upload", {
    headers,
    multipart: {
      file: { name: "data.csv", mimeType: "text/csv", buffer: await readFile(DATA_CSV) },
      datasource_name: "sales",
    },
  });
  expect(sent.status(), await sent.text()).toBe(202);
  const { task_id: taskId } = (await sent.json()) as { task_id: string };
  await expect
    .poll(
      async () => {
        const status = await page.request.get(`/api/ingest/status/${taskId}`, { headers });
        return ((await status.json()) as { status: string }).status;
      },
      { timeout: 60_000 },
    )
    .toBe("succeeded");
}

async function breakdown(page: Page, field: string, filter = ""): Promise<Breakdown[]> {
  const data = await graphql<Record<string, Breakdown[]>>(
    page,
    `query { rows: ${field}(filter: { datasource: "sales" ${filter} }) { ${BREAKDOWN} } }`,
  );
  return data.rows ?? [];
}

function parseCsv(text: string): string[][] {
  // The widgets' figures hold no quotes or commas in their values (the sales data's categories).
  return text
    .trim()
    .split("\n")
    .map((line) => line.split(","));
}

async function downloaded(download: Download): Promise<string> {
  const path = await download.path();
  return readFile(path, "utf-8");
}

/** The fill of each donut slice by its category (slices are drawn in the API's order). */
async function sliceColours(page: Page, widget: string, keys: string[]): Promise<Record<string, string>> {
  const region = page.getByRole("region", { name: widget });
  const sectors = region.locator(".recharts-pie-sector path");
  await expect(sectors).toHaveCount(keys.length);
  const fills = await sectors.evaluateAll((paths) => paths.map((p) => p.getAttribute("fill") ?? ""));
  return Object.fromEntries(keys.map((key, i) => [key, fills[i] ?? ""]));
}

test.beforeEach(async ({ signedIn: page }) => {
  await ensureSales(page);
});

test("clicking a branch bar filters the dashboard by that branch", async ({ signedIn: page }) => {
  const branches = await breakdown(page, "salesByBranch");
  const top = branches[0]?.key ?? "";
  await page.goto("/");
  const tile = page.locator('[data-kpi="totalSales"] .kpi-value');
  await expect(tile).not.toHaveAttribute("data-value", "");
  const before = await tile.getAttribute("data-value");
  const widget = page.getByRole("region", { name: "Sales by branch" });
  await widget.locator(".recharts-bar-rectangle path").first().click();
  await expect(page).toHaveURL(new RegExp(`[?&]branch=${top}(&|$)`));
  const { salesSummary } = await graphql<{ salesSummary: { totalSales: number } }>(
    page,
    `query { salesSummary(filter: { datasource: "sales", branches: ["${top}"] }) { totalSales } }`,
  );
  await expect(tile).toHaveAttribute("data-value", String(salesSummary.totalSales));
  expect(String(salesSummary.totalSales)).not.toBe(before);
  await screenshot(page, "dashboard-drill");
  await expectAccessible(page);
  // The keyboard does the same with the values' buttons under a chart.
  const genders = page.getByRole("group", { name: "Filter the dashboard by gender:" });
  await genders.getByRole("button", { name: "Female" }).focus();
  await page.keyboard.press("Enter");
  await expect(page).toHaveURL(/[?&]gender=Female(&|$)/);
  await expect(page).toHaveURL(new RegExp(`[?&]branch=${top}(&|$)`));
});

test("a widget's CSV holds the API's figures exactly", async ({ signedIn: page }) => {
  const api = await breakdown(page, "salesByProductLine");
  await page.goto("/");
  const widget = page.getByRole("region", { name: "Sales by product line" });
  const [download] = await Promise.all([
    page.waitForEvent("download"),
    widget.getByRole("button", { name: "Download CSV of sales by product line" }).click(),
  ]);
  expect(download.suggestedFilename()).toBe("sales-by-product-line.csv");
  const [header, ...rows] = parseCsv(await downloaded(download));
  expect(header).toEqual(["Product line", "Total sales", "Gross income", "Transactions", "Units sold", "Share"]);
  expect(
    rows.map(([key, sales, income, transactions, units, share]) => ({
      key,
      totalSales: Number(sales),
      grossIncome: Number(income),
      transactions: Number(transactions),
      unitsSold: Number(units),
      share: Number(share),
    })),
  ).toEqual(api);
});

const DONUTS = [
  { field: "salesByCustomerType", widget: "Sales by customer type" },
  { field: "salesByGender", widget: "Sales by gender" },
  { field: "salesByPayment", widget: "Sales by payment" },
];
const FILTERS = [
  ...["A", "B", "C"].map((v) => ({ param: `branch=${v}`, arg: `branches: ["${v}"]` })),
  ...["Cash", "Credit card", "Ewallet"].map((v) => ({ param: `payment=${v}`, arg: `payments: ["${v}"]` })),
  ...["Female", "Male"].map((v) => ({ param: `gender=${v}`, arg: `genders: ["${v}"]` })),
  ...["Member", "Normal"].map((v) => ({ param: `customer=${v}`, arg: `customerTypes: ["${v}"]` })),
];

test("a donut's categories keep their colours when a filter changes their order", async ({ signedIn: page }) => {
  // A donut and a filter under which its categories rank in another order (the data has some).
  let found: { widget: string; all: string[]; param: string; keys: string[] } | null = null;
  search: for (const donut of DONUTS) {
    const all = (await breakdown(page, donut.field)).map((r) => r.key);
    for (const filter of FILTERS) {
      const keys = (await breakdown(page, donut.field, `, ${filter.arg}`)).map((r) => r.key);
      if (keys.length === all.length && keys.join() !== all.join()) {
        found = { widget: donut.widget, all, param: filter.param, keys };
        break search;
      }
    }
  }
  expect(found, "a filter that reorders a donut's categories").not.toBeNull();
  if (!found) return;
  await page.goto("/");
  const before = await sliceColours(page, found.widget, found.all);
  await page.goto(`/?${new URLSearchParams(found.param).toString()}`);
  await expect(page.getByRole("region", { name: found.widget }).locator(".recharts-pie-sector path")).toHaveCount(
    found.keys.length,
  );
  const after = await sliceColours(page, found.widget, found.keys);
  expect(after).toEqual(before);
  expect(new Set(Object.values(before)).size).toBe(found.all.length);
});

test("show rows pages through the matching rows and sorts them by a column", async ({ signedIn: page }) => {
  const { analytics } = await graphql<{ analytics: { rows: number[][] } }>(
    page,
    `
      query {
        analytics(
          query: {
            datasource: "sales"
            measures: [{ aggregate: COUNT }, { aggregate: MIN, column: "Total" }, { aggregate: MAX, column: "Total" }]
          }
        ) {
          rows
        }
      }
    `,
  );
  const [total, lowest, highest] = analytics.rows[0] ?? [];
  await page.goto("/");
  await page.getByRole("button", { name: "Show rows of sales by branch" }).click();
  const dialog = page.getByRole("dialog", { name: "Rows: Sales by branch" });
  await expect(dialog.getByRole("status")).toHaveText(`Rows 1 to 50 of ${total?.toLocaleString("en-US")}.`);
  await expect(dialog.locator("tbody tr")).toHaveCount(50);
  await dialog.getByRole("button", { name: "Next page" }).click();
  await expect(dialog.getByRole("status")).toHaveText(`Rows 51 to 100 of ${total?.toLocaleString("en-US")}.`);
  const totalColumn = async () => {
    const headers = await dialog.locator("thead th").allTextContents();
    const index = headers.findIndex((h) => h.replace(/[▲▼ ]+$/, "") === "Total");
    return dialog.locator(`tbody tr td:nth-child(${index + 1})`).allTextContents();
  };
  await dialog.getByRole("button", { name: "Total", exact: true }).click();
  await expect(dialog.getByRole("status")).toContainText("sorted by Total from lowest to highest");
  await expect(dialog.locator("th[aria-sort=ascending]")).toHaveText(/Total/);
  const ascending = (await totalColumn()).map(Number);
  expect(ascending[0]).toBe(lowest);
  expect(ascending).toEqual([...ascending].sort((a, b) => a - b));
  await dialog.getByRole("button", { name: "Total", exact: true }).click();
  await expect(dialog.locator("th[aria-sort=descending]")).toHaveText(/Total/);
  await expect.poll(async () => Number((await totalColumn())[0])).toBe(highest);
  await screenshot(page, "dashboard-rows");
  await expectAccessible(page);
  // The CSV holds every matching row, not the page shown.
  const [download] = await Promise.all([
    page.waitForEvent("download"),
    dialog.getByRole("button", { name: /Download CSV of all/ }).click(),
  ]);
  const lines = (await downloaded(download)).trim().split("\n");
  expect(lines.length - 1).toBe(total);
  await dialog.getByRole("button", { name: "Close" }).click();
  await expect(dialog).toBeHidden();
});

test("a heatmap cell opens the rows of its weekday and hour", async ({ signedIn: page }) => {
  await page.goto("/");
  const widget = page.getByRole("region", { name: "Sales by weekday and hour" });
  await widget.getByText("Show the figures as a table").click();
  const first = widget.locator("tbody tr").first();
  const [day, hour] = [await first.locator("td").nth(0).textContent(), await first.locator("td").nth(1).textContent()];
  const transactions = Number((await first.locator("td").nth(3).textContent())?.replace(/,/g, ""));
  await first.getByRole("button", { name: /Show rows/ }).click();
  const dialog = page.getByRole("dialog", { name: `Rows: ${day} ${hour}` });
  await expect(dialog.getByRole("status")).toHaveText(new RegExp(`of ${transactions.toLocaleString("en-US")}\\.$`));
});

test("an empty selection says Nothing to show in every widget", async ({ signedIn: page }) => {
  await page.goto("/?from=2031-01-01&to=2031-01-31");
  const widgets = page.locator("[data-widget]");
  await expect(page.locator('[data-widget="Sales trend"]')).toHaveAttribute("data-state", "empty");
  for (const widget of await widgets.all()) {
    await expect(widget).toHaveAttribute("data-state", "empty");
    await expect(widget).toContainText("Nothing to show.");
  }
  await expect(page.locator('[data-widget="Sales by branch"]')).toContainText("widen the date range");
});

/** Axis labels of a chart drawn outside its box (cut off: "ctronic accessories"). */
async function cutLabels(page: Page, widget: string): Promise<string[]> {
  const chart = page.getByRole("region", { name: widget }).locator(".chart .recharts-wrapper > svg.recharts-surface");
  await expect(chart.locator("text.recharts-cartesian-axis-tick-value").first()).toBeVisible();
  return chart.evaluate((svg) => {
    const box = svg.getBoundingClientRect();
    return Array.from(svg.querySelectorAll("text.recharts-cartesian-axis-tick-value"))
      .filter((t) => {
        const r = t.getBoundingClientRect();
        return r.left < box.left - 1 || r.right > box.right + 1;
      })
      .map((t) => t.textContent ?? "");
  });
}

test("the layout holds: whole axis labels, the heatmap on its own row, key figures in their cards at 390 px", async ({
  signedIn: page,
}) => {
  await page.goto("/");
  await expect(page.locator('[data-kpi="totalSales"] .kpi-value')).not.toHaveAttribute("data-value", "");
  const heatmap = await page.getByRole("region", { name: "Sales by weekday and hour" }).boundingBox();
  const trend = await page.getByRole("region", { name: "Sales trend" }).boundingBox();
  expect(Math.round(heatmap?.width ?? 0)).toBe(Math.round(trend?.width ?? 0));
  for (const widget of ["Sales by product line", "Profitability"]) expect(await cutLabels(page, widget)).toEqual([]);
  await page.setViewportSize({ width: 390, height: 844 });
  await page.reload();
  await expect(page.locator('[data-kpi="totalSales"] .kpi-value')).not.toHaveAttribute("data-value", "");
  const spilling = await page.locator(".kpi").evaluateAll((cards) =>
    cards
      .filter((card) => {
        const value = card.querySelector(".kpi-value");
        return !value || value.scrollWidth > value.clientWidth + 1 || card.getBoundingClientRect().right > innerWidth;
      })
      .map((card) => card.textContent),
  );
  expect(spilling).toEqual([]);
  for (const widget of ["Sales by product line", "Profitability"]) expect(await cutLabels(page, widget)).toEqual([]);
  await screenshot(page, "dashboard-drill-390");
});

test("a month the range starts in the middle of is marked as partial", async ({ signedIn: page }) => {
  const { salesSummary } = await graphql<{ salesSummary: { periodEnd: string } }>(
    page,
    'query { salesSummary(filter: { datasource: "sales" }) { periodEnd } }',
  );
  // data.csv's sales run to the end of March 2019: from January 15, January is partial, March whole.
  expect(salesSummary.periodEnd.slice(0, 10)).toBe("2019-04-01");
  await page.goto("/?from=2019-01-15&g=month");
  const trend = page.getByRole("region", { name: "Sales trend" });
  await expect(trend.locator(".partial-note")).toContainText("Jan 2019 is a partial period");
  await trend.getByText("Show the figures as a table").click();
  await expect(trend.locator("td", { hasText: "Jan 2019 (partial period)" })).toBeVisible();
  await expect(trend.locator("td", { hasText: /^Mar 2019$/ })).toBeVisible();
});
