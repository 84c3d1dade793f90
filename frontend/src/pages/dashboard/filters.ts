// The dashboard's selection lives in the URL (?ds=sales&from=2019-01-01&branch=A&branch=B...),
// so a view can be bookmarked and shared.
import type { Granularity, ProfitabilityBy, SalesFilter } from "../../gql/graphql";
import { isRelativeRange, resolveRange, todayIn, type RelativeRange } from "./relativeRange";

export interface DashboardFilters {
  datasource: string;
  dateFrom: string | null;
  dateTo: string | null;
  /** A relative range ("last-30-days"); when set, it decides the days and the dates are unset. */
  range: RelativeRange | null;
  branches: string[];
  productLines: string[];
  customerTypes: string[];
  genders: string[];
  payments: string[];
}

export type ListFilter = "branches" | "productLines" | "customerTypes" | "genders" | "payments";

export const DEFAULT_DATASOURCE = "sales";

const LIST_PARAMS: Record<ListFilter, string> = {
  branches: "branch",
  productLines: "product",
  customerTypes: "customer",
  genders: "gender",
  payments: "payment",
};

export const LIST_FILTERS = Object.keys(LIST_PARAMS) as ListFilter[];

const DATE = /^\d{4}-\d{2}-\d{2}$/;

function date(value: string | null): string | null {
  return value && DATE.test(value) ? value : null;
}

export function filtersFromParams(params: URLSearchParams): DashboardFilters {
  const list = (key: ListFilter) => [...new Set(params.getAll(LIST_PARAMS[key]).filter(Boolean))];
  const range = params.get("range");
  const relative = isRelativeRange(range) ? range : null;
  return {
    datasource: params.get("ds") || DEFAULT_DATASOURCE,
    dateFrom: relative ? null : date(params.get("from")),
    dateTo: relative ? null : date(params.get("to")),
    range: relative,
    branches: list("branches"),
    productLines: list("productLines"),
    customerTypes: list("customerTypes"),
    genders: list("genders"),
    payments: list("payments"),
  };
}

/** The URL's parameters for these filters; parameters the filters do not own are kept. */
export function filtersToParams(filters: DashboardFilters, keep?: URLSearchParams): URLSearchParams {
  const params = new URLSearchParams();
  const owned = new Set(["ds", "from", "to", "range", ...Object.values(LIST_PARAMS)]);
  keep?.forEach((value, key) => {
    if (!owned.has(key)) params.append(key, value);
  });
  if (filters.datasource !== DEFAULT_DATASOURCE) params.set("ds", filters.datasource);
  if (filters.range) params.set("range", filters.range);
  else {
    if (filters.dateFrom) params.set("from", filters.dateFrom);
    if (filters.dateTo) params.set("to", filters.dateTo);
  }
  for (const key of LIST_FILTERS) {
    for (const value of filters[key]) params.append(LIST_PARAMS[key], value);
  }
  return params;
}

/** The days the filters cover: a relative range resolved from `today` (YYYY-MM-DD), or the dates. */
export function effectiveDates(
  filters: DashboardFilters,
  today = todayIn(null),
): { from: string | null; to: string | null } {
  return filters.range ? resolveRange(filters.range, today) : { from: filters.dateFrom, to: filters.dateTo };
}

/** The GraphQL SalesFilter: empty lists mean "all" and are left out; a relative range is resolved
 * from `today`, which only matters when one is set. */
export function toSalesFilter(filters: DashboardFilters, today = todayIn(null)): SalesFilter {
  const filter: SalesFilter = { datasource: filters.datasource };
  const { from, to } = effectiveDates(filters, today);
  if (from) filter.dateFrom = from;
  if (to) filter.dateTo = to;
  for (const key of LIST_FILTERS) {
    if (filters[key].length > 0) filter[key] = filters[key];
  }
  return filter;
}

export function activeFilterCount(filters: DashboardFilters): number {
  return (
    (filters.range ? 1 : 0) +
    (filters.dateFrom ? 1 : 0) +
    (filters.dateTo ? 1 : 0) +
    LIST_FILTERS.reduce((count, key) => count + filters[key].length, 0)
  );
}

export const GRANULARITIES: { value: Granularity; label: string }[] = [
  { value: "HOUR", label: "Hour" },
  { value: "DAY", label: "Day" },
  { value: "WEEK", label: "Week" },
  { value: "MONTH", label: "Month" },
  { value: "QUARTER", label: "Quarter" },
  { value: "YEAR", label: "Year" },
];

export function granularityFromParams(params: URLSearchParams): Granularity {
  const value = (params.get("g") ?? "").toUpperCase();
  return GRANULARITIES.some((g) => g.value === value) ? (value as Granularity) : "DAY";
}

export const PROFITABILITY_BY: { value: ProfitabilityBy; label: string }[] = [
  { value: "PRODUCT_LINE", label: "Product line" },
  { value: "BRANCH", label: "Branch" },
  { value: "MONTH", label: "Month" },
];

/** The profitability breakdown in the URL (`profit=branch`); product line when absent. */
export function profitabilityFromParams(params: URLSearchParams): ProfitabilityBy {
  const value = (params.get("profit") ?? "").toUpperCase();
  return PROFITABILITY_BY.some((p) => p.value === value) ? (value as ProfitabilityBy) : "PRODUCT_LINE";
}

/** `params` with one view setting changed: its default value leaves the URL. */
export function withSetting(params: URLSearchParams, key: string, value: string, fallback: string): URLSearchParams {
  const next = new URLSearchParams(params);
  if (value === fallback) next.delete(key);
  else next.set(key, value.toLowerCase());
  return next;
}
