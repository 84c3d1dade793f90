import { describe, expect, it } from "vitest";

import { buildWidget } from "./builder";
import { editReducer, initialEdit, widgetsOf } from "./editReducer";
import type { WidgetDoc } from "./types";

const w = (title: string): WidgetDoc => ({
  kind: "kpi",
  title,
  query: { datasource: "sales", measures: [{ aggregate: "count" }] },
  size: { width: 3, height: 4 },
});

const titles = (state: ReturnType<typeof initialEdit>) => widgetsOf(state).map((x) => x.title);

describe("editReducer", () => {
  it("adds a widget at the end", () => {
    const state = editReducer(initialEdit([w("a")]), { type: "add", widget: w("b") });
    expect(titles(state)).toEqual(["a", "b"]);
    expect(state.dirty).toBe(true);
    expect(new Set(state.items.map((i) => i.key)).size).toBe(2);
  });

  it("removes a widget by its key", () => {
    const start = initialEdit([w("a"), w("b"), w("c")]);
    const state = editReducer(start, { type: "remove", key: start.items[1]!.key });
    expect(titles(state)).toEqual(["a", "c"]);
  });

  it("moves a widget up and down, and not past either end", () => {
    const start = initialEdit([w("a"), w("b"), w("c")]);
    const c = start.items[2]!.key;
    const up = editReducer(start, { type: "move", key: c, by: -1 });
    expect(titles(up)).toEqual(["a", "c", "b"]);
    const down = editReducer(up, { type: "move", key: c, by: 1 });
    expect(titles(down)).toEqual(["a", "b", "c"]);
    expect(editReducer(down, { type: "move", key: c, by: 1 })).toBe(down);
    expect(editReducer(start, { type: "move", key: start.items[0]!.key, by: -1 })).toBe(start);
  });

  it("configures a title and a size within 1 to 12", () => {
    const start = initialEdit([w("a")]);
    const key = start.items[0]!.key;
    let state = editReducer(start, { type: "configure", key, title: "Sales" });
    state = editReducer(state, { type: "configure", key, size: { width: 20 } });
    state = editReducer(state, { type: "configure", key, size: { height: 0 } });
    expect(widgetsOf(state)[0]).toMatchObject({ title: "Sales", size: { width: 12, height: 1 } });
  });

  it("starts again from the saved widgets on reset", () => {
    const state = editReducer(editReducer(initialEdit([w("a")]), { type: "add", widget: w("b") }), {
      type: "reset",
      widgets: [w("z")],
    });
    expect(titles(state)).toEqual(["z"]);
    expect(state.dirty).toBe(false);
  });
});

describe("buildWidget", () => {
  it("groups a breakdown by its dimension, ordered by its measure", () => {
    const widget = buildWidget({
      kind: "breakdown",
      datasource: "sales",
      measure: { aggregate: "sum", column: "Total" },
      dimension: "City",
    });
    expect(widget).toEqual({
      kind: "breakdown",
      title: "Breakdown: Sum of Total by City",
      query: {
        datasource: "sales",
        measures: [{ aggregate: "sum", column: "Total" }],
        dimensions: ["City"],
        order: [{ name: "sum_Total", descending: true }],
      },
      size: { width: 6, height: 4 },
    });
  });

  it("gives a trend its time bucket and a key figure no dimension", () => {
    const trend = buildWidget({
      kind: "trend",
      datasource: "s",
      measure: { aggregate: "count" },
      dimension: "City",
      granularity: "month",
    });
    expect(trend.query).toMatchObject({ granularity: "month", measures: [{ aggregate: "count", column: null }] });
    expect(trend.query.dimensions).toBeUndefined();
    const kpi = buildWidget({
      kind: "kpi",
      datasource: "s",
      measure: { aggregate: "avg", column: "Rating" },
      dimension: null,
    });
    expect(kpi.title).toBe("Key figure: Average of Rating");
  });
});
