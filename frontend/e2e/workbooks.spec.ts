import { readFile } from "node:fs/promises";

import type { Page } from "@playwright/test";

import { expect, expectAccessible, graphql, screenshot, test, TOKEN } from "./fixtures";

test.describe.configure({ mode: "serial" });

/** A workbook saved through the REST API, as a script would. */
async function createWorkbook(page: Page, body: Record<string, unknown>): Promise<{ id: string; owner: string }> {
  const response = await page.request.post("/api/workbooks", {
    data: body,
    headers: { Authorization: `Bearer ${TOKEN}` },
  });
  expect(response.status(), await response.text()).toBeLessThan(300);
  return (await response.json()) as { id: string; owner: string };
}

test("workbooks are found by tag chip and by search, favorited, and lead to their owner's profile", async ({
  signedIn: page,
}) => {
  const run = Date.now().toString(36);
  const tag = `e2e-coastal-${run}`;
  const coastal = await createWorkbook(page, {
    title: `Zanzibar coastal margins ${run}`,
    description: "Gross margins of the coastal branches, by month.",
    datasource: "sales",
    tags: [tag, "finance"],
    visibility: "shared",
  });
  await createWorkbook(page, {
    title: `Inland payment mix ${run}`,
    description: "How inland customers pay.",
    datasource: "sales",
    tags: ["payments"],
    visibility: "shared",
  });
  const { me } = await graphql<{ me: { name: string; displayName: string } }>(
    page,
    "query { me { name displayName } }",
  );

  await page.goto("/workbooks");
  await expect(page.getByRole("heading", { level: 1, name: "Workbooks" })).toBeVisible();
  await expect(page.getByRole("region", { name: "Your feed" })).toBeVisible();
  await expect(page.getByRole("banner").getByRole("link", { name: me.displayName })).toHaveAttribute("href", "/me");
  await screenshot(page, "workbooks");
  await expectAccessible(page);

  // By tag chip: only the coastal workbook, and the URL keeps the tag.
  await page.getByRole("button", { name: new RegExp(`^${tag}`) }).click();
  await expect(page).toHaveURL(new RegExp(`tag=${tag}`));
  await expect(page.getByRole("region", { name: "Your feed" })).toBeHidden();
  const list = page.getByRole("region", { name: "Matching workbooks" });
  await expect(list.getByRole("link", { name: `Zanzibar coastal margins ${run}` })).toBeVisible();
  await expect(list.getByRole("link", { name: `Inland payment mix ${run}` })).toBeHidden();
  await page.getByRole("button", { name: new RegExp(`^${tag}`) }).click();

  // By search: typed, then kept in the URL after a pause.
  await page.getByRole("searchbox", { name: "Search" }).fill("Zanzibar");
  await expect(page).toHaveURL(/q=Zanzibar/);
  const card = page.locator(`[data-workbook="${coastal.id}"]`);
  await expect(card.getByRole("link", { name: `Zanzibar coastal margins ${run}` })).toBeVisible();
  await expect(list.getByRole("link", { name: `Inland payment mix ${run}` })).toBeHidden();

  // The star, from the keyboard; the favorite is the server's too.
  const star = card.getByRole("button", { name: `Favorite Zanzibar coastal margins ${run}` });
  await expect(star).toHaveAttribute("aria-pressed", "false");
  await star.focus();
  await page.keyboard.press("Enter");
  await expect(star).toHaveAttribute("aria-pressed", "true");
  await expect
    .poll(async () => {
      const { workbook } = await graphql<{ workbook: { favorited: boolean } }>(
        page,
        "query($id: ID!) { workbook(id: $id) { favorited } }",
        { id: coastal.id },
      );
      return workbook.favorited;
    })
    .toBe(true);
  // A click, then the state: the box follows the URL, which the router changes a moment later.
  await page.getByLabel("Favorites only").click();
  await expect(page.getByLabel("Favorites only")).toBeChecked();
  await expect(card).toBeVisible();
  await expectAccessible(page);

  // The owner's public profile.
  await card.getByRole("link", { name: coastal.owner }).click();
  await expect(page).toHaveURL(new RegExp(`/users/${coastal.owner}$`));
  await expect(page.getByRole("heading", { level: 1 })).toContainText(me.displayName);
  await expect(page.getByRole("link", { name: `Zanzibar coastal margins ${run}` })).toBeVisible();
  await expect(page.getByTestId("workbook-count")).toHaveText(/workbooks? you can see\./);
  await screenshot(page, "profile");
  await expectAccessible(page);
});

