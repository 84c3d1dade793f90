import { describe, expect, it } from "vitest";

import { DASH, formatChange, formatInteger, formatPeriod, weekdayName } from "./format";

describe("format", () => {
  it("signs changes and shows a dash for missing figures", () => {
    expect(formatChange(12.5)).toMatch(/^\+12[.,]5\s?%$/);
    expect(formatChange(-3)).toMatch(/^[-−]3[.,]0\s?%$/);
    expect(formatChange(null)).toBe(DASH);
    expect(formatInteger(undefined)).toBe(DASH);
  });

  it("names quarters and weekdays (1 = Monday)", () => {
    expect(formatPeriod("2019-04-01T00:00:00Z", "QUARTER")).toBe("Q2 2019");
    expect(weekdayName(1)).toBe(
      new Intl.DateTimeFormat(undefined, { weekday: "short", timeZone: "UTC" }).format(new Date(Date.UTC(2024, 0, 1))),
    );
  });
});

describe("moments in the profile's time zone", () => {
  it("shows a moment in the zone the person chose, and back in the browser's", async () => {
    const { formatDateTime, setDisplayTimeZone } = await import("./format");
    const moment = "2026-12-05T23:30:00Z";
    setDisplayTimeZone("Asia/Tokyo");
    expect(formatDateTime(moment)).toContain("2026"); // Dec 6 in Tokyo
    expect(formatDateTime(moment)).toMatch(/Dec 6|6 Dec|12\/6/);
    setDisplayTimeZone("America/Los_Angeles");
    expect(formatDateTime(moment)).toMatch(/Dec 5|5 Dec|12\/5/);
    setDisplayTimeZone("Not/AZone");
    expect(formatDateTime(moment)).toMatch(/Dec 5|5 Dec|12\/5/); // unknown: unchanged
    setDisplayTimeZone(null);
  });
});

// The same outputs as tests/test_units.py pins for backend/units.py (the CLI's and the service's
// messages), in the test runner's locale (en-US).
describe("sizes, rates and counts", () => {
  it("shows sizes in B, KB, MB with one decimal at most (1 KB = 1,024 bytes)", async () => {
    const { formatBytes } = await import("./format");
    expect(formatBytes(0)).toBe("0 B");
    expect(formatBytes(37)).toBe("37 B");
    expect(formatBytes(525)).toBe("525 B");
    expect(formatBytes(1023)).toBe("1,023 B");
    expect(formatBytes(1024)).toBe("1 KB");
    expect(formatBytes(1536)).toBe("1.5 KB");
    expect(formatBytes(1310720)).toBe("1.3 MB");
    expect(formatBytes(1048575)).toBe("1 MB");
    expect(formatBytes(500 * 1024 * 1024)).toBe("500 MB");
    expect(formatBytes(12.345 * 1024 ** 3)).toBe("12.3 GB");
    expect(formatBytes(null)).toBe(DASH);
  });

  it("shows rates per second and counts with the right word", async () => {
    const { formatCount, formatRate } = await import("./format");
    expect(formatRate(3)).toBe("3 B/s");
    expect(formatRate(3.4 * 1024 * 1024)).toBe("3.4 MB/s");
    expect(formatCount(0, "row")).toBe("0 rows");
    expect(formatCount(1, "row")).toBe("1 row");
    expect(formatCount(2, "row")).toBe("2 rows");
    expect(formatCount(1234, "row")).toBe("1,234 rows");
    expect(formatCount(1, "entry", "entries")).toBe("1 entry");
    expect(formatCount(3, "entry", "entries")).toBe("3 entries");
  });
});

describe("money", () => {
  it("is a plain number until the service names its currency, then shows it", async () => {
    const { formatMoney, setCurrency } = await import("./format");
    expect(formatMoney(1234.5)).toBe("1,234.50");
    setCurrency("EUR");
    expect(formatMoney(1234.5)).toBe("€1,234.50");
    setCurrency("USD");
    expect(formatMoney(-3)).toBe("-$3.00");
    setCurrency(null);
    expect(formatMoney(1234.5)).toBe("1,234.50");
    expect(formatMoney(null)).toBe(DASH);
  });
});
