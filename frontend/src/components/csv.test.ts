import { describe, expect, it } from "vitest";

import { csvName, toCsv } from "./csv";

describe("toCsv", () => {
  it("writes exact numbers, not the formatted figures", () => {
    const text = toCsv({ columns: ["Branch", "Total sales", "Share"], rows: [["A", 106200.3705, 0.3403]] });
    expect(text).toBe("Branch,Total sales,Share\nA,106200.3705,0.3403\n");
  });

  it("quotes commas, quotes and line breaks, and leaves missing values empty", () => {
    const text = toCsv({ columns: ["Name", "Note"], rows: [['Food, "fresh"', null]] });
    expect(text).toBe('Name,Note\n"Food, ""fresh""",\n');
  });

  it("keeps a text a spreadsheet would run as a formula as text, and negative numbers as numbers", () => {
    const text = toCsv({
      columns: ["Value", "Change"],
      rows: [
        ["=HYPERLINK(1)", -5],
        ["-5", true],
      ],
    });
    expect(text).toBe("Value,Change\n'=HYPERLINK(1),-5\n-5,true\n");
  });

  it("names the file after the widget", () => {
    expect(csvName("Sales by customer type")).toBe("sales-by-customer-type.csv");
  });
});
