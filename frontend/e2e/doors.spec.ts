import type { Locator, Page } from "@playwright/test";

import { DATA_CSV, expect, expectAccessible, screenshot, test } from "./fixtures";

test.describe.configure({ mode: "serial" });

/** Press Tab until `target` has the focus (a keyboard user's way there), at most `limit` times. */
async function tabTo(page: Page, target: Locator, limit = 30): Promise<void> {
  for (let i = 0; i < limit; i++) {
    if (await target.evaluate((node) => node === document.activeElement)) return;
    await page.keyboard.press("Tab");
  }
  await expect(target).toBeFocused();
}

test("a duplicate upload offers Load again anyway, which loads the file as a new task", async ({ signedIn: page }) => {
  const name = `doors_${Date.now()}`;
  await page.goto("/upload");
  await page.getByLabel("Choose a file").setInputFiles(DATA_CSV);
  const field = page.getByLabel("Datasource");
  await field.fill(name);
  await expect(page.getByText(`A new datasource named ${name} will be created.`)).toBeVisible();
  await page.getByRole("button", { name: "Upload", exact: true }).click();
  const task = page.locator("[data-task-status]");
  await expect(task).toHaveAttribute("data-task-status", "succeeded", { timeout: 60_000 });
  const first = await page.getByRole("link", { name: /^[0-9a-f]{32}$/ }).textContent();

  await field.fill(`${name} `); // the spaces around a name are dropped, as the service does
  await expect(page.getByText(`The file's rows will be added to the existing datasource ${name}.`)).toBeVisible();
  await page.getByRole("button", { name: "Upload", exact: true }).click();
  const notice = page.getByTestId("duplicate");
  await expect(notice).toBeVisible();
  await expect(notice).toBeFocused();
  await expect(notice).not.toContainText("force");
  const again = notice.getByRole("button", { name: "Load again anyway" });
  await expect(again).toBeVisible();
  await screenshot(page, "upload-advice");
  await expectAccessible(page);

  await again.click();

  await expect(notice).toBeHidden();
  await expect(page.getByRole("link", { name: first ?? "", exact: true })).toBeHidden();
  await expect(page.getByRole("heading", { name: "Task status" })).toBeFocused();
  await expect(task).toHaveAttribute("data-task-status", "succeeded", { timeout: 60_000 });
  const second = await page.getByRole("link", { name: /^[0-9a-f]{32}$/ }).textContent();
  expect(second).not.toBe(first);
  await expect(task.getByText("Rows", { exact: true }).locator("xpath=following-sibling::dd[1]")).toContainText(
    /[1-9][0-9,]* valid/,
  );
});

test("an upload made with the keyboard alone ends with the focus on the new task's status", async ({
  signedIn: page,
}) => {
  const csv = `day,amount\n2024-03-01,${Date.now()}\n`;
  await page.goto("/upload");
  await expect(page.getByRole("heading", { level: 1 })).toBeVisible();
  const chooser = page.getByLabel("Choose a file");
  await tabTo(page, chooser);
  await chooser.setInputFiles({ name: "keys.csv", mimeType: "text/csv", buffer: Buffer.from(csv) });
  await page.keyboard.press("Tab");
  const field = page.getByLabel("Datasource");
  await expect(field).toBeFocused();
  await page.keyboard.press("ControlOrMeta+a");
  await page.keyboard.type("keyboard-only");
  await expect(field).toHaveAccessibleDescription(
    "A datasource name has only letters, digits and underscores: “-” is not allowed.",
  );
  await page.keyboard.press("ControlOrMeta+a");
  await page.keyboard.type(`keys_${Date.now()}`);
  const send = page.getByRole("button", { name: "Upload", exact: true });
  await tabTo(page, send);
  await page.keyboard.press("Enter");

  const status = page.getByRole("heading", { name: "Task status" });
  await expect(status).toBeFocused({ timeout: 30_000 });
  await expect(page.locator("[data-task-status]")).toHaveAttribute("data-task-status", "succeeded", {
    timeout: 60_000,
  });
  await expectAccessible(page);
});
