import { describe, expect, it } from "vitest";

import {
  breakdownColumns,
  chooseDashboard,
  type DatasourceInfo,
  distinctCounts,
  hasSalesColumns,
  isNumeric,
  isText,
  MAX_BREAKDOWNS,
  SALES_COLUMNS,
} from "./choice";
import { breakdownQuery, distinctQuery, shownColumns } from "./plan";
import { pageWidgets } from "./workbook";

const TIME = { name: "__time", type: "Datetime(time_unit='us', time_zone='UTC')" };
const sales: DatasourceInfo = {
  name: "sales",
  rowCount: 1000,
  columns: [...SALES_COLUMNS.map((name) => ({ name, type: "String" })), { name: "Invoice ID", type: "String" }, TIME],
};
const shop: DatasourceInfo = {
  name: "shop",
  rowCount: 12,
  columns: [
    { name: "day", type: "Date" },
    { name: "store", type: "String" },
    { name: "amount", type: "Float64" },
    TIME,
  ],
};

describe("which dashboard a datasource gets", () => {
  it("gives the sales dashboard to a datasource with every sales column, any name", () => {
    expect(chooseDashboard("sales", [sales, shop])).toEqual({ kind: "sales" });
    const copy = { ...sales, name: "sales_2020" };
    expect(chooseDashboard("sales_2020", [copy])).toEqual({ kind: "sales" });
  });

  it("gives the page built from its contract to a datasource without them", () => {
    expect(chooseDashboard("shop", [sales, shop])).toEqual({ kind: "generic", datasource: shop });
    const almost = { ...sales, name: "almost", columns: sales.columns.filter((c) => c.name !== "Rating") };
    expect(hasSalesColumns(almost.columns)).toBe(false);
    expect(chooseDashboard("almost", [almost]).kind).toBe("generic");
  });

  it("says a datasource that does not exist does not, once the list is known", () => {
    expect(chooseDashboard("nowhere", undefined)).toEqual({ kind: "loading" });
    expect(chooseDashboard("nowhere", [sales, shop])).toEqual({ kind: "missing", name: "nowhere" });
  });

  it("opens the default datasource's sales dashboard at once, and as before when it has no data yet", () => {
    expect(chooseDashboard("sales", undefined)).toEqual({ kind: "sales" });
    expect(chooseDashboard("sales", [shop])).toEqual({ kind: "sales" });
    expect(chooseDashboard("shop", undefined, true)).toEqual({ kind: "sales" });
  });
});

describe("the breakdowns of a datasource", () => {
  it("tells numbers and text apart by the engine's types", () => {
    expect(shop.columns.filter(isNumeric).map((c) => c.name)).toEqual(["amount"]);
    expect(shop.columns.filter(isText).map((c) => c.name)).toEqual(["store"]);
    expect(isNumeric({ name: "n", type: "Int64" })).toBe(true);
  });

  it("breaks the rows down by the text columns of 30 distinct values or fewer, at most six", () => {
    const text = ["id", "store", "city", "note", "empty", "a", "b", "c", "d", "e"];
    const counts = { id: 5000, store: 3, city: 30, note: 31, empty: 0, a: 1, b: 2, c: 4, d: 5, e: 6 };
    expect(breakdownColumns(text, counts)).toEqual(["store", "city", "a", "b", "c", "d"]);
    expect(breakdownColumns(text, counts)).toHaveLength(MAX_BREAKDOWNS);
    expect(breakdownColumns(["store"], {})).toEqual([]);
  });

  it("counts the distinct values of every text column in one analytics query", () => {
    const query = distinctQuery("shop", ["store", "category"]);
    expect(query.measures).toEqual([
      { aggregate: "COUNT_DISTINCT", column: "store", alias: "distinct_0" },
      { aggregate: "COUNT_DISTINCT", column: "category", alias: "distinct_1" },
    ]);
    const answer = { columns: ["distinct_0", "distinct_1"], rows: [[3, 41]] };
    expect(distinctCounts(["store", "category"], answer)).toEqual({ store: 3, category: 41 });
    expect(breakdownColumns(["store", "category"], distinctCounts(["store", "category"], answer) ?? {})).toEqual([
      "store",
    ]);
  });

  it("sums and averages the numeric columns in each breakdown, the biggest groups first", () => {
    const query = breakdownQuery("shop", "store", ["amount"]);
    expect(query.dimensions).toEqual(["store"]);
    expect(query.measures.map((m) => [m.aggregate, m.column ?? null])).toEqual([
      ["COUNT", null],
      ["SUM", "amount"],
      ["AVG", "amount"],
    ]);
    expect(query.order?.[0]).toEqual({ name: "__rows", descending: true });
  });

  it("leaves the time column out of the rows table when a date column of its own says it", () => {
    expect(shownColumns(["day", "store", "__time"], true)).toEqual(["day", "store"]);
    expect(shownColumns(["store", "__time"], false)).toEqual(["store", "__time"]);
  });

  it("names its figures apart from any column it breaks down by, even one called rows or sum_0", () => {
    for (const column of ["rows", "sum_0", "avg_0"]) {
      const query = breakdownQuery("d", column, ["amount"]);
      const names = (query.measures ?? []).map((m) => m.alias);
      expect(names).not.toContain(column);
    }
  });
});

describe("the page as a workbook", () => {
  it("holds the rows counted, the first number's sum, the trend and each breakdown", () => {
    const widgets = pageWidgets({
      datasource: "shop",
      numbers: ["amount"],
      breakdowns: ["store"],
      granularity: "WEEK",
    });
    expect(widgets.map((w) => [w.kind, w.title])).toEqual([
      ["kpi", "Rows"],
      ["kpi", "Sum of amount"],
      ["trend", "Rows over time"],
      ["breakdown", "Sum of amount by store"],
    ]);
    expect(widgets[2]?.query.granularity).toBe("week");
    expect(widgets[3]?.query).toMatchObject({ datasource: "shop", dimensions: ["store"] });
  });

  it("counts rows where there is no number, and leaves the trend out without a time column", () => {
    const widgets = pageWidgets({ datasource: "notes", numbers: [], breakdowns: ["author"], granularity: null });
    expect(widgets.map((w) => [w.kind, w.title])).toEqual([
      ["kpi", "Rows"],
      ["breakdown", "Rows by author"],
    ]);
  });
});
