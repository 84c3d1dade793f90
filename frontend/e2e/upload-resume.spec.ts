// A large file from the Upload page goes in parts through an upload session (Uppy): paused after
// its first part, the page reloaded, the same file chosen again, and the upload resumed sends only
// the parts the server does not have; the task then succeeds. The server runs with
// UPLOAD_PART_MB=5 (tests/e2e/test_frontend_browser.py); ?parts_above_mb=1 sends this file of
// about 12 MiB in parts (3).
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import type { Request, Route } from "@playwright/test";

import { expect, expectAccessible, screenshot, test } from "./fixtures";

const MB = 1024 * 1024;
const PART_PUT = /\/api\/uploads\/[^/]+\/parts\/\d+(\?|$)/;

/** A CSV of a date, a store and an amount, a little over `mb` MiB; its rows are its own (a
 * stamp), so that it is never a duplicate of an earlier run's. */
function bigCsv(mb: number): string {
  const stamp = Date.now().toString(36);
  const lines = ["day,store,amount"];
  let size = lines[0]!.length + 1;
  for (let i = 0; size < mb * MB; i += 1) {
    const line = `2024-01-${String((i % 28) + 1).padStart(2, "0")},s${stamp}${i % 97},${(i % 1000) / 10}`;
    lines.push(line);
    size += line.length + 1;
  }
  const path = join(mkdtempSync(join(tmpdir(), "parts-")), "big.csv");
  writeFileSync(path, lines.join("\n") + "\n");
  return path;
}

function partNumber(request: Request): number {
  return Number(new URL(request.url()).pathname.split("/").pop());
}

test("a file sent in parts is paused, the page reloaded, the same file resumed, and its task succeeds", async ({
  signedIn: page,
}) => {
  const file = bigCsv(12);
  const datasource = `parts_${Date.now().toString(36)}`;
  // Part 1 reaches the server; parts 2 and 3 are held (as on a slow line) until the pause stops them.
  const held: Route[] = [];
  await page.route(PART_PUT, async (route) => {
    if (route.request().method() !== "PUT") return route.continue();
    if (partNumber(route.request()) === 1) return route.continue();
    held.push(route);
  });
  await page.goto("/upload?parts_above_mb=1");
  await expect(page.getByRole("heading", { level: 1, name: "Upload sales data" })).toBeVisible();
  await page.getByLabel("Choose a file").setInputFiles(file);
  await expect(page.getByTestId("chosen-file")).toContainText("it is sent in parts");
  await page.getByLabel("Datasource").fill(datasource);
  await page.getByRole("button", { name: "Upload", exact: true }).click();

  const parts = page.getByTestId("parts");
  await expect(parts).toContainText("in 3 parts of 5 MB");
  await expect.poll(() => held.length).toBe(2);
  const session = await page.evaluate(() => {
    const records = JSON.parse(localStorage.getItem("sales-ingest.upload-sessions") ?? "[]") as { id: string }[];
    return records[0]?.id ?? "";
  });
  expect(session).not.toBe("");
  await expect
    .poll(async () => {
      const answer = await page.request.get(`/api/uploads/${session}`, {
        headers: { Authorization: `Bearer ${process.env.ADMIN_TOKEN}` },
      });
      return ((await answer.json()) as { parts: unknown[] }).parts.length;
    })
    .toBe(1);
  await parts.getByRole("button", { name: "Pause" }).click();
  await expect(parts).toContainText("Paused. The parts sent so far are kept on the server");
  await screenshot(page, "upload-parts-paused");
  await expectAccessible(page);
  await page.unroute(PART_PUT);
  for (const route of held) await route.abort().catch(() => undefined); // already stopped by the pause

  // A new visit: the same file chosen again continues the session from the parts the server has.
  await page.reload();
  await expect(page.getByRole("heading", { level: 1, name: "Upload sales data" })).toBeVisible();
  const sentAfter: number[] = [];
  page.on("request", (request) => {
    if (request.method() === "PUT" && PART_PUT.test(request.url())) sentAfter.push(partNumber(request));
  });
  await page.getByLabel("Choose a file").setInputFiles(file);
  const notice = page.getByTestId("resumable");
  await expect(notice).toContainText(`An unfinished upload of big.csv to the datasource ${datasource} was found`);
  await expect(notice).toContainText("1 of 3 parts");
  await expectAccessible(page);
  await page.getByRole("button", { name: "Resume upload" }).click();

  await expect(page.locator("[data-task-status]")).toHaveAttribute("data-task-status", "succeeded", {
    timeout: 60_000,
  });
  expect(sentAfter.sort()).toEqual([2, 3]);
  await expect(page.getByText(/Sent .* \(100/)).toBeVisible();
  await screenshot(page, "upload-parts-resumed");
  await expectAccessible(page);
});
