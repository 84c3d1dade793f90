import { describe, expect, it } from "vitest";

import type { Preview } from "./api";
import { carriedDropped, NO_EDITS, overrides, problem, refusedWords, timeColumn, typesFixed } from "./overrides";

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

  it("says the types are fixed where the service said so, or another datasource exists; not for a new one", () => {
    const fixed = { ...PREVIEW, schema_fixed: true, schema_fixed_why: "sales follows the sales contract." };
    expect(typesFixed(fixed, "sales", "sales", ["sales"])).toBe("sales follows the sales contract.");
    expect(typesFixed(fixed, "sales", "fresh", ["sales"])).toBeNull();
    expect(typesFixed(PREVIEW, "fresh", "fresh", ["sales"])).toBeNull();
    expect(typesFixed(PREVIEW, "fresh", "sales", ["sales"])).toBe(
      "The datasource sales already exists: its column types are fixed, only the date order can change.",
    );
  });

  it("sends no types where they are fixed", () => {
    const edits = { ...NO_EDITS, types: { store: "string" }, dateOrder: "day_first" as const };
    expect(overrides(edits, PREVIEW, true)).toEqual({ types: {}, date_order: "day_first", rename: {}, drop: [] });
  });

  it("carries the columns an earlier preview had and the next one dropped", () => {
    const next = { ...PREVIEW, columns: PREVIEW.columns.slice(0, 2) };
    expect(carriedDropped(null, next)).toEqual([]);
    const first = carriedDropped({ preview: PREVIEW, dropped: [] }, next);
    expect(first.map((c) => c.source_name)).toEqual(["amount"]);
    // a third preview still lists it, once
    expect(carriedDropped({ preview: next, dropped: first }, next).map((c) => c.source_name)).toEqual(["amount"]);
    // kept again: the next preview has it, so it is no longer carried
    expect(carriedDropped({ preview: next, dropped: first }, PREVIEW)).toEqual([]);
  });

  it("says why a Load was refused, and that the choices are kept", () => {
    expect(refusedWords(false, { message: "column 'Quantity' must be integer.", plainDetail: null })).toBe(
      "Load was refused: column 'Quantity' must be integer. Your choices are kept: change them, or the datasource " +
        "in Load into, then press Load again.",
    );
    expect(refusedWords(true, null)).toContain("Preview again was refused: its task failed.");
  });
});
