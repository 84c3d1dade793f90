import { render, screen, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";

import { analyticsInput, dashboardFilters, documentFilters, filterDocs } from "./filters";
import { widgetView } from "./render";
import type { WidgetDoc, WidgetKind } from "./types";
import { WidgetBody } from "./WorkbookWidget";

function widget(kind: WidgetKind, query: Partial<WidgetDoc["query"]> = {}): WidgetDoc {
  return {
    kind,
    title: "Sales by branch",
    query: { datasource: "sales", measures: [{ aggregate: "sum", column: "Total" }], ...query },
    size: { width: 6, height: 4 },
  };
}

const byBranch = {
  columns: ["Branch", "sum_Total"],
  rows: [
    ["A", 1200.5],
    ["B", 800],
  ],
};

describe("widgetView", () => {
  it("shows a key figure as one number with its measure's label", () => {
    const view = widgetView(widget("kpi"), { columns: ["sum_Total"], rows: [[322966.75]] });
    expect(view).toMatchObject({ type: "number", label: "Sum of Total", value: 322966.75 });
  });

  it("shows a breakdown and a top N as bars of the first measure", () => {
    for (const kind of ["breakdown", "top_n"] as const) {
      const view = widgetView(widget(kind, { dimensions: ["Branch"] }), byBranch);
      expect(view.type).toBe("bars");
      if (view.type === "bars")
        expect(view.points).toEqual([
          { key: "A", value: 1200.5 },
          { key: "B", value: 800 },
        ]);
      expect(view.figures).toEqual({
        headers: ["Branch", "Sum of Total"],
        rows: [
          ["A", "1,200.50"],
          ["B", "800.00"],
        ],
      });
    }
  });

  it("shows a trend per period of its granularity", () => {
    const view = widgetView(widget("trend", { granularity: "month" }), {
      columns: ["__period", "sum_Total"],
      rows: [
        ["2019-01-01T00:00:00", 10],
        ["2019-02-01T00:00:00", 20],
      ],
    });
    expect(view.type).toBe("line");
    expect(view.figures.headers).toEqual(["Period", "Sum of Total"]);
    expect(view.figures.rows.map((r) => r[1])).toEqual(["10.00", "20.00"]);
  });

  it("counts as integers, and a rating distribution as columns", () => {
    const w = widget("rating_distribution", { measures: [{ aggregate: "count" }], dimensions: ["Rating"] });
    const view = widgetView(w, {
      columns: ["Rating", "count"],
      rows: [
        [4, 12],
        [4.1, 1500],
      ],
    });
    expect(view.type).toBe("columns");
    expect(view.figures.rows).toEqual([
      ["4", "12"],
      ["4.1", "1,500"],
    ]);
  });

  it("stacks each measure of a profitability widget", () => {
    const w = widget("profitability", {
      measures: [
        { aggregate: "sum", column: "cogs" },
        { aggregate: "sum", column: "gross income", alias: "Income" },
      ],
      dimensions: ["Product line"],
    });
    const view = widgetView(w, { columns: ["Product line", "sum_cogs", "Income"], rows: [["Sports", 100, 5]] });
    expect(view).toMatchObject({
      type: "stacked",
      series: ["Sum of cogs", "Income"],
      rows: [{ key: "Sports", values: [100, 5] }],
    });
  });

  it("lays a heatmap's two dimensions out as a grid", () => {
    const w = widget("heatmap", { dimensions: ["City", "Payment"] });
    const view = widgetView(w, {
      columns: ["City", "Payment", "sum_Total"],
      rows: [
        ["Yangon", "Cash", 3],
        ["Mandalay", "Cash", 6],
      ],
    });
    expect(view).toMatchObject({ type: "grid", rowKeys: ["Yangon", "Mandalay"], colKeys: ["Cash"] });
  });

  it("renders a table widget's rows", () => {
    const w = widget("table", { dimensions: ["Branch"] });
    render(<WidgetBody widget={w} view={widgetView(w, byBranch)} />);
    const rows = within(screen.getByRole("table")).getAllByRole("row");
    expect(rows.map((r) => r.textContent)).toEqual(["BranchSum of Total", "A1,200.50", "B800.00"]);
  });

  it("shows nothing for a key figure over no rows", () => {
    const view = widgetView(widget("kpi"), { columns: ["sum_Total"], rows: [] });
    expect(view.figures.rows).toEqual([]);
  });
});

describe("workbook filters", () => {
  it("keeps the dashboard's URL filters and merges them into each widget's query", () => {
    const filters = dashboardFilters({ from: "2019-01-01", branch: ["A", "B"] }, "sales");
    expect(filters).toMatchObject({ datasource: "sales", dateFrom: "2019-01-01", dateTo: null, branches: ["A", "B"] });
    expect(documentFilters(filters)).toEqual({ from: "2019-01-01", branch: ["A", "B"] });
    const input = analyticsInput(
      {
        datasource: "sales",
        measures: [{ aggregate: "sum", column: "Total" }],
        granularity: "day",
        filters: [
          { kind: "in", column: "Branch", values: ["C"] },
          { kind: "equals", column: "Gender", values: ["Female"] },
        ],
      },
      filterDocs(filters),
    );
    expect(input.measures).toEqual([{ aggregate: "SUM", column: "Total", alias: null }]);
    expect(input.granularity).toBe("DAY");
    expect(input.filters).toEqual([
      { kind: "EQUALS", column: "Gender", values: ["Female"] },
      { kind: "DATE_RANGE", column: "__time", values: ["2019-01-01", null] },
      { kind: "IN", column: "Branch", values: ["A", "B"] },
    ]);
  });
});
