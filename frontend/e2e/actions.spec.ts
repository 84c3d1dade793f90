import { expect, expectAccessible, graphql, screenshot, test } from "./fixtures";

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

// The Actions page (issue 26): an alert on a schedule read back in words as it is typed, run now,
// its run in the history; a webhook whose signing secret is shown once.
test.describe("the Actions page", () => {
  test("an alert on a schedule: words and next times as typed, a bad cron's sentence, run now", async ({
    signedIn: page,
  }) => {
    const name = `Low sales ${Date.now().toString(36)}`;
    await page.goto("/");
    await page.getByRole("navigation", { name: "Pages" }).getByRole("link", { name: "Actions" }).click();
    await expect(page.getByRole("heading", { level: 1, name: "Actions" })).toBeVisible();
    await page.getByRole("button", { name: "New action" }).click();
    const form = page.getByRole("form", { name: "New action" });
    await expect(form.getByLabel("Name")).toBeFocused(); // the form takes the focus
    await page.keyboard.type(name);
    await page.keyboard.press("Tab");
    await expect(form.getByLabel("Kind")).toBeFocused();
    await form.getByLabel("Kind").selectOption("alert");
    // Datasource and column are picked from the datasources the app knows, the measure in words.
    await form.getByRole("combobox", { name: "Datasource" }).selectOption("sales");
    await form.getByLabel("Measure").selectOption({ label: "Sum of" });
    // A picker of its numeric columns once the datasource has some; typed while it has none.
    const column = form.getByLabel("Column");
    if ((await column.evaluate((el) => el.tagName)) === "SELECT") await column.selectOption({ index: 1 });
    else await column.fill("Total"); // the sales contract's name (checked when the action is saved)
    await form.getByLabel("Value").fill("1000");
    await form.getByLabel("Time zone", { exact: true }).first().fill("UTC");
    await form.getByLabel("When").selectOption("schedule");
    // The next times are read in the schedule's own zone, which they name. (Set before the cron:
    // the zone's suggestion list stays open after typing and would take the next click.)
    await form.getByLabel("Time zone", { exact: true }).last().fill("Europe/Berlin");

    const cron = form.getByLabel("Cron expression");
    await cron.fill("");
    await cron.pressSequentially("61 * * * *");
    await expect(cron).toHaveAttribute("aria-invalid", "true");
    await expect(cron).toHaveAccessibleDescription(/\S.*\./);
    // The sentence is said once (under the field), not twice.
    const problem = form.locator(".field-problem", { hasText: "61" });
    await expect(problem).toHaveCount(1);
    await expect(problem).toBeVisible();

    await cron.fill("");
    await cron.pressSequentially("0 8 * * 1-5");
    const preview = form.locator('[data-schedule="valid"]');
    await expect(preview.locator(".schedule-words")).toHaveText(/Europe\/Berlin/);
    await expect(preview.getByRole("listitem")).toHaveCount(5);
    await expect(preview.getByRole("listitem").first()).toHaveText(/, 08:00 \(Europe\/Berlin\)$/);
    await screenshot(page, "actions-form");
    await expectAccessible(page);

    await form.getByRole("button", { name: "Create action" }).click();
    const card = page.getByRole("listitem", { name });
    await expect(card).toBeVisible();
    await expect(card.getByRole("list", { name: "Triggers" })).toHaveText(/\S/);
    await card.getByRole("button", { name: "Run now" }).click();
    await expect(card.getByText("A run is queued: its progress shows in the run history.")).toBeVisible();
    const run = card.locator("[data-run-status]").first();
    await expect(run).toBeVisible();
    // The workers take the run: it ends (succeeded, or failed with its reason) while the page watches.
    await expect(run).toHaveAttribute("data-run-status", /succeeded|failed/, { timeout: 60_000 });
    // The card's last run follows once the run has ended.
    const ended = await run.getAttribute("data-run-status");
    // An alert's card says its state (OK or firing) rather than "succeeded".
    await expect(card.getByTestId("last-run").locator("[data-status]")).toHaveAttribute(
      "data-status",
      ended === "succeeded" ? /^(ok|firing)$/ : (ended ?? ""),
    );
    await screenshot(page, "actions-run-history");
    await expectAccessible(page);
  });

  test("a webhook's signing secret is shown once", async ({ signedIn: page }) => {
    const name = `Tell the team ${Date.now().toString(36)}`;
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto("/actions");
    await page.getByRole("button", { name: "New action" }).click();
    const form = page.getByRole("form", { name: "New action" });
    await form.getByLabel("Name").fill(name);
    await form.getByLabel("Kind").selectOption("webhook");
    const address = form.getByLabel("Address");
    await address.fill("hooks.example.com");
    await expect(
      form.getByText("Give an http:// or https:// address, such as https://example.com/hook."),
    ).toBeVisible();
    await address.fill("http://127.0.0.1:9/hook");
    await form.getByRole("button", { name: "Create action" }).click();

    const notice = page.getByRole("region", { name: `The signing secret of ${name}` });
    await expect(notice).toContainText("Copy it now: it will not be shown again.");
    const secret = (await notice.getByTestId("action-secret").textContent()) ?? "";
    expect(secret).toMatch(/^whsec_/);
    await screenshot(page, "actions-secret-390");
    await expectAccessible(page);
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    expect(width).toBeLessThanOrEqual(390);

    await notice.getByRole("button", { name: "I have copied it" }).click();
    await page.reload();
    const card = page.getByRole("listitem", { name });
    await expect(card).toBeVisible();
    await expect(page.getByText(secret)).toHaveCount(0);

    // This service allows no loopback address (ACTIONS_ALLOWED_HOSTS is unset): the delivery is
    // refused before any packet leaves, and the run's log says so.
    await card.getByRole("button", { name: "Run now" }).click();
    const run = card.locator("[data-run-status]").first();
    await expect(run).toHaveAttribute("data-run-status", "failed", { timeout: 60_000 });
    await run.getByText(/^Deliveries/).click();
    await expect(run.locator("[data-delivery]").first()).toContainText("refused");
    await screenshot(page, "actions-refused-390");
    await expectAccessible(page);
  });

  test("Edit then Save without changes keeps the params the form does not show", async ({ signedIn: page }) => {
    const name = `Feed ${Date.now().toString(36)}`;
    const params = {
      url: "http://127.0.0.1:9/feed.csv",
      datasource: "scratch",
      mode: "append",
      on_invalid: "skip",
      max_invalid_ratio: 0.25,
      time_column: "Date",
    };
    const made = await graphql<{ createAction: { action: { id: string } } }>(
      page,
      "mutation ($input: ActionInput!) { createAction(input: $input) { action { id } } }",
      { input: { name, kind: "import", params, triggers: [{ type: "manual" }], enabled: false } },
    );
    await page.goto("/actions");
    const card = page.getByRole("listitem", { name });
    // A paused action says so in words, and its controls carry its name.
    await expect(card.getByText("Paused", { exact: true })).toBeVisible();
    await expect(card.getByRole("switch", { name: `Enabled: ${name}` })).not.toBeChecked();
    await card.getByRole("button", { name: `Edit: ${name}` }).click();
    await page
      .getByRole("form", { name: `Change ${name}` })
      .getByRole("button", { name: "Save changes" })
      .click();
    await expect(page.getByRole("form", { name: `Change ${name}` })).toHaveCount(0);
    const saved = await graphql<{ action: { params: Record<string, unknown> } }>(
      page,
      "query ($id: ID!) { action(id: $id) { params } }",
      { id: made.createAction.action.id },
    );
    expect(saved.action.params).toMatchObject(params);
    await screenshot(page, "actions-paused");
    await expectAccessible(page);
  });

  test("the notifications panel fits a 390 px screen", async ({ signedIn: page }) => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto("/actions");
    // The page's own content first: axe below judges the whole page, heading included.
    await expect(page.getByRole("heading", { level: 1, name: "Actions" })).toBeVisible();
    await page.getByRole("button", { name: /notification/i }).click();
    const panel = page.locator(".notifications-popover");
    await expect(panel).toBeVisible();
    const box = await panel.boundingBox();
    expect(box).not.toBeNull();
    expect(box?.x ?? -1).toBeGreaterThanOrEqual(0);
    expect((box?.x ?? 0) + (box?.width ?? 1000)).toBeLessThanOrEqual(390);
    // No title is cut: each line's text fits inside the panel.
    const overflowing = await panel.evaluate(
      (root) =>
        [root, ...Array.from(root.querySelectorAll<HTMLElement>(".notification"))].filter(
          (el) => el.scrollWidth > el.clientWidth + 1,
        ).length,
    );
    expect(overflowing).toBe(0);
    await screenshot(page, "actions-bell-390");
    await expectAccessible(page);
  });
});
