import { describe, expect, it } from "vitest";

import { overridesWords } from "./overrides";

describe("overridesWords", () => {
  it("says each kind of change in a sentence", () => {
    expect(
      overridesWords({
        types: { store_code: "string", qty: "float" },
        dateOrder: "day_first",
        rename: { product: "item" },
        drop: ["units"],
      }),
    ).toEqual([
      "Types chosen: store_code as string and qty as float.",
      "Dates were read day first (1/5/2024 is May 1).",
      "Renamed: product to item.",
      "Left out: units (a column of the file not loaded).",
    ]);
  });

  it("says nothing when there are no changes", () => {
    expect(overridesWords(null)).toEqual([]);
    expect(overridesWords({ types: {}, dateOrder: null, rename: {}, drop: [] })).toEqual([]);
  });
});
