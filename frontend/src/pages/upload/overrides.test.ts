import { describe, expect, it } from "vitest";

import type { Preview } from "./api";
import { NO_EDITS, overrides, problem, timeColumn } from "./overrides";

function column(name: string, type: string) {
  return { name, source_name: name, type, nullable: false, samples: [], distinct_estimate: 1, rule: null };
}

const PREVIEW: Preview = {
  columns: [column("day", "date"), column("store", "integer"), column("amount", "float")],
  rows: [["2024-01-02", "7", "1.5"]],
  time_column: "day",
  date_order: "month_first",
  rows_total: 1,
  overrides: null,
};

describe("overrides", () => {
  it("sends only what the person changed", () => {
    expect(overrides(NO_EDITS, PREVIEW)).toEqual({ types: {}, date_order: null, rename: {}, drop: [] });
  });

  it("sends types, date order, renames (trimmed, not to the same name) and drops by header name", () => {
    const edits = {
      types: { store: "string" },
      rename: { amount: " total ", day: "day", store: "" },
      drop: ["amount"],
      dateOrder: "day_first" as const,
      timeColumn: null,
    };
    expect(overrides(edits, PREVIEW)).toEqual({
      types: { store: "string" },
      date_order: "day_first",
      rename: { amount: "total" },
      drop: ["amount"],
    });
  });

  it("names a chosen time column as it will be stored", () => {
    const edits = { ...NO_EDITS, timeColumn: "day", rename: { day: "sold_on" } };
    expect(overrides(edits, PREVIEW).time_column).toBe("sold_on");
    expect(timeColumn(NO_EDITS, PREVIEW)).toBe("day");
  });
});

describe("problem", () => {
  it("refuses dropping the time column, every column, or two columns of one name", () => {
    expect(problem(NO_EDITS, PREVIEW)).toBeNull();
    expect(problem({ ...NO_EDITS, drop: ["day"] }, PREVIEW)).toBe(
      "The time column day cannot be dropped: choose another time column or untick Drop.",
    );
    expect(problem({ ...NO_EDITS, timeColumn: "store", drop: ["day", "store", "amount"] }, PREVIEW)).toBe(
      "Keep at least one column: untick Drop on one of them.",
    );
    expect(problem({ ...NO_EDITS, rename: { amount: "store" } }, PREVIEW)).toBe(
      "Two columns would be named store: rename one of them.",
    );
  });
});
