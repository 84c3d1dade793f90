// Which rows a widget's "Show rows" opens: the dashboard's filters in the analytics query's
// terms, and what the clicked part adds (a city, a weekday and an hour).
import type { FilterInput, SalesFilter } from "../../../gql/graphql";

export interface RowsScope {
  /** What the rows are, as a person reads it: "Sales by branch", "Mon 13:00". */
  title: string;
  /** Filters beyond the dashboard's (a city, an hour of the day). */
  filters?: FilterInput[];
  /** Only the days that fall on this weekday (1 Monday ... 7 Sunday). */
  weekday?: number;
}

const LISTS: [keyof SalesFilter, string][] = [
  ["branches", "Branch"],
  ["cities", "City"],
  ["productLines", "Product line"],
  ["customerTypes", "Customer type"],
  ["genders", "Gender"],
  ["payments", "Payment"],
];

/** The dashboard's filter as the analytics query's filters (a date-only `to` takes its whole day). */
export function analyticsFilters(filter: SalesFilter): FilterInput[] {
  const found: FilterInput[] = [];
  if (filter.dateFrom || filter.dateTo) {
    found.push({ kind: "DATE_RANGE", column: "__time", values: [filter.dateFrom ?? null, filter.dateTo ?? null] });
  }
  for (const [key, column] of LISTS) {
    const values = filter[key];
    if (Array.isArray(values) && values.length > 0) found.push({ kind: "IN", column, values });
  }
  return found;
}

/** The rows of one hour of the day (a heatmap cell's column). */
export function hourFilter(hour: number): FilterInput {
  const hh = String(hour).padStart(2, "0");
  return { kind: "RANGE", column: "Time", values: [`${hh}:00:00`, `${hh}:59:59.999999`] };
}

/** Every day from `first` to `last` (ISO dates, inclusive) that falls on `weekday` (1 Monday ...
 * 7 Sunday): the analytics query has no weekday filter, so a weekday is this list of days. */
export function weekdayDates(first: string, last: string, weekday: number): string[] {
  const day = new Date(`${first.slice(0, 10)}T00:00:00Z`);
  const end = new Date(`${last.slice(0, 10)}T00:00:00Z`).getTime();
  const isoDay = (d: Date) => ((d.getUTCDay() + 6) % 7) + 1;
  day.setUTCDate(day.getUTCDate() + ((weekday - isoDay(day) + 7) % 7));
  const dates: string[] = [];
  while (day.getTime() <= end && dates.length < 1000) {
    dates.push(day.toISOString().slice(0, 10));
    day.setUTCDate(day.getUTCDate() + 7);
  }
  return dates;
}

/** The REST address of the matching rows as one CSV file (all of them, not one page). */
export function rowsCsvUrl(
  datasource: string,
  filters: FilterInput[],
  order: string | null,
  descending: boolean,
): string {
  const params = new URLSearchParams({ filters: JSON.stringify(filters) });
  if (order) {
    params.set("order", order);
    params.set("descending", String(descending));
  }
  return `/api/datasources/${encodeURIComponent(datasource)}/rows.csv?${params.toString()}`;
}
