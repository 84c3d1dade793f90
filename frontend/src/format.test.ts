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