test("your profile page saves your settings and says what the server refused", async ({ signedIn: page }) => {
  await page.goto("/me");
  const zone = page.getByLabel("Time zone");
  await expect(zone).toBeVisible();
  await zone.fill("Mars/Olympus");
  await page.getByRole("button", { name: "Save settings" }).click();
  await expect(page.getByRole("alert")).toContainText("Mars/Olympus");
  await zone.fill("Europe/Paris");
  await page.getByRole("button", { name: "Save settings" }).click();
  await expect(page.getByText("Your settings are saved.")).toBeVisible();
  await screenshot(page, "me");
  await expectAccessible(page);
});

test("the notifications bell sits in the header for a signed-in person", async ({ signedIn: page }) => {
  await page.goto("/workbooks");
  const bell = page.getByRole("button", { name: /^Notifications/ });
  await expect(bell).toBeVisible();
  await bell.click();
  await expect(bell).toHaveAttribute("aria-expanded", "true");
  await page.keyboard.press("Escape");
  await expect(bell).toHaveAttribute("aria-expanded", "false");
  await expect(bell).toBeFocused();
});

test("a workbook is exported, imported back as a private copy, and opened", async ({ signedIn: page }) => {
  const run = Date.now().toString(36);
  const title = `Export round trip ${run}`;
  const original = await createWorkbook(page, {
    title,
    description: "Sales by city, to take elsewhere.",
    datasource: "sales",
    widgets: [
      {
        kind: "breakdown",
        title: "Sales by city",
        query: { datasource: "sales", measures: [{ aggregate: "sum", column: "Total" }], dimensions: ["City"] },
        size: { width: 6, height: 3 },
      },
    ],
    tags: [`e2e-export-${run}`],
    visibility: "shared",
  });

  // Export: the file is the server's JSON document, named after the workbook.
  await page.goto(`/workbooks/${original.id}`);
  await expect(page.getByRole("heading", { level: 1, name: title })).toBeVisible();
  const exportButton = page.getByRole("button", { name: "Export" });
  await exportButton.focus();
  const downloading = page.waitForEvent("download");
  await page.keyboard.press("Enter");
  const download = await downloading;
  expect(download.suggestedFilename()).toBe(`${title}.workbook.json`);
  const file = await download.path();
  const exported = JSON.parse(await readFile(file, "utf8")) as { format: string; workbook: { title: string } };
  expect(exported.format).toBe("sales-ingest.workbook");
  expect(exported.workbook.title).toBe(title);

  // Import it back: a link to the new workbook, no warnings (this installation has "sales").
  await page.goto("/workbooks");
  const importer = page.locator("details.import-workbook");
  await importer.locator("summary").focus();
  await page.keyboard.press("Enter");
  await page.getByLabel("Workbook file (JSON)").setInputFiles(file);
  const imported = importer.getByRole("link", { name: title, exact: true });
  await expect(page.getByText("is imported as a private workbook of yours.")).toBeVisible();
  await expect(page.getByRole("list", { name: "Warnings about the import" })).toBeHidden();
  await expectAccessible(page);

  // The same document naming a datasource this installation lacks: imported, with a warning.
  const elsewhere = { ...exported, workbook: { ...exported.workbook, datasource: `nowhere_${run}` } };
  await page.getByLabel("Workbook file (JSON)").setInputFiles({
    name: "elsewhere.workbook.json",
    mimeType: "application/json",
    buffer: Buffer.from(JSON.stringify(elsewhere)),
  });
  await expect(page.getByRole("list", { name: "Warnings about the import" })).toContainText(
    `This installation has no datasource 'nowhere_${run}' yet`,
  );
  await expectAccessible(page);

  // Not an export: the server's sentence, and how to get a file that is one.
  await page.getByLabel("Workbook file (JSON)").setInputFiles({
    name: "other.json",
    mimeType: "application/json",
    buffer: Buffer.from(JSON.stringify({ format: "something-else", version: 1, workbook: {} })),
  });
  const refusal = page.getByRole("alert");
  await expect(refusal).toContainText("The workbook could not be imported");
  await expect(refusal).toContainText("Choose a JSON file that Export on a workbook downloaded.");
  await expectAccessible(page);

  // Back to the first import: it opens, private, with the same widget.
  await page.getByLabel("Workbook file (JSON)").setInputFiles(file);
  await expect(imported).toBeVisible();
  const href = await imported.getAttribute("href");
  expect(href).not.toBe(`/workbooks/${original.id}`);
  await imported.click();
  await expect(page).toHaveURL(href ?? "");
  await expect(page.getByRole("heading", { level: 1, name: title })).toBeVisible();
  await expect(page.locator(".wb-meta")).toContainText("private");
  await expect(page.getByTestId("workbook-widget")).toHaveCount(1);
  await expect(page.getByRole("heading", { name: "Sales by city" })).toBeVisible();
  await expectAccessible(page);
});
