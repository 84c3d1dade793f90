import { expect, test } from "./fixtures";

test("a running upload is cancelled from its page, then retried to success", async ({ signedIn: page }) => {
  // New bytes each run (a duplicate would answer with the earlier task).
  const csv = `day,amount\n2024-02-01,${Date.now()}\n`;
  await page.goto("/upload");
  await page
    .getByLabel("Choose a file")
    .setInputFiles({ name: "slow.csv", mimeType: "text/csv", buffer: Buffer.from(csv) });
  await page.getByLabel("Datasource").fill("scratch");
  await page.getByRole("button", { name: "Upload" }).click();
  const task = page.locator("[data-task-status]");
  // The server under test waits 2 s while storing (WORKER_DEBUG_PAUSE_SECONDS): cancel then.
  await expect(task).toHaveAttribute("data-task-status", "loading", { timeout: 30_000 });
  await task.getByRole("button", { name: "Cancel" }).click();
  await expect(task).toHaveAttribute("data-task-status", "cancelled", { timeout: 30_000 });
  await expect(task.getByRole("button", { name: "Cancel" })).toHaveCount(0);

  await task.getByRole("button", { name: "Retry" }).click();

  await expect(task).toHaveAttribute("data-task-status", "succeeded", { timeout: 60_000 });
  const timeline = page.getByRole("region", { name: "Timeline" });
  await expect(timeline.getByText("retry requested")).toBeVisible();
  await expect(timeline.getByText(/cancelled/).first()).toBeVisible();
});
