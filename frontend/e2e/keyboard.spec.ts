import { expect, test } from "./fixtures";

test("the pages and the filters work from the keyboard", async ({ signedIn: page }) => {
  await page.goto("/");
  await expect(page.locator('[data-kpi="totalSales"] .kpi-value')).not.toHaveAttribute("data-value", "");
  await page.keyboard.press("Tab");
  await expect(page.getByRole("link", { name: "Skip to content" })).toBeFocused();
  await page.keyboard.press("Tab");
  await expect(page.getByRole("link", { name: "Dashboard" })).toBeFocused();
  await page.keyboard.press("Tab");
  await expect(page.getByRole("link", { name: "Workbooks" })).toBeFocused();
  await page.keyboard.press("Tab");
  await page.keyboard.press("Enter");
  await expect(page).toHaveURL(/\/upload$/);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Upload sales data");

  await page.goto("/");
  const payments = page.locator("details", { has: page.locator("summary", { hasText: "Payments" }) });
  await payments.locator("summary").focus();
  await page.keyboard.press("Enter");
  await expect(payments.getByRole("checkbox")).toHaveCount(3); // the options have loaded
  await page.keyboard.press("Tab");
  const first = payments.getByRole("checkbox").first();
  await expect(first).toBeFocused();
  await page.keyboard.press("Space");
  await expect(page).toHaveURL(/[?&]payment=/);
  await expect(first).toBeChecked();
});

/** The WCAG contrast ratio between the focused element's focus ring and what is behind the ring:
 * the nearest ancestor with an opaque background (the ring is drawn outside the element). */
async function focusRingContrast(page: import("@playwright/test").Page): Promise<{ name: string; ratio: number }> {
  return page.evaluate(() => {
    const rgb = (color: string): number[] | null => {
      const m = color.match(/rgba?\(([\d.]+)[, ]+([\d.]+)[, ]+([\d.]+)(?:[, /]+([\d.]+))?\)/);
      if (!m) return null;
      if (m[4] !== undefined && Number(m[4]) < 1) return null; // not opaque
      return [Number(m[1]), Number(m[2]), Number(m[3])];
    };
    const luminance = ([r, g, b]: number[]) => {
      const [R, G, B] = [r, g, b].map((v) => {
        const c = v / 255;
        return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
      });
      return 0.2126 * R + 0.7152 * G + 0.0722 * B;
    };
    const el = document.activeElement as HTMLElement;
    const style = getComputedStyle(el);
    const ring = rgb(style.outlineColor) ?? [0, 0, 0];
    let behind: number[] = [255, 255, 255];
    for (let node = el.parentElement; node; node = node.parentElement) {
      const color = rgb(getComputedStyle(node).backgroundColor);
      if (color) {
        behind = color;
        break;
      }
    }
    const [a, b] = [luminance(ring), luminance(behind)].sort((x, y) => y - x);
    const name = `${el.tagName.toLowerCase()}${el.getAttribute("type") ? `[${el.getAttribute("type")}]` : ""} "${(el.getAttribute("aria-label") ?? el.textContent ?? "").trim().slice(0, 30)}"`;
    return { name, ratio: style.outlineStyle === "none" ? 0 : (a + 0.05) / (b + 0.05) };
  });
}

test("every focus ring on the dashboard stands out from what is behind it (3:1 or more)", async ({
  signedIn: page,
}) => {
  await page.goto("/");
  await expect(page.getByRole("heading", { level: 1 })).toBeVisible();
  const weak: string[] = [];
  for (let i = 0; i < 40; i += 1) {
    await page.keyboard.press("Tab");
    const { name, ratio } = await focusRingContrast(page);
    if (name.startsWith("body")) continue; // past the last control: focus leaves the page
    if (ratio < 3) weak.push(`${name}: ${ratio.toFixed(2)}:1`);
  }
  expect(weak).toEqual([]);
});
