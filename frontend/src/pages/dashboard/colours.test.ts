import { describe, expect, it } from "vitest";

import { colourFor, PALETTE } from "./colours";

describe("colourFor", () => {
  it("gives a value the same colour whatever its rank among the values shown", () => {
    const before = ["Member", "Normal"].map((v) => colourFor("customerType", v));
    const after = ["Normal", "Member"].map((v) => colourFor("customerType", v));
    expect(after).toEqual([before[1], before[0]]);
  });

  it("gives the values of one dimension distinct colours", () => {
    expect(colourFor("gender", "Female")).not.toBe(colourFor("gender", "Male"));
    const payments = ["Cash", "Credit card", "Ewallet"].map((v) => colourFor("payment", v));
    expect(new Set(payments).size).toBe(3);
  });

  it("derives a colour of the palette from an unknown value's text, the same every time", () => {
    const colour = colourFor("region", "North");
    expect(PALETTE).toContain(colour);
    expect(colourFor("region", "North")).toBe(colour);
  });
});
