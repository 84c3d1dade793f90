// Which dashboard a datasource gets: the sales dashboard when it has the sales columns, else a
// page built from its contract (its columns and their types). Pure functions, tested alone.
import { DEFAULT_DATASOURCE } from "../filters";

export interface ColumnInfo {
  name: string;
  type: string;
}

export interface DatasourceInfo {
  name: string;
  rowCount: number;
  timeStart?: string | null;
  timeEnd?: string | null;
  columns: ColumnInfo[];
}

/** The columns the sales dashboard reads (backend/workbooks/starter.py, NEEDS). */
export const SALES_COLUMNS = [
  "Total",
  "gross income",
  "Quantity",
  "Rating",
  "cogs",
  "Branch",
  "City",
  "Product line",
  "Payment",
  "Customer type",
  "Gender",
] as const;

export type DashboardChoice =
  | { kind: "loading" }
  | { kind: "sales" }
  | { kind: "generic"; datasource: DatasourceInfo }
  | { kind: "missing"; name: string };

export function hasSalesColumns(columns: ColumnInfo[]): boolean {
  const names = new Set(columns.map((c) => c.name));
  return SALES_COLUMNS.every((name) => names.has(name));
}

/**
 * The dashboard for datasource `name`, given the datasources the reader may open (undefined while
 * they load; `failed` when they could not be read, which leaves the sales dashboard as before).
 * The default datasource always has the sales contract (backend/ingestion/datasources.py), so it
 * opens the sales dashboard at once, without asking, even before it has data.
 */
export function chooseDashboard(
  name: string,
  datasources: DatasourceInfo[] | undefined,
  failed = false,
): DashboardChoice {
  if (name === DEFAULT_DATASOURCE || failed) return { kind: "sales" };
  if (!datasources) return { kind: "loading" };
  const found = datasources.find((d) => d.name === name);
  if (!found) return { kind: "missing", name };
  return hasSalesColumns(found.columns) ? { kind: "sales" } : { kind: "generic", datasource: found };
}

const TIME = "__time";
const NUMERIC = /^(u?int|integer|float|decimal|double|long)/i;
const TEXT = /^(string|str|utf8|text)/i;

export const isNumeric = (column: ColumnInfo) => NUMERIC.test(column.type);
export const isText = (column: ColumnInfo) => TEXT.test(column.type);

/** The datasource's own columns (not the time column it is indexed by). */
export function dataColumns(datasource: DatasourceInfo): ColumnInfo[] {
  return datasource.columns.filter((c) => c.name !== TIME);
}

const DATED = /^(date|datetime|timestamp)/i;

/** A date or timestamp column of its own besides the time column. */
export function hasDateColumn(datasource: DatasourceInfo): boolean {
  return dataColumns(datasource).some((c) => DATED.test(c.type));
}

export function hasTime(datasource: DatasourceInfo): boolean {
  return datasource.columns.some((c) => c.name === TIME);
}

/** At most this many distinct values make a column worth a breakdown. */
export const MAX_DISTINCT = 30;
/** At most this many breakdowns on one page. */
export const MAX_BREAKDOWNS = 6;
/** At most this many numeric columns summed and averaged in each breakdown. */
export const MAX_NUMBERS = 3;

/**
 * The text columns to break the rows down by: those with 1..MAX_DISTINCT distinct values (a
 * column of one value still says something: every row has it), in the contract's order, at most
 * MAX_BREAKDOWNS. `distinct` holds each text column's count of distinct values.
 */
export function breakdownColumns(textColumns: string[], distinct: Record<string, number | null | undefined>): string[] {
  return textColumns
    .filter((name) => {
      const count = distinct[name];
      return typeof count === "number" && count >= 1 && count <= MAX_DISTINCT;
    })
    .slice(0, MAX_BREAKDOWNS);
}

/** The alias of a text column's distinct count in the one query that counts them all. */
export const distinctAlias = (index: number) => `distinct_${index}`;

/** The distinct counts from the answer of that query (columns distinct_0, distinct_1...). */
export function distinctCounts(
  textColumns: string[],
  answer: { columns: string[]; rows: unknown } | undefined,
): Record<string, number> | undefined {
  if (!answer || !Array.isArray(answer.rows)) return undefined;
  const row = (answer.rows[0] ?? []) as unknown[];
  const counts: Record<string, number> = {};
  textColumns.forEach((name, index) => {
    const value = row[answer.columns.indexOf(distinctAlias(index))];
    counts[name] = typeof value === "number" ? value : 0;
  });
  return counts;
}
