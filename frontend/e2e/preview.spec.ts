// "Preview first" on the Upload page: a dry run shows the columns as read, the person changes a
// column's type (store numbers are names, not quantities: text) and the date order (the file
// writes days first), presses Load, and the loaded data shows both.
import { expect, expectAccessible, screenshot, test } from "./fixtures";

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
  // The load's own task (the preview's, succeeded, stays on the page until the service answers).
  await expect(preview).toBeHidden();
  await expect(page.getByRole("heading", { level: 2, name: "Task status", exact: true })).toBeVisible();

  await expect(page.locator("[data-task-status]")).toHaveAttribute("data-task-status", "succeeded", {
    timeout: 60_000,
  });
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
