import { BAD_CSV, expect, expectAccessible, screenshot, test } from "./fixtures";

test("a bad file shows its line numbers and the rejected rows link", async ({ signedIn: page }) => {
  test.skip(!BAD_CSV, "BAD_CSV is not set");
  await page.goto("/upload");
  await page.getByLabel("Choose a file").setInputFiles(BAD_CSV);
  await page.getByLabel("Datasource").fill("sales"); // checked against the columns sales already has
  await page.getByRole("button", { name: "Upload" }).click();
  await expect(page.locator("[data-task-status]")).toHaveAttribute("data-task-status", "failed", { timeout: 60_000 });
  const report = page.getByTestId("validation-report");
  await expect(report).toBeVisible();
  const table = report.getByRole("table");
  await expect(table.getByRole("cell", { name: "3", exact: true })).toBeVisible();
  await expect(table.getByRole("cell", { name: "5", exact: true })).toBeVisible();
  await expect(report.getByRole("link", { name: /rejected rows/ })).toBeVisible();
  await screenshot(page, "upload-bad-file");
  await expectAccessible(page);
});

test("at 390 px every page fits the width", async ({ signedIn: page }) => {
  await page.setViewportSize({ width: 390, height: 844 });
  for (const path of ["/", "/upload", "/tasks", "/status", "/performance"]) {
    await page.goto(path);
    await expect(page.locator("h1")).toBeVisible();
    await page.waitForLoadState("networkidle");
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow, `${path} is wider than the screen`).toBeLessThanOrEqual(1);
  }
  await screenshot(page, "dashboard-390px");
});
