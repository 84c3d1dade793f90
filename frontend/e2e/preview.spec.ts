// "Preview first" on the Upload page: a dry run shows the columns as read, the person changes a
// column's type (store numbers are names, not quantities: text) and the date order (the file
// writes days first), presses Load, and the loaded data shows both.
import type { Page } from "@playwright/test";

import { expect, expectAccessible, screenshot, test, TOKEN } from "./fixtures";

// Dates that read either way (1 February or 2 January): only the person knows they are day first.
const CSV = ["day,store,amount", "01/02/2024,7,1.5", "03/02/2024,12,2", "05/02/2024,3,4.25"].join("\n") + "\n";

test("a preview's column type and date order are changed, then loaded as changed", async ({ signedIn: page }) => {
  const datasource = `preview_${Date.now().toString(36)}`;
  await page.goto("/upload");
  await expect(page.getByRole("heading", { level: 1, name: "Upload sales data" })).toBeVisible();
  await page.getByLabel("Choose a file").setInputFiles({
    name: "shops.csv",
    mimeType: "text/csv",
    buffer: Buffer.from(CSV, "utf-8"),
  });
  await page.getByLabel("Datasource").fill(datasource);
  await page.getByLabel("Preview first").check();
  await page.getByRole("button", { name: "Upload", exact: true }).click();

  const preview = page.getByTestId("preview");
  await expect(preview).toContainText("3 rows were read and checked; nothing is loaded yet.", { timeout: 60_000 });
  await expect(preview.getByLabel("Type of store")).toHaveValue("integer");
  await expect(preview.getByRole("table", { name: "First rows" })).toBeVisible();
  await screenshot(page, "upload-preview");
  await expectAccessible(page);
  // Nothing was loaded: the datasource does not exist yet.
  const names = await page.request.post("/graphql", {
    headers: { Authorization: `Bearer ${process.env.ADMIN_TOKEN}` },
    data: { query: "{ datasources { name } }" },
  });
  expect(JSON.stringify(await names.json())).not.toContain(datasource);

  await preview.getByLabel("Type of store").selectOption("string");
  await preview.getByLabel("Date order").selectOption("day_first");
  await preview.getByRole("button", { name: "Preview again" }).click();
  const rows = preview.getByRole("table", { name: "First rows" });
  await expect(rows.getByRole("row").nth(1)).toContainText("2024-02-01", { timeout: 60_000 });
  await expect(preview.getByLabel("Type of store")).toHaveValue("string");
  await expect(preview.getByLabel("Date order")).toHaveValue("day_first");
  await preview.getByRole("button", { name: "Load" }).click();
  // The load's own task; the preview stays on the page until the load succeeded.
  await expect(page.getByRole("heading", { level: 2, name: "Task status", exact: true })).toBeVisible();

  await expect(page.locator("[data-task-status]")).toHaveAttribute("data-task-status", "succeeded", {
    timeout: 60_000,
  });
  await expect(preview).toBeHidden();
  // The task says the changes it was loaded with.
  await expect(page.getByTestId("task-overrides")).toHaveText(
    "Types chosen: store as string. Dates were read day first (1/5/2024 is May 1).",
  );
  await expectAccessible(page);

  // The loaded data: the days are 1, 3 and 5 February, and store is text (a breakdown by store).
  await page.goto(`/?ds=${datasource}`);
  await expect(page.getByRole("heading", { level: 1, name: `Dashboard of ${datasource}` })).toBeVisible();
  const table = page.locator('[data-widget="Rows, latest first"]');
  await expect(table).toHaveAttribute("data-state", "ready");
  await expect(table.getByRole("row")).toHaveCount(4);
  await expect(table.getByRole("row").nth(1)).toContainText("2024-02-05");
  await expect(table.getByRole("row").nth(3)).toContainText("2024-02-01");
  const byStore = page.locator('[data-widget="By store"]');
  await expect(byStore).toHaveAttribute("data-state", "ready");
  await expect(byStore.getByRole("cell", { name: "12", exact: true })).toBeVisible();
  await screenshot(page, "upload-preview-loaded");
});

/** A datasource of other columns, with rows: loading the shops into it is refused. */
async function otherDatasource(page: Page, name: string): Promise<void> {
  const headers = { Authorization: `Bearer ${TOKEN}` };
  const sent = await page.request.post("/api/ingest/upload", {
    headers,
    multipart: {
      file: { name: "other.csv", mimeType: "text/csv", buffer: Buffer.from("when,city\n2024-01-01,Oslo\n") },
      datasource_name: name,
    },
  });
  expect(sent.ok(), await sent.text()).toBe(true);
  const { task_id: id } = (await sent.json()) as { task_id: string };
  await expect
    .poll(
      async () => {
        const status = await page.request.get(`/api/ingest/status/${id}`, { headers });
        return ((await status.json()) as { status: string }).status;
      },
      { timeout: 60_000 },
    )
    .toBe("succeeded");
}

