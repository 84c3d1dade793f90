import { readFileSync } from "node:fs";

import { BAD_CSV, expect, expectAccessible, screenshot, test } from "./fixtures";

/** BAD_CSV (a Quantity "many" on line 3, a Rating of 15.5 on line 5) with one more row: line 6
 * is line 2 again under a new invoice id with a Quantity of 0. */
function withZeroQuantity(): Buffer {
  const lines = readFileSync(BAD_CSV, "utf-8").trimEnd().split("\n");
  const cells = (lines[1] ?? "").split(",");
  cells[0] = "999-00-0600";
  cells[7] = "0";
  return Buffer.from([...lines, cells.join(",")].join("\n") + "\n");
}

test("a bad file's report reads in words", async ({ signedIn: page }) => {
  test.skip(!BAD_CSV, "BAD_CSV is not set");
  await page.goto("/upload");
  await page
    .getByLabel("Choose a file")
    .setInputFiles({ name: "words.csv", mimeType: "text/csv", buffer: withZeroQuantity() });
  await page.getByLabel("Datasource").fill("sales");
  await page.getByRole("button", { name: "Upload" }).click();
  await expect(page.locator("[data-task-status]")).toHaveAttribute("data-task-status", "failed", { timeout: 60_000 });
  const table = page.getByTestId("validation-report").getByRole("table");
  await expect(table).toContainText("Quantity must be at least 1");
  await expect(table).toContainText("Quantity must be a whole number");
  await expect(table).toContainText("Rating must be between 0 and 10");
  await expect(table).toContainText(
    /Quantity is likely wrong: cogs, Tax 5% and Total fit a Quantity of \d+; the file has 0/,
  );
  await expect(page.getByTestId("validation-report")).not.toContainText(/fails \w+\(/);
  await expect(page.getByTestId("validation-report")).not.toContainText(/greater_than|in_range|type:integer/);
  await screenshot(page, "report-in-words");
  await expectAccessible(page);
});
