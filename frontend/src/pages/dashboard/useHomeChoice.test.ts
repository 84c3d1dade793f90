import { describe, expect, it } from "vitest";

import { homeChoice } from "./useHomeChoice";

describe("what the app opens first", () => {
  it("opens the person's default workbook", () => {
    const id = "0123456789abcdef0123456789abcdef";
    expect(homeChoice({ defaultDashboard: id, defaultDatasource: "orders" })).toEqual({ workbook: id });
  });

  it("opens the built-in dashboard on their datasource when no workbook is chosen", () => {
    expect(homeChoice({ defaultDashboard: null, defaultDatasource: "orders" })).toEqual({ datasource: "orders" });
  });

  it("ignores a default dashboard that is not a workbook's id", () => {
    expect(homeChoice({ defaultDashboard: "/?range=7d", defaultDatasource: null })).toBeNull();
    expect(homeChoice(null)).toBeNull();
  });
});
