import { expect, test } from "./fixtures";

test("the pages and the filters work from the keyboard", async ({ signedIn: page }) => {
  await page.goto("/");
  await expect(page.locator('[data-kpi="totalSales"] .kpi-value')).not.toHaveAttribute("data-value", "");
  await page.keyboard.press("Tab");
  await expect(page.getByRole("link", { name: "Skip to content" })).toBeFocused();
  await page.keyboard.press("Tab");
  await expect(page.getByRole("link", { name: "Dashboard" })).toBeFocused();
  await page.keyboard.press("Tab");
  await expect(page.getByRole("link", { name: "Workbooks" })).toBeFocused();
  await page.keyboard.press("Tab");
  await page.keyboard.press("Enter");
  await expect(page).toHaveURL(/\/upload$/);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Upload sales data");

  await page.goto("/");
  const payments = page.locator("details", { has: page.locator("summary", { hasText: "Payments" }) });
  await payments.locator("summary").focus();
  await page.keyboard.press("Enter");
  await expect(payments.getByRole("checkbox")).toHaveCount(3); // the options have loaded
  await page.keyboard.press("Tab");
  const first = payments.getByRole("checkbox").first();
  await expect(first).toBeFocused();
  await page.keyboard.press("Space");
  await expect(page).toHaveURL(/[?&]payment=/);
  await expect(first).toBeChecked();
});
