// A workbook keeps the dashboard's filters as its URL holds them (from, to, branch, ...); each
// widget's query gets them as the analytics query model's filters.
import type { AnalyticsQueryInput, Aggregate, FilterKind, Granularity } from "../../gql/graphql";
import {
  effectiveDates,
  filtersFromParams,
  filtersToParams,
  type DashboardFilters,
  type ListFilter,
} from "../dashboard/filters";
import type { FilterDoc, FilterValue, MeasureDoc, WidgetQueryDoc } from "./types";

/** The sales columns the dashboard's list filters choose values of. */
export const FILTER_COLUMNS: Record<ListFilter, string> = {
  branches: "Branch",
  productLines: "Product line",
  customerTypes: "Customer type",
  genders: "Gender",
  payments: "Payment",
};

/** The time column every datasource has. */
export const TIME_COLUMN = "__time";

/** The document's filters for these dashboard filters (the datasource is a field of its own). */
export function documentFilters(filters: DashboardFilters): Record<string, FilterValue> {
  const params = filtersToParams({ ...filters, datasource: "" });
  const out: Record<string, FilterValue> = {};
  for (const key of new Set(params.keys())) {
    if (key === "ds") continue;
    const values = params.getAll(key);
    out[key] = key === "from" || key === "to" || key === "range" ? (values[0] ?? null) : values;
  }
  return out;
}

/** The dashboard filters a document's filters stand for, on its datasource. */
export function dashboardFilters(filters: Record<string, FilterValue>, datasource: string): DashboardFilters {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(filters)) {
    const values = Array.isArray(value) ? value : [value];
    for (const v of values) if (v !== null && v !== undefined && v !== "") params.append(key, String(v));
  }
  return { ...filtersFromParams(params), datasource };
}

/** The analytics filters of the dashboard's filters: a date range on __time, IN on each list. */
export function filterDocs(filters: DashboardFilters, today?: string): FilterDoc[] {
  const out: FilterDoc[] = [];
  const { from, to } = effectiveDates(filters, today); // a relative range counts from today
  if (from || to) {
    out.push({ kind: "date_range", column: TIME_COLUMN, values: [from, to] });
  }
  for (const [key, column] of Object.entries(FILTER_COLUMNS) as [ListFilter, string][]) {
    if (filters[key].length > 0) out.push({ kind: "in", column, values: [...filters[key]] });
  }
  return out;
}

const upper = <T extends string>(value: string): T => value.toUpperCase() as T;

function measureInput(m: MeasureDoc) {
  return { aggregate: upper<Aggregate>(m.aggregate), column: m.column ?? null, alias: m.alias ?? null };
}

/** A widget's query for GraphQL's `analytics`, with the workbook's filters merged in: on a column
 * both filter, the workbook's filter wins (it is what the reader chose last). */
export function analyticsInput(query: WidgetQueryDoc, workbook: FilterDoc[]): AnalyticsQueryInput {
  const taken = new Set(workbook.map((f) => f.column));
  const filters = [...(query.filters ?? []).filter((f) => !taken.has(f.column)), ...workbook];
  return {
    datasource: query.datasource,
    measures: query.measures.map(measureInput),
    dimensions: query.dimensions && query.dimensions.length > 0 ? query.dimensions : null,
    granularity: query.granularity ? upper<Granularity>(query.granularity) : null,
    filters: filters.length > 0 ? filters.map((f) => ({ ...f, kind: upper<FilterKind>(f.kind) })) : null,
    order:
      query.order && query.order.length > 0
        ? query.order.map((o) => ({ name: o.name, descending: !!o.descending }))
        : null,
    limit: query.limit ?? 1000,
    offset: query.offset ?? 0,
  };
}
