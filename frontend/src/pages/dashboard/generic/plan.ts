// The analytics queries of the page for any datasource, and how their answers read.
import type { AnalyticsQueryInput, Granularity, MeasureInput } from "../../../gql/graphql";
import { DASH, formatDateTime, formatInteger, formatNumber } from "../../../format";
import { distinctAlias } from "./choice";

export const TIME = "__time";
export const PERIOD = "__period";
// The answer's own names start with "__" (as __period): a breakdown by a column named "rows" or
// "sum_0" asked for two answer columns of one name.
export const ROWS = "__rows";
export const PAGE_SIZE = 25;

const sumAlias = (index: number) => `__sum_${index}`;
const avgAlias = (index: number) => `__avg_${index}`;

/** A figure of a breakdown or a trend: its label for a person, and its column in the answer. */
export interface Figure {
  label: string;
  name: string;
  integer: boolean;
}

/** The rows counted, then the sum (and in breakdowns the average) of each numeric column. */
export function figures(numbers: string[], withAverages: boolean): Figure[] {
  const out: Figure[] = [{ label: "Rows", name: ROWS, integer: true }];
  numbers.forEach((column, index) => {
    out.push({ label: `Sum of ${column}`, name: sumAlias(index), integer: false });
    if (withAverages) out.push({ label: `Average of ${column}`, name: avgAlias(index), integer: false });
  });
  return out;
}

function measures(numbers: string[], withAverages: boolean): MeasureInput[] {
  const out: MeasureInput[] = [{ aggregate: "COUNT", alias: ROWS }];
  numbers.forEach((column, index) => {
    out.push({ aggregate: "SUM", column, alias: sumAlias(index) });
    if (withAverages) out.push({ aggregate: "AVG", column, alias: avgAlias(index) });
  });
  return out;
}

export function countQuery(datasource: string): AnalyticsQueryInput {
  return { datasource, measures: [{ aggregate: "COUNT", alias: ROWS }] };
}

export function distinctQuery(datasource: string, textColumns: string[]): AnalyticsQueryInput {
  return {
    datasource,
    measures: textColumns.map((column, index) => ({
      aggregate: "COUNT_DISTINCT",
      column,
      alias: distinctAlias(index),
    })),
  };
}

export function trendQuery(datasource: string, granularity: Granularity, numbers: string[]): AnalyticsQueryInput {
  return {
    datasource,
    measures: measures(numbers, false),
    granularity,
    order: [{ name: PERIOD }],
    limit: 10_000,
  };
}

export function breakdownQuery(datasource: string, column: string, numbers: string[]): AnalyticsQueryInput {
  return {
    datasource,
    measures: measures(numbers, true),
    dimensions: [column],
    order: [{ name: ROWS, descending: true }, { name: column }],
    limit: 100,
  };
}

/** One page of raw rows, the latest first when the datasource has a time column. */
export function rowsQuery(datasource: string, page: number, timed: boolean): AnalyticsQueryInput {
  return {
    datasource,
    measures: [],
    order: timed ? [{ name: TIME, descending: true }] : null,
    limit: PAGE_SIZE,
    offset: (page - 1) * PAGE_SIZE,
  };
}

export type Row = Record<string, unknown>;

/** The answer's rows as records keyed by column. */
export function records(answer: { columns: string[]; rows: unknown } | undefined): Row[] {
  if (!answer || !Array.isArray(answer.rows)) return [];
  return (answer.rows as unknown[][]).map((row) => Object.fromEntries(answer.columns.map((c, i) => [c, row[i]])));
}

export function numberOf(value: unknown): number {
  return typeof value === "number" ? value : Number(value ?? 0) || 0;
}

export function formatFigure(value: unknown, integer: boolean): string {
  if (value === null || value === undefined) return DASH;
  return integer ? formatInteger(numberOf(value)) : formatNumber(numberOf(value));
}

/** A cell of a raw row as a person reads it (`type`: its column's, when known: a decimal column
 * shows its decimals on every row). */
export function cellText(value: unknown, column: string, type = ""): string {
  if (value === null || value === undefined || value === "") return DASH;
  if (column === TIME && typeof value === "string") return formatDateTime(value);
  if (typeof value === "boolean") return value ? "yes" : "no";
  if (typeof value === "number") {
    const decimal = /^(float|decimal|double)/i.test(type) || !Number.isInteger(value);
    return decimal ? formatNumber(value) : formatInteger(value);
  }
  return String(value);
}

/** A column's header: the time column the rows are indexed by has no name of its own. */
export const columnHeader = (column: string) => (column === TIME ? "Time" : column);

/** The columns of the rows table: the time column only when no date column of its own says it. */
export function shownColumns(columns: string[], dated: boolean): string[] {
  return dated ? columns.filter((c) => c !== TIME) : columns;
}
