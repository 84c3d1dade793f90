import { describe, expect, it } from "vitest";

import { nextPeriod, partialPeriods } from "./partial";

const months = ["2019-01-01T00:00:00+00:00", "2019-02-01T00:00:00+00:00", "2019-03-01T00:00:00+00:00"];

describe("partialPeriods", () => {
  it("marks a last month the data end in the middle of", () => {
    const coverage = { start: "2019-01-01T00:00:00+00:00", end: "2019-03-31T00:00:00+00:00" };
    expect(partialPeriods(months, "MONTH", coverage)).toEqual([false, false, true]);
  });

  it("marks a first month a range starts in the middle of", () => {
    const coverage = { start: "2019-01-15T00:00:00+00:00", end: "2019-04-01T00:00:00+00:00" };
    expect(partialPeriods(months, "MONTH", coverage)).toEqual([true, false, false]);
  });

  it("marks nothing when the selection covers whole periods", () => {
    const coverage = { start: "2019-01-01T00:00:00+00:00", end: "2019-04-01T00:00:00+00:00" };
    expect(partialPeriods(months, "MONTH", coverage)).toEqual([false, false, false]);
    const days = ["2019-01-01T00:00:00+00:00", "2019-01-02T00:00:00+00:00"];
    expect(partialPeriods(days, "DAY", { start: days[0], end: "2019-01-03T00:00:00+00:00" })).toEqual([false, false]);
  });

  it("marks a week cut by the range at either end", () => {
    const weeks = ["2018-12-31T00:00:00+00:00", "2019-01-07T00:00:00+00:00"];
    const coverage = { start: "2019-01-01T00:00:00+00:00", end: "2019-01-10T00:00:00+00:00" };
    expect(partialPeriods(weeks, "WEEK", coverage)).toEqual([true, true]);
  });

  it("steps quarters and years in UTC", () => {
    expect(nextPeriod(new Date("2019-10-01T00:00:00Z"), "QUARTER").toISOString()).toBe("2020-01-01T00:00:00.000Z");
    expect(nextPeriod(new Date("2019-01-01T00:00:00Z"), "YEAR").toISOString()).toBe("2020-01-01T00:00:00.000Z");
  });
});
