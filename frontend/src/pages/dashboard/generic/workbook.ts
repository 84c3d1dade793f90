// "Make a workbook from this": the page's figures as the widgets of a new workbook, which the
// workbook editor then changes like any other.
import { buildWidget } from "../../workbook/builder";
import type { MeasureDoc, WidgetDoc } from "../../workbook/types";

export interface PageShape {
  datasource: string;
  /** The numeric columns summed on the page (the first one is what the breakdowns chart). */
  numbers: string[];
  /** The text columns the page breaks the rows down by. */
  breakdowns: string[];
  /** The trend's granularity, when the datasource has a time column. */
  granularity: string | null;
}

export function pageWidgets({ datasource, numbers, breakdowns, granularity }: PageShape): WidgetDoc[] {
  const rows: MeasureDoc = { aggregate: "count" };
  const first = numbers[0];
  const sum: MeasureDoc | null = first ? { aggregate: "sum", column: first } : null;
  const base = { datasource, dimension: null };
  const widgets = [buildWidget({ ...base, kind: "kpi", measure: rows, title: "Rows" })];
  if (sum) widgets.push(buildWidget({ ...base, kind: "kpi", measure: sum, title: `Sum of ${first}` }));
  if (granularity) {
    widgets.push(
      buildWidget({
        ...base,
        kind: "trend",
        measure: rows,
        granularity: granularity.toLowerCase(),
        title: "Rows over time",
      }),
    );
  }
  for (const column of breakdowns) {
    const title = sum ? `Sum of ${first} by ${column}` : `Rows by ${column}`;
    widgets.push(buildWidget({ ...base, kind: "breakdown", measure: sum ?? rows, dimension: column, title }));
  }
  return widgets;
}
