import { describe, expect, it } from "vitest";

import { analyticsFilters, hourFilter, rowsCsvUrl, weekdayDates } from "./scope";

describe("rows scope", () => {
  it("maps the dashboard's filter onto the analytics query's filters", () => {
    expect(analyticsFilters({ datasource: "sales", dateFrom: "2019-01-05", branches: ["A"], genders: [] })).toEqual([
      { kind: "DATE_RANGE", column: "__time", values: ["2019-01-05", null] },
      { kind: "IN", column: "Branch", values: ["A"] },
    ]);
  });

  it("lists the days of one weekday between two dates", () => {
    // 2019-01-01 was a Tuesday; the Mondays of January 2019:
    expect(weekdayDates("2019-01-01", "2019-01-31", 1)).toEqual([
      "2019-01-07",
      "2019-01-14",
      "2019-01-21",
      "2019-01-28",
    ]);
    expect(weekdayDates("2019-01-01", "2019-01-01", 2)).toEqual(["2019-01-01"]);
  });

  it("takes a whole hour of the day", () => {
    expect(hourFilter(9).values).toEqual(["09:00:00", "09:59:59.999999"]);
  });

  it("addresses the CSV of all matching rows with the filters and the order", () => {
    const url = new URL(
      rowsCsvUrl("sales", [{ kind: "IN", column: "Branch", values: ["A"] }], "Total", true),
      "http://x",
    );
    expect(url.pathname).toBe("/api/datasources/sales/rows.csv");
    expect(JSON.parse(url.searchParams.get("filters") ?? "")).toEqual([
      { kind: "IN", column: "Branch", values: ["A"] },
    ]);
    expect(url.searchParams.get("order")).toBe("Total");
    expect(url.searchParams.get("descending")).toBe("true");
  });
});