test("a refused Load keeps the preview and its choices; a dropped column can be kept again", async ({
  signedIn: page,
}) => {
  const stamp = Date.now().toString(36);
  const datasource = `keep_${stamp}`;
  const other = `other_${stamp}`;
  await otherDatasource(page, other);
  await page.goto("/upload");
  await page.getByLabel("Choose a file").setInputFiles({
    name: "shops.csv",
    mimeType: "text/csv",
    buffer: Buffer.from(CSV, "utf-8"),
  });
  await page.getByLabel("Datasource").fill(datasource);
  await page.getByLabel("Preview first").check();
  await page.getByRole("button", { name: "Upload", exact: true }).click();
  const preview = page.getByTestId("preview");
  await expect(preview).toContainText("3 rows were read and checked", { timeout: 60_000 });
  await expect(preview.getByLabel("Load into")).toHaveValue(datasource);
  await expect(preview.getByLabel("Type of store")).toBeEnabled(); // a new datasource: its types are chosen

  // Dropped, then Preview again: amount is still listed, struck through, with Keep.
  await preview.getByLabel("Drop amount").click(); // its box becomes Keep
  await preview.getByLabel("Date order").selectOption("day_first");
  await preview.getByRole("button", { name: "Preview again" }).click();
  const rows = preview.getByRole("table", { name: "First rows" });
  await expect(rows.getByRole("row").nth(1)).toContainText("2024-02-01", { timeout: 60_000 });
  await expect(rows.getByRole("columnheader")).toHaveText(["day", "store"]);
  const amount = preview.getByRole("row", { name: /amount/ });
  await expect(amount).toContainText("amount (dropped)");
  await expect(amount.locator("s")).toHaveText("amount");
  await expect(preview.getByRole("button", { name: "Keep amount" })).toBeVisible();

  // Into a datasource that has other columns: its types are fixed, and the Load is refused.
  await preview.getByLabel("Load into").fill(other);
  await expect(preview.getByLabel("Type of store")).toBeDisabled();
  await expect(preview.getByTestId("types-fixed")).toContainText(
    `The datasource ${other} already exists: its column types are fixed, only the date order can change.`,
  );
  await preview.getByRole("button", { name: "Load" }).click();
  await expect(page.locator("[data-task-status]")).toHaveAttribute("data-task-status", "failed", {
    timeout: 60_000,
  });
  const refused = preview.getByTestId("preview-refused");
  await expect(refused).toContainText("Load was refused:");
  await expect(refused).toContainText("Your choices are kept");
  await expect(preview.getByLabel("Date order")).toHaveValue("day_first");
  await expect(preview.getByLabel("Load into")).toHaveValue(other);
  await screenshot(page, "upload-preview-refused");
  await expectAccessible(page);

  // Back to the new datasource, amount kept: loaded with the day-first dates and all three columns.
  await preview.getByRole("button", { name: "Keep amount" }).click();
  await expect(preview.getByLabel("Drop amount")).not.toBeChecked();
  await preview.getByLabel("Load into").fill(datasource);
  await expect(preview.getByLabel("Type of store")).toBeEnabled();
  await preview.getByRole("button", { name: "Load" }).click();
  await expect(page.locator("[data-task-status]")).toHaveAttribute("data-task-status", "succeeded", {
    timeout: 60_000,
  });
  await expect(preview).toBeHidden();
  await expect(page.getByTestId("task-overrides")).toHaveText("Dates were read day first (1/5/2024 is May 1).");
  const columns = await page.request.get(`/api/datasources/${datasource}`, {
    headers: { Authorization: `Bearer ${TOKEN}` },
  });
  expect(Object.keys(((await columns.json()) as { columns: Record<string, string> }).columns)).toContain("amount");
});

test("a drop and a rename taken back after Preview again are not applied by Load", async ({ signedIn: page }) => {
  const datasource = `undo_${Date.now().toString(36)}`;
  await page.goto("/upload");
  await page.getByLabel("Choose a file").setInputFiles({
    name: "shops.csv",
    mimeType: "text/csv",
    buffer: Buffer.from(CSV, "utf-8"),
  });
  await page.getByLabel("Datasource").fill(datasource);
  await page.getByLabel("Preview first").check();
  await page.getByRole("button", { name: "Upload", exact: true }).click();
  const preview = page.getByTestId("preview");
  await expect(preview).toContainText("3 rows were read and checked", { timeout: 60_000 });

  // amount dropped and store renamed shop: the second preview shows day and shop only.
  await preview.getByLabel("Drop amount").click();
  await preview.getByLabel("New name of store").fill("shop");
  await preview.getByRole("button", { name: "Preview again" }).click();
  const rows = preview.getByRole("table", { name: "First rows" });
  await expect(rows.getByRole("columnheader")).toHaveText(["day", "shop"], { timeout: 60_000 });

  // Both taken back: Keep amount, and store's new name cleared.
  await preview.getByRole("button", { name: "Keep amount" }).click();
  await expect(preview.getByLabel("Drop amount")).not.toBeChecked();
  await preview.getByLabel("New name of store").fill("");
  await preview.getByRole("button", { name: "Load" }).click();
  await expect(page.locator("[data-task-status]")).toHaveAttribute("data-task-status", "succeeded", {
    timeout: 60_000,
  });
  await expect(preview).toBeHidden();

  // The datasource has all three columns, under the file's names.
  const answer = await page.request.get(`/api/datasources/${datasource}`, {
    headers: { Authorization: `Bearer ${TOKEN}` },
  });
  const columns = Object.keys(((await answer.json()) as { columns: Record<string, string> }).columns);
  expect(columns).toEqual(expect.arrayContaining(["day", "store", "amount"]));
  expect(columns).not.toContain("shop");
});
