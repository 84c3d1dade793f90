import { describe, expect, it } from "vitest";

import { filtersFromParams, filtersToParams, toSalesFilter } from "./filters";
import { describeRange, resolveRange, todayIn, type RelativeRange } from "./relativeRange";

const on = (today: string) => (range: RelativeRange) => resolveRange(range, today);

describe("relative date ranges", () => {
  it("counts the last days up to and including today", () => {
    const at = on("2026-12-04");
    expect(at("last-7-days")).toEqual({ from: "2026-11-28", to: "2026-12-04" });
    expect(at("last-30-days")).toEqual({ from: "2026-11-05", to: "2026-12-04" });
    expect(at("last-90-days")).toEqual({ from: "2026-09-06", to: "2026-12-04" });
  });

  it("takes yesterday as one day, across a year and a leap day", () => {
    expect(on("2027-01-01")("yesterday")).toEqual({ from: "2026-12-31", to: "2026-12-31" });
    expect(on("2024-03-01")("yesterday")).toEqual({ from: "2024-02-29", to: "2024-02-29" });
  });

  it("crosses a year and a leap day", () => {
    expect(on("2024-01-03")("last-7-days")).toEqual({ from: "2023-12-28", to: "2024-01-03" });
    expect(on("2024-03-01")("last-7-days")).toEqual({ from: "2024-02-24", to: "2024-03-01" });
    expect(on("2023-03-01")("last-7-days")).toEqual({ from: "2023-02-23", to: "2023-03-01" });
  });

  it("takes whole previous months, leap February included", () => {
    expect(on("2024-03-31")("previous-month")).toEqual({ from: "2024-02-01", to: "2024-02-29" });
    expect(on("2023-03-15")("previous-month")).toEqual({ from: "2023-02-01", to: "2023-02-28" });
    expect(on("2027-01-01")("previous-month")).toEqual({ from: "2026-12-01", to: "2026-12-31" });
    expect(on("2026-12-31")("this-month")).toEqual({ from: "2026-12-01", to: "2026-12-31" });
    expect(on("2026-12-01")("this-month")).toEqual({ from: "2026-12-01", to: "2026-12-01" });
  });

  it("takes quarters by the calendar, across the year's edge", () => {
    expect(on("2026-05-20")("this-quarter")).toEqual({ from: "2026-04-01", to: "2026-05-20" });
    expect(on("2026-05-20")("previous-quarter")).toEqual({ from: "2026-01-01", to: "2026-03-31" });
    expect(on("2026-02-10")("previous-quarter")).toEqual({ from: "2025-10-01", to: "2025-12-31" });
    expect(on("2026-12-31")("this-quarter")).toEqual({ from: "2026-10-01", to: "2026-12-31" });
    expect(on("2024-04-01")("previous-quarter")).toEqual({ from: "2024-01-01", to: "2024-03-31" });
  });

  it("takes the year to date and the whole previous year", () => {
    expect(on("2026-12-04")("year-to-date")).toEqual({ from: "2026-01-01", to: "2026-12-04" });
    expect(on("2025-02-28")("previous-year")).toEqual({ from: "2024-01-01", to: "2024-12-31" });
    expect(on("2026-12-04")("all-time")).toEqual({ from: null, to: null });
  });

  it("says what a range covers in words", () => {
    // Intl puts thin spaces around the dash: compare with plain ones.
    const describe = (range: RelativeRange, today: string) => describeRange(range, today).replace(/\u2009/g, " ");
    expect(describe("last-30-days", "2026-12-04")).toBe("Last 30 days: Nov 5 – Dec 4, 2026");
    expect(describe("previous-month", "2019-02-10")).toBe("Previous month: Jan 1 – 31, 2019");
    expect(describeRange("all-time", "2026-12-04")).toBe("All time: every day of the data");
  });

  it("finds today in the profile's time zone", () => {
    const moment = new Date("2026-12-04T23:30:00Z");
    expect(todayIn("UTC", moment)).toBe("2026-12-04");
    expect(todayIn("Asia/Tokyo", moment)).toBe("2026-12-05");
    expect(todayIn("America/Los_Angeles", moment)).toBe("2026-12-04");
    expect(todayIn("Not/AZone", moment)).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  });

  it("stays relative in the URL and is resolved when the dashboard asks", () => {
    const filters = filtersFromParams(new URLSearchParams("range=previous-quarter&from=2019-01-01&branch=A"));
    expect(filters).toMatchObject({ range: "previous-quarter", dateFrom: null, dateTo: null });
    expect(filtersToParams(filters).toString()).toBe("range=previous-quarter&branch=A");
    expect(toSalesFilter(filters, "2026-12-04")).toEqual({
      datasource: "sales",
      dateFrom: "2026-07-01",
      dateTo: "2026-09-30",
      branches: ["A"],
    });
    expect(filtersFromParams(new URLSearchParams("range=last-week")).range).toBeNull();
  });
});
