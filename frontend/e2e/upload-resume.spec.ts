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
  const checksums: (string | undefined)[] = [];
  page.on("request", (request) => {
    if (request.method() === "PUT" && PART_PUT.test(request.url())) {
      checksums.push(request.headers()["x-amz-checksum-sha256"]);
    }
  });
  await page.goto("/upload?parts_above_mb=1");
  await expect(page.getByRole("heading", { level: 1, name: "Upload sales data" })).toBeVisible();
  await expect(page.getByTestId("parts-threshold")).toHaveText(
    "Files over 1 MB are sent in parts you can pause and resume.",
  );
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
  // Each part goes with its sha256 (base64), so that a part changed on the way is refused.
  expect(checksums.length).toBeGreaterThan(0);
  for (const sum of checksums) expect(sum).toMatch(/^[A-Za-z0-9+/]{43}=$/);
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
  await expect(notice).toContainText("1 part of 3 parts");
  // The session's own datasource and options are shown, and locked until Start over.
  await expect(notice).toContainText(
    `continues the upload to ${datasource}, preview: no, invalid rows: reject the file`,
  );
  await expect(page.getByLabel("Datasource")).toHaveValue(datasource);
  await expect(page.getByLabel("Datasource")).toHaveAttribute("readonly", "");
  await expect(page.getByLabel("Preview first")).toBeDisabled();
  await expect(page.getByLabel("Mode")).toBeDisabled();
  await expectAccessible(page);
  await page.getByRole("button", { name: "Resume upload" }).click();

  await expect(page.locator("[data-task-status]")).toHaveAttribute("data-task-status", "succeeded", {
    timeout: 60_000,
  });
  expect(sentAfter.sort()).toEqual([2, 3]);
  await expect(page.getByText(/Sent .* \(100/)).toBeVisible();
  await expect(page.getByText("Sent 12 MB of 12 MB (100%)")).toBeVisible();
  await screenshot(page, "upload-parts-resumed");
  await expectAccessible(page);
});

test("Cancel asks first, then says the upload was cancelled and its parts removed", async ({ signedIn: page }) => {
  const file = bigCsv(12);
  const held: Route[] = [];
  await page.route(PART_PUT, async (route) => {
    if (route.request().method() !== "PUT" || partNumber(route.request()) === 1) return route.continue();
    held.push(route);
  });
  await page.goto("/upload?parts_above_mb=1");
  await page.getByLabel("Choose a file").setInputFiles(file);
  await page.getByLabel("Datasource").fill(`cancel_${Date.now().toString(36)}`);
  await page.getByRole("button", { name: "Upload", exact: true }).click();
  const parts = page.getByTestId("parts");
  await expect.poll(() => held.length).toBe(2);
  const session = await page.evaluate(() => {
    const records = JSON.parse(localStorage.getItem("sales-ingest.upload-sessions") ?? "[]") as { id: string }[];
    return records[records.length - 1]?.id ?? "";
  });
  const headers = { Authorization: `Bearer ${process.env.ADMIN_TOKEN}` };
  await expect
    .poll(async () => {
      const answer = await page.request.get(`/api/uploads/${session}`, { headers });
      return ((await answer.json()) as { parts: unknown[] }).parts.length;
    })
    .toBe(1);

  await parts.getByRole("button", { name: "Cancel the upload" }).click();
  const asked = parts.getByRole("group", { name: "Cancel the upload?" });
  await expect(asked).toContainText("The parts sent so far are removed from the server");
  await asked.getByRole("button", { name: "No, keep it" }).click();
  await expect(asked).toBeHidden();
  await parts.getByRole("button", { name: "Cancel the upload" }).click();
  await expectAccessible(page);
  await asked.getByRole("button", { name: "Yes, cancel it" }).click();

  await expect(page.getByTestId("cancelled")).toHaveText(
    "The upload was cancelled, and the 1 part sent was removed from the server.",
  );
  await expect(parts).toBeHidden();
  const answer = await page.request.get(`/api/uploads/${session}`, { headers });
  expect(((await answer.json()) as { status: string }).status).toBe("aborted");
  await page.unroute(PART_PUT);
  for (const route of held) await route.abort().catch(() => undefined);
});

test("a part whose bytes changed on the way is refused at once; Retry sends it again", async ({ signedIn: page }) => {
  const file = bigCsv(12);
  // Part 2 arrives with one byte changed: its sha256 no longer matches, and the service refuses it.
  await page.route(PART_PUT, async (route) => {
    const request = route.request();
    if (request.method() !== "PUT" || partNumber(request) !== 2) return route.continue();
    const body = Buffer.from(request.postDataBuffer() ?? Buffer.alloc(0));
    body[10] = body[10] === 0x41 ? 0x42 : 0x41;
    return route.continue({ postData: body });
  });
  await page.goto("/upload?parts_above_mb=1");
  await page.getByLabel("Choose a file").setInputFiles(file);
  await page.getByLabel("Datasource").fill(`sums_${Date.now().toString(36)}`);
  await page.getByRole("button", { name: "Upload", exact: true }).click();
  const parts = page.getByTestId("parts");
  await expect(parts).toContainText("Sending stopped on a part that failed", { timeout: 30_000 });
  await expect(page.getByText("A part of the file was refused (HTTP 422)")).toBeVisible();
  await screenshot(page, "upload-parts-refused");

  await page.unroute(PART_PUT);
  await parts.getByRole("button", { name: "Retry" }).click();
  await expect(page.locator("[data-task-status]")).toHaveAttribute("data-task-status", "succeeded", {
    timeout: 60_000,
  });
});
