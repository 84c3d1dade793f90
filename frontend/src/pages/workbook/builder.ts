// New widgets from what edit mode asks (a kind, a measure, a dimension), and the sales dashboard's
// own widgets as a workbook document when the service cannot hand out its starter.
import { kindLabel, type MeasureDoc, type WidgetDoc, type WidgetKind, type WorkbookDocument } from "./types";
import { measureLabel, measureName } from "./render";

export interface WidgetChoice {
  kind: WidgetKind;
  datasource: string;
  measure: MeasureDoc;
  /** A column to group by (a second one for heatmaps); ignored by key figures and trends. */
  dimension: string | null;
  secondDimension?: string | null;
  granularity?: string;
  title?: string;
  width?: number;
}

/** Which kinds group by a dimension (the others: key figures none, trends the time bucket). */
export function needsDimension(kind: WidgetKind): boolean {
  return kind !== "kpi" && kind !== "trend";
}

const DEFAULT_WIDTH: Record<WidgetKind, number> = {
  kpi: 3,
  trend: 12,
  breakdown: 6,
  table: 6,
  heatmap: 12,
  rating_distribution: 6,
  top_n: 6,
  profitability: 6,
};

export function buildWidget(choice: WidgetChoice): WidgetDoc {
  const { kind, measure, dimension } = choice;
  const m: MeasureDoc = { aggregate: measure.aggregate, column: measure.aggregate === "count" ? null : measure.column };
  const byMeasure = [{ name: measureName(m), descending: true }];
  const query: WidgetDoc["query"] = { datasource: choice.datasource, measures: [m] };
  if (kind === "trend") {
    query.granularity = choice.granularity ?? "day";
    query.order = [{ name: "__period" }];
  } else if (kind !== "kpi" && dimension) {
    query.dimensions = kind === "heatmap" && choice.secondDimension ? [dimension, choice.secondDimension] : [dimension];
    query.order = kind === "rating_distribution" || kind === "heatmap" ? [{ name: dimension }] : byMeasure;
    if (kind === "top_n") query.limit = 5;
  }
  const by = kind === "kpi" || kind === "trend" || !dimension ? "" : ` by ${dimension}`;
  const title = choice.title?.trim() || `${kindLabel(kind)}: ${measureLabel(m)}${by}`;
  return {
    kind,
    title: title.slice(0, 200),
    query,
    size: { width: choice.width ?? DEFAULT_WIDTH[kind], height: kind === "kpi" ? 2 : 4 },
  };
}

const sum = (column: string): MeasureDoc => ({ aggregate: "sum", column });

/** The sales dashboard's widgets, in its order, as generic widgets of `datasource`. */
export function dashboardWidgets(datasource: string): WidgetDoc[] {
  const w = (kind: WidgetKind, title: string, query: Omit<WidgetDoc["query"], "datasource">, width: number) => ({
    kind,
    title,
    query: { datasource, ...query },
    size: { width, height: kind === "kpi" ? 2 : 4 },
  });
  const breakdown = (column: string) =>
    w(
      "breakdown",
      `Sales by ${column.toLowerCase()}`,
      { measures: [sum("Total")], dimensions: [column], order: [{ name: "sum_Total", descending: true }] },
      6,
    );
  return [
    w("kpi", "Total sales", { measures: [sum("Total")] }, 3),
    w("kpi", "Gross income", { measures: [sum("gross income")] }, 3),
    w("kpi", "Transactions", { measures: [{ aggregate: "count" }] }, 3),
    w("kpi", "Average rating", { measures: [{ aggregate: "avg", column: "Rating" }] }, 3),
    w("trend", "Sales trend", { measures: [sum("Total")], granularity: "day", order: [{ name: "__period" }] }, 12),
    breakdown("Branch"),
    breakdown("City"),
    breakdown("Product line"),
    breakdown("Payment"),
    breakdown("Customer type"),
    breakdown("Gender"),
    w(
      "profitability",
      "Profitability",
      { measures: [sum("cogs"), sum("gross income")], dimensions: ["Product line"] },
      6,
    ),
    w(
      "top_n",
      "Top product lines",
      {
        measures: [sum("Total")],
        dimensions: ["Product line"],
        order: [{ name: "sum_Total", descending: true }],
        limit: 5,
      },
      6,
    ),
    w(
      "rating_distribution",
      "Rating distribution",
      { measures: [{ aggregate: "count" }], dimensions: ["Rating"], order: [{ name: "Rating" }] },
      6,
    ),
    w(
      "heatmap",
      "Sales by city and payment",
      { measures: [sum("Total")], dimensions: ["City", "Payment"], order: [{ name: "City" }] },
      6,
    ),
  ];
}

/** The starter document the service handed out (or the dashboard's own), with the reader's choices. */
export function starterDocument(
  starter: Partial<WorkbookDocument> | null,
  datasource: string,
  choices: Pick<WorkbookDocument, "title" | "description" | "tags" | "visibility" | "shared_with" | "filters">,
): WorkbookDocument {
  return {
    datasource,
    widgets: starter?.widgets && starter.widgets.length > 0 ? starter.widgets : dashboardWidgets(datasource),
    ...choices,
    tags: choices.tags.length > 0 ? choices.tags : (starter?.tags ?? []),
  };
}
