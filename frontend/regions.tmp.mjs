import { chromium } from "@playwright/test";
import AxeBuilder from "@axe-core/playwright";
const token = process.argv[2];
const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--no-sandbox"] });
const ctx = await browser.newContext({ baseURL: "http://127.0.0.1:8765" });
await ctx.addInitScript((t) => sessionStorage.setItem("sales-ingest.token", t), token);
const page = await ctx.newPage();
const width = Number(process.env.W ?? 1400);
await page.setViewportSize({ width, height: 900 });
for (const path of process.argv.slice(3)) {
  await page.goto(path);
  await page.waitForTimeout(4000);
  const r = await new AxeBuilder({ page }).analyze();
  for (const v of r.violations) for (const n of v.nodes) console.log(path, v.id, n.target.join(" "), n.html.slice(0, 200), JSON.stringify(n.any.map(a=>a.message)), n.failureSummary?.slice(0,300));
  if (width < 600) {
    const wide = await page.evaluate(() => { const out=[]; for (const e of document.querySelectorAll("body *")) { const r=e.getBoundingClientRect(); if (r.right > window.innerWidth + 1) out.push(`${e.tagName}.${e.className} ${Math.round(r.right)}`); } return [document.documentElement.scrollWidth, out.slice(0, 12)]; });
    console.log(path, "wide", JSON.stringify(wide));
  }
}
await browser.close();
