// What a widget shows, from its kind and the answer of its analytics query: a chart's data and
// the same figures as a table (under every chart, and what tests read).
import { formatInteger, formatNumber, formatPeriod } from "../../format";
import { AGGREGATES, type MeasureDoc, type WidgetDoc } from "./types";

export interface AnalyticsAnswer {
  columns: string[];
  rows: unknown;
}

export interface Figures {
  headers: string[];
  rows: string[][];
}

export interface Point {
  key: string;
  value: number;
}

export type WidgetView =
  | { type: "number"; label: string; value: number | null; figures: Figures }
  | { type: "line"; label: string; points: Point[]; figures: Figures }
  | { type: "bars"; label: string; points: Point[]; figures: Figures }
  | { type: "columns"; label: string; points: Point[]; figures: Figures }
  | { type: "stacked"; series: string[]; rows: { key: string; values: number[] }[]; figures: Figures }
  | { type: "grid"; rowKeys: string[]; colKeys: string[]; cells: Map<string, number>; figures: Figures }
  | { type: "table"; figures: Figures };

export const PERIOD = "__period";

export function measureName(m: MeasureDoc): string {
  return m.alias || (m.column ? `${m.aggregate.toLowerCase()}_${m.column}` : m.aggregate.toLowerCase());
}

export function measureLabel(m: MeasureDoc): string {
  if (m.alias) return m.alias;
  const aggregate = AGGREGATES.find((a) => a.value === m.aggregate.toLowerCase())?.label ?? m.aggregate;
  return m.column ? `${aggregate} of ${m.column}` : `${aggregate} of rows`;
}

function numberOf(value: unknown): number | null {
  if (typeof value === "number") return Number.isFinite(value) ? value : null;
  if (typeof value === "string" && value.trim() !== "" && Number.isFinite(Number(value))) return Number(value);
  return null;
}

function integerMeasure(m: MeasureDoc): boolean {
  const a = m.aggregate.toLowerCase();
  return a === "count" || a === "count_distinct";
}

function showMeasure(value: unknown, m: MeasureDoc | undefined): string {
  const n = numberOf(value);
  if (n === null) return value === null || value === undefined ? "" : String(value);
  return m && integerMeasure(m) ? formatInteger(n) : formatNumber(n);
}

/** The answer's rows as records, keyed by column name. */
function records(answer: AnalyticsAnswer): Record<string, unknown>[] {
  const rows = Array.isArray(answer.rows) ? (answer.rows as unknown[]) : [];
  return rows.map((row) => {
    const cells = Array.isArray(row) ? row : [];
    return Object.fromEntries(answer.columns.map((c, i) => [c, cells[i]]));
  });
}

/** A dimension's value as text (the period formatted for the widget's granularity). */
function keyOf(record: Record<string, unknown>, column: string, granularity: string): string {
  const value = record[column];
  if (column === PERIOD && typeof value === "string") return formatPeriod(value, granularity.toUpperCase());
  if (value === null || value === undefined) return "(empty)";
  return String(value);
}

/** Turns one widget's answer into what it shows. */
export function widgetView(widget: WidgetDoc, answer: AnalyticsAnswer): WidgetView {
  const { query } = widget;
  const granularity = query.granularity ?? "";
  const keys = [...(granularity ? [PERIOD] : []), ...(query.dimensions ?? [])];
  const measures = query.measures;
  const data = records(answer);
  const keyHeader = (k: string) => (k === PERIOD ? "Period" : k);
  const figures: Figures = {
    headers: [...keys.map(keyHeader), ...measures.map(measureLabel)],
    rows: data.map((r) => [
      ...keys.map((k) => keyOf(r, k, granularity)),
      ...measures.map((m) => showMeasure(r[measureName(m)], m)),
    ]),
  };
  const first = measures[0];
  const firstName = first ? measureName(first) : "";
  const label = first ? measureLabel(first) : "";
  const points = (): Point[] =>
    data.map((r) => ({
      key: keys.map((k) => keyOf(r, k, granularity)).join(" · ") || label,
      value: numberOf(r[firstName]) ?? 0,
    }));

  switch (widget.kind) {
    case "kpi": {
      const value = data.length > 0 ? numberOf(data[0]?.[firstName]) : null;
      return { type: "number", label, value, figures: value === null ? { ...figures, rows: [] } : figures };
    }
    case "trend":
      return { type: "line", label, points: points(), figures };
    case "breakdown":
    case "top_n":
      return { type: "bars", label, points: points(), figures };
    case "rating_distribution":
      return { type: "columns", label, points: points(), figures };
    case "profitability":
      return {
        type: "stacked",
        series: measures.map(measureLabel),
        rows: data.map((r) => ({
          key: keys.map((k) => keyOf(r, k, granularity)).join(" · "),
          values: measures.map((m) => numberOf(r[measureName(m)]) ?? 0),
        })),
        figures,
      };
    case "heatmap": {
      const [rowKey, colKey] = keys;
      if (!rowKey || !colKey) return { type: "table", figures };
      const cells = new Map<string, number>();
      const rowKeys: string[] = [];
      const colKeys: string[] = [];
      for (const r of data) {
        const row = keyOf(r, rowKey, granularity);
        const col = keyOf(r, colKey, granularity);
        if (!rowKeys.includes(row)) rowKeys.push(row);
        if (!colKeys.includes(col)) colKeys.push(col);
        cells.set(`${row}\u0000${col}`, numberOf(r[firstName]) ?? 0);
      }
      return { type: "grid", rowKeys, colKeys, cells, figures };
    }
    default:
      return { type: "table", figures };
  }
}

/** How a widget's value is written (counts as integers). */
export function formatMeasure(value: number | null, widget: WidgetDoc): string {
  const first = widget.query.measures[0];
  return first && integerMeasure(first) ? formatInteger(value) : formatNumber(value);
}
