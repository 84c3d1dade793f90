import AxeBuilder from "@axe-core/playwright";
import { expect, test as base, type APIResponse, type Browser, type BrowserContext, type Page } from "@playwright/test";

export const TOKEN = process.env.ADMIN_TOKEN ?? "";
export const DATA_CSV = process.env.DATA_CSV ?? "../data.csv";
export const BAD_CSV = process.env.BAD_CSV ?? "";
/** A person with a password (tests/e2e/test_frontend_browser.py makes them with the CLI); empty
 * when that checkout's CLI cannot set passwords yet. */
export const USER_NAME = process.env.USER_NAME ?? "";
export const USER_PASSWORD = process.env.USER_PASSWORD ?? "";
/** Two people with a token each (tests/e2e/test_frontend_browser.py makes them with the CLI): an
 * uploader and a viewer; empty when the suite runs without them. */
export const UPLOADER = { name: process.env.UPLOADER_NAME ?? "", token: process.env.UPLOADER_TOKEN ?? "" };
export const VIEWER = { name: process.env.VIEWER_NAME ?? "", token: process.env.VIEWER_TOKEN ?? "" };
const TOKEN_KEY = "sales-ingest.token";

/** A page whose browser session already holds the admin token (as after a sign-in). */
export const test = base.extend<{ signedIn: Page }>({
  signedIn: async ({ page }, use) => {
    await page.addInitScript(([key, token]) => window.sessionStorage.setItem(key, token), [TOKEN_KEY, TOKEN]);
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

/** A browser context of its own (cookies, storage) whose every tab holds `token` in its session
 * storage, as after that person's sign-in with a token: one person per context. */
export async function contextWithToken(browser: Browser, token: string): Promise<BrowserContext> {
  const context = await browser.newContext({ baseURL: process.env.BASE_URL });
  await context.addInitScript(([key, value]) => window.sessionStorage.setItem(key, value), [TOKEN_KEY, token]);
  return context;
}

/** What a script holding `token` reads and writes over HTTP, beside that person's pages. */
export function apiAs(page: Page, token: string) {
  const headers = { Authorization: `Bearer ${token}` };
  return {
    get: (url: string): Promise<APIResponse> => page.request.get(url, { headers }),
    post: (url: string, data?: unknown): Promise<APIResponse> => page.request.post(url, { headers, data }),
    patch: (url: string, data: unknown): Promise<APIResponse> => page.request.patch(url, { headers, data }),
    /** A GraphQL query's whole answer: data and errors. */
    graphql: async <T>(query: string, variables: Record<string, unknown> = {}) => {
      const response = await page.request.post("/graphql", { headers, data: { query, variables } });
      expect(response.ok(), await response.text()).toBe(true);
      return (await response.json()) as {
        data: T | null;
        errors?: { message: string; extensions?: Record<string, unknown> }[];
      };
    },
  };
}

export async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: `test-results/screenshots/${name}.png`, fullPage: true });
}

/** axe-core on the page as it is: no violation at all, whatever its impact (a duplicate landmark
 * name is "moderate", and a person with a screen reader still meets it on every page). */
export async function expectAccessible(page: Page, options: { soft?: boolean } = {}): Promise<void> {
  const results = await new AxeBuilder({ page }).analyze();
  const check = options.soft ? expect.soft : expect; // soft: a spec of many pages lists them all
  check(
    results.violations.map(
      (v) =>
        `${v.id} (${v.impact ?? "unknown"}): ${v.help} (${v.nodes
          .map((n) => n.target.join(" "))
          .slice(0, 3)
          .join("; ")})`,
    ),
    `axe on ${new URL(page.url()).pathname}`,
  ).toEqual([]);
}
