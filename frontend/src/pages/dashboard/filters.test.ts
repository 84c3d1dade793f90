import { describe, expect, it } from "vitest";

import {
  filtersFromParams,
  filtersToParams,
  granularityFromParams,
  profitabilityFromParams,
  toSalesFilter,
  withSetting,
} from "./filters";

describe("dashboard filters in the URL", () => {
  it("round-trips through the query string and keeps parameters it does not own", () => {
    const params = new URLSearchParams("ds=shop&from=2019-01-01&to=2019-02-01&branch=A&branch=B&payment=Cash&g=month");
    const filters = filtersFromParams(params);
    expect(filters).toMatchObject({
      datasource: "shop",
      dateFrom: "2019-01-01",
      dateTo: "2019-02-01",
      branches: ["A", "B"],
      payments: ["Cash"],
    });
    const back = filtersToParams(filters, params);
    expect(back.get("g")).toBe("month");
    expect(back.getAll("branch")).toEqual(["A", "B"]);
    expect(filtersFromParams(back)).toEqual(filters);
  });

  it("ignores malformed dates and leaves empty lists out of the GraphQL filter", () => {
    const filters = filtersFromParams(new URLSearchParams("from=yesterday&gender=Female"));
    expect(filters.dateFrom).toBeNull();
    expect(filters.datasource).toBe("sales");
    expect(toSalesFilter(filters)).toEqual({ datasource: "sales", genders: ["Female"] });
    expect(filtersToParams(filters).toString()).toBe("gender=Female");
  });

  it("reads the granularity, defaulting to days", () => {
    expect(granularityFromParams(new URLSearchParams("g=week"))).toBe("WEEK");
    expect(granularityFromParams(new URLSearchParams("g=fortnight"))).toBe("DAY");
  });

  it("keeps the profitability breakdown in the URL, product line by default", () => {
    expect(profitabilityFromParams(new URLSearchParams("profit=branch"))).toBe("BRANCH");
    expect(profitabilityFromParams(new URLSearchParams("profit=planet"))).toBe("PRODUCT_LINE");
    const shared = withSetting(new URLSearchParams("branch=A"), "profit", "MONTH", "PRODUCT_LINE");
    expect(shared.toString()).toBe("branch=A&profit=month");
    expect(withSetting(shared, "profit", "PRODUCT_LINE", "PRODUCT_LINE").toString()).toBe("branch=A");
  });
});
