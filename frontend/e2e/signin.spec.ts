// Sign-in for people: no token in this browser, so the app opens on the sign-in page; a person
// made by tests/e2e/test_frontend_browser.py (`users create`, `users set-password`) signs in with
// a password and out again.
import { expect, expectAccessible, screenshot, test, USER_NAME, USER_PASSWORD } from "./fixtures";

test.describe.configure({ mode: "serial" });

test.beforeEach(async ({ page }) => {
  const methods = await page.request.get("/api/auth/methods");
  test.skip(!methods.ok(), "this service has no sign-in for people (GET /api/auth/methods is not there)");
});

test("without a session or a token the first screen is the sign-in page", async ({ page }) => {
  await page.goto("/status");
  await expect(page.getByRole("heading", { level: 1, name: "Sign in" })).toBeVisible();
  await expect(page).toHaveURL(/\/sign-in\?next=%2Fstatus$/);
  await expect(page.getByRole("navigation", { name: "Pages" })).toBeHidden();
  await expect(page.getByRole("alert")).toHaveCount(0); // no twelve red boxes behind it
  await expect(page.getByLabel("Name")).toHaveAttribute("autocomplete", "username");
  await expect(page.getByLabel("Password")).toHaveAttribute("autocomplete", "current-password");
  await screenshot(page, "sign-in");
  await expectAccessible(page);
});

test("a used or unknown sign-in link is explained", async ({ page }) => {
  await page.goto("/api/auth/link/not-a-real-link");
  await expect(page).toHaveURL(/\/sign-in\?error=link$/);
  await expect(page.getByRole("alert")).toHaveText(
    "This sign-in link was already used or has expired. Ask an administrator for a new one.",
  );
});

test.describe("with a password", () => {
  test.skip(!USER_NAME || !USER_PASSWORD, "USER_NAME and USER_PASSWORD are not set (no `users set-password` yet)");

  test("a wrong password says so in a sentence", async ({ page }) => {
    await page.goto("/");
    await page.getByLabel("Name").fill(USER_NAME);
    await page.getByLabel("Password").fill(`${USER_PASSWORD}-wrong`);
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(page.getByRole("alert")).toContainText("The name or password is not right.");
    await expect(page).toHaveURL(/\/sign-in$/);
  });

  test("the right password signs in, back to the page asked for; Sign out returns to sign-in", async ({ page }) => {
    await page.goto("/?branch=A");
    await expect(page).toHaveURL(/\/sign-in\?next=/);
    await page.getByLabel("Name").fill(USER_NAME);
    await page.getByLabel("Password").fill(USER_PASSWORD);
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(page.getByRole("heading", { level: 1, name: "Sales dashboard" })).toBeVisible();
    await expect(page).toHaveURL(/\/\?branch=A$/);
    await expect(page.locator('[data-kpi="totalSales"] .kpi-value')).not.toHaveAttribute("data-value", "");
    // the cookie, not a token: nothing is kept in the tab's storage
    expect(await page.evaluate(() => window.sessionStorage.getItem("sales-ingest.token"))).toBeNull();
    const cookies = await page.context().cookies();
    expect(cookies.find((cookie) => cookie.name === "sales_session")).toMatchObject({
      httpOnly: true,
      sameSite: "Lax",
    });

    await page.getByRole("button", { name: USER_NAME, exact: true }).click(); // the person's name opens the menu
    await page.getByRole("button", { name: "Sign out", exact: true }).click();
    await expect(page.getByRole("heading", { level: 1, name: "Sign in" })).toBeVisible();
    await expect(page).toHaveURL(/\/sign-in$/);
    await page.goto("/status"); // the session is over on the server too
    await expect(page).toHaveURL(/\/sign-in\?next=%2Fstatus$/);
  });

  test("Sign out everywhere ends the session too", async ({ page }) => {
    await page.goto("/sign-in");
    await page.getByLabel("Name").fill(USER_NAME);
    await page.getByLabel("Password").fill(USER_PASSWORD);
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(page.getByRole("heading", { level: 1, name: "Sales dashboard" })).toBeVisible();
    await page.getByRole("button", { name: USER_NAME, exact: true }).click();
    await page.getByRole("button", { name: "Sign out everywhere" }).click();
    await expect(page.getByRole("heading", { level: 1, name: "Sign in" })).toBeVisible();
    const session = await page.request.get("/api/auth/session");
    expect(session.status()).toBe(401);
  });
});
