import AxeBuilder from "@axe-core/playwright";
import { expect, test as base, type Page } from "@playwright/test";

export const TOKEN = process.env.ADMIN_TOKEN ?? "";
export const DATA_CSV = process.env.DATA_CSV ?? "../data.csv";
export const BAD_CSV = process.env.BAD_CSV ?? "";
/** A person with a password (tests/e2e/test_frontend_browser.py makes them with the CLI); empty
 * when that checkout's CLI cannot set passwords yet. */
export const USER_NAME = process.env.USER_NAME ?? "";
export const USER_PASSWORD = process.env.USER_PASSWORD ?? "";

/** A page whose browser session already holds the admin token (as after a sign-in). */
export const test = base.extend<{ signedIn: Page }>({
  signedIn: async ({ page }, use) => {
    await page.addInitScript((token) => window.sessionStorage.setItem("sales-ingest.token", token), TOKEN);
    await use(page);
  },
});
export { expect };

export async function graphql<T>(page: Page, query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const response = await page.request.post("/graphql", {
    data: { query, variables },
    headers: { Authorization: `Bearer ${TOKEN}` },
  });
  const body = (await response.json()) as { data: T; errors?: unknown };
  expect(body.errors).toBeUndefined();
  return body.data;
}

export async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: `test-results/screenshots/${name}.png`, fullPage: true });
}

/** axe-core on the page as it is: no serious or critical violation. */
export async function expectAccessible(page: Page): Promise<void> {
  const results = await new AxeBuilder({ page }).analyze();
  const bad = results.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  expect(
    bad.map(
      (v) =>
        `${v.id}: ${v.help} (${v.nodes
          .map((n) => n.target.join(" "))
          .slice(0, 3)
          .join("; ")})`,
    ),
  ).toEqual([]);
}
