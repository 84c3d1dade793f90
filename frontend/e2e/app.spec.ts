import { DATA_CSV, expect, expectAccessible, graphql, screenshot, test, TOKEN } from "./fixtures";

test.describe.configure({ mode: "serial" });

test("without a token the server's 401 asks for one, kept for the session", async ({ page }) => {
  await page.goto("/status");
  // A service with sign-in for people opens on the sign-in page, which offers the token form.
  const instead = page.getByRole("button", { name: "Use an API token instead" });
  const signInPage = (await page.request.get("/api/auth/methods")).ok();
  if (signInPage) await instead.click();
  const dialog = page.getByRole("dialog", { name: "Sign in" });
  await expect(dialog).toBeVisible();
  await dialog.getByLabel("API token").fill(TOKEN);
  await dialog.getByRole("button", { name: "Sign in" }).click();
  await expect(dialog).toBeHidden();
  await expect(page.getByRole("table", { name: "Components" })).toBeVisible();
  expect(await page.evaluate(() => window.sessionStorage.getItem("sales-ingest.token"))).toBe(TOKEN);
});

test("uploading data.csv through the page reaches succeeded, followed live", async ({ signedIn: page }) => {
  // The task is followed over the GraphQL websocket (graphql-transport-ws), not by polling. The
  // socket may open with the page (the header's notifications use it too): listen from the start.
  const socket = page.waitForEvent("websocket", (ws) => ws.url().endsWith("/graphql"));
  await page.goto("/upload");
  await page.getByLabel("Choose a file").setInputFiles(DATA_CSV);
  await page.getByLabel("Datasource").fill("sales");
  await page.getByRole("button", { name: "Upload" }).click();
  await expect(page.getByText(/Sent .* \(100/)).toBeVisible();
  const updates = await socket;
  await updates.waitForEvent("framereceived", {
    predicate: (frame) => String(frame.payload).includes('"final":true'),
    timeout: 60_000,
  });
  await expect(page.locator("[data-task-status]")).toHaveAttribute("data-task-status", "succeeded", {
    timeout: 60_000,
  });
  await expect(page.getByRole("region", { name: "Timeline" }).getByText("succeeded").first()).toBeVisible();
  await screenshot(page, "upload");
  await expectAccessible(page);
});

test("uploading the same file again says so and links to the earlier task", async ({ signedIn: page }) => {
  await page.goto("/upload");
  await page.getByLabel("Choose a file").setInputFiles(DATA_CSV);
  await page.getByRole("button", { name: "Upload" }).click();
  const notice = page.getByTestId("duplicate");
  await expect(notice).toBeVisible();
  await notice.getByRole("link", { name: "the earlier task" }).click();
  await expect(page).toHaveURL(/\/tasks\/[^/]+$/);
  await expect(page.locator("[data-task-status]")).toHaveAttribute("data-task-status", "succeeded");
});

test("the dashboard's total sales equals salesSummary from the API", async ({ signedIn: page }) => {
  const { salesSummary } = await graphql<{ salesSummary: { totalSales: number } }>(
    page,
    'query { salesSummary(filter: { datasource: "sales" }) { totalSales } }',
  );
  await page.goto("/");
  const tile = page.locator('[data-kpi="totalSales"] .kpi-value');
  await expect(tile).toHaveAttribute("data-value", String(salesSummary.totalSales));
  const shown = await tile.textContent();
  const expected = new Intl.NumberFormat("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 }).format(
    salesSummary.totalSales,
  );
  expect(shown).toBe(expected);
  await expect(page.locator('[data-state="loading"]')).toHaveCount(0);
  await screenshot(page, "dashboard");
  await expectAccessible(page);
});

test("changing a filter changes the figures and the URL", async ({ signedIn: page }) => {
  await page.goto("/");
  const tile = page.locator('[data-kpi="totalSales"] .kpi-value');
  await expect(tile).not.toHaveAttribute("data-value", "");
  const before = await tile.getAttribute("data-value");
  await page.locator("summary", { hasText: "Branches" }).click();
  const branchA = page.getByRole("checkbox", { name: "A", exact: true });
  await branchA.click(); // the URL changes in a transition: the box is checked when it commits
  await expect(page).toHaveURL(/[?&]branch=A/);
  await expect(branchA).toBeChecked();
  await expect(tile).not.toHaveAttribute("data-value", before ?? "");
  const { salesSummary } = await graphql<{ salesSummary: { totalSales: number } }>(
    page,
    'query { salesSummary(filter: { datasource: "sales", branches: ["A"] }) { totalSales } }',
  );
  await expect(tile).toHaveAttribute("data-value", String(salesSummary.totalSales));
  await page.reload(); // the view is in the URL: a bookmark shows the same figures
  await expect(tile).toHaveAttribute("data-value", String(salesSummary.totalSales));
});

test("the profitability breakdown is kept in the URL", async ({ signedIn: page }) => {
  await page.goto("/");
  const widget = page.getByRole("region", { name: "Profitability" });
  await widget.getByLabel("Profitability by").selectOption("BRANCH");
  await expect(page).toHaveURL(/[?&]profit=branch/);
  await page.reload();
  await expect(widget.getByLabel("Profitability by")).toHaveValue("BRANCH");
  // the table (in a closed details element) has one row per branch now
  await expect(widget.locator("td", { hasText: /^A$/ })).toBeAttached();
});

test("the status page shows healthy components", async ({ signedIn: page }) => {
  await page.goto("/status");
  const table = page.getByRole("table", { name: "Components" });
  await expect(table).toBeVisible();
  for (const name of ["database", "storage"]) {
    await expect(table.getByRole("row").filter({ hasText: name }).locator('[data-status="healthy"]')).toBeVisible();
  }
  await expect(page.getByTestId("user-count")).toHaveText(/^\d[\d,]* users? (is|are) enabled\.$/);
  await screenshot(page, "status");
  await expectAccessible(page);
});

test("switching to warehouse without Druid shows the reason", async ({ signedIn: page }) => {
  await page.goto("/status");
  // Issue 25, item 9: the switch to Druid is disabled, with the reason beside it.
  await expect(page.getByRole("button", { name: "Use Apache Druid" })).toBeDisabled();
  await expect(page.getByTestId("druid-reason")).toContainText(/druid/i);
  await expect(page.getByTestId("engine")).toHaveText("embedded (Polars)");
});

test("the performance page lists the upload's pipeline run", async ({ signedIn: page }) => {
  await page.goto("/performance");
  const pipeline = page.locator('[data-pipeline="sales"]');
  await expect(pipeline).toBeVisible();
  await expect(pipeline.getByRole("link", { name: "data.csv" }).first()).toBeVisible();
  await page.getByRole("button", { name: "Pause auto-refresh" }).click();
  await expect(page.getByText("Auto-refresh paused.")).toBeVisible();
  await screenshot(page, "performance");
  await expectAccessible(page);
});

test("the tasks page lists the upload and opens its timeline", async ({ signedIn: page }) => {
  await page.goto("/tasks?status=succeeded");
  await page.getByRole("link", { name: "data.csv" }).first().click();
  await expect(page.getByRole("region", { name: "Timeline" })).toBeVisible();
  await screenshot(page, "tasks");
  await expectAccessible(page);
});
