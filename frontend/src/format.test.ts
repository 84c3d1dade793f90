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
