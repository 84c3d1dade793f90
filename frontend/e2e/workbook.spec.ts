import { expect, expectAccessible, screenshot, test } from "./fixtures";

const TITLE = `Branch A review ${Date.now()}`;

test("the dashboard saved as a workbook keeps an added, reordered widget after a reload", async ({
  signedIn: page,
}) => {
  await page.goto("/?branch=A");
  await page.getByRole("button", { name: "Save as workbook" }).click();
  const dialog = page.getByRole("dialog", { name: "Save the dashboard as a workbook" });
  await expect(dialog.getByLabel("Title")).toBeFocused();
  await dialog.getByLabel("Title").fill(TITLE);
  await dialog.getByLabel("Tags").fill("e2e, branch-a");
  await dialog.getByRole("button", { name: "Save workbook" }).click();

  await expect(page).toHaveURL(/\/workbooks\/[^/]+$/);
  await expect(page.getByRole("heading", { level: 1, name: TITLE })).toBeVisible();
  await expect(page.getByRole("list", { name: "Tags" })).toContainText("branch-a");
  const widgets = page.getByTestId("workbook-widget");
  const before = await widgets.count();
  expect(before).toBeGreaterThan(1);
  // The saved filters are the dashboard's: branch A only.
  const branches = page.locator("details", { has: page.locator("summary", { hasText: "Branches" }) });
  await expect(branches.locator(".multi-select-value")).toHaveText("A");

  await page.getByRole("button", { name: "Edit layout" }).click();
  const add = page.getByRole("form", { name: "Add a widget" });
  await add.getByLabel("Kind").selectOption("breakdown");
  await add.getByLabel("Measure").selectOption("sum");
  await expect(add.getByLabel("Of column").locator("option", { hasText: "Total" })).toHaveCount(1);
  await add.getByLabel("Of column").selectOption("Total");
  await add.getByLabel("By", { exact: true }).selectOption("City");
  await add.getByLabel("Widget title").fill("E2E sales by city");
  await add.getByRole("button", { name: "Add widget" }).click();
  await expect(widgets).toHaveCount(before + 1);

  // Two places up, from the keyboard: the focus stays on the widget's own button.
  await page.getByRole("button", { name: "Move E2E sales by city up" }).click();
  await expect(page.getByRole("button", { name: "Move E2E sales by city up" })).toBeFocused();
  await page.keyboard.press("Enter");
  await expectAccessible(page);
  await page.getByRole("button", { name: "Save", exact: true }).click();
  await expect(page.getByRole("button", { name: "Edit layout" })).toBeVisible();

  const order = async () => (await widgets.locator(".widget-header h2").allTextContents()).map((t) => t.trim());
  const saved = await order();
  expect(saved.indexOf("E2E sales by city")).toBe(before - 2);
  await page.reload();
  await expect(page.getByRole("heading", { level: 1, name: TITLE })).toBeVisible();
  await expect(widgets).toHaveCount(before + 1);
  expect(await order()).toEqual(saved);
  await expect(page.locator('[data-widget="E2E sales by city"]')).toHaveAttribute("data-state", /ready|empty/);
  await expect(page.getByRole("button", { name: /Favorite/ })).toHaveAttribute("aria-pressed", "false");
  await expectAccessible(page);
  await screenshot(page, "workbook");
});
