// A workbook's document as the service keeps it (backend/workbooks/documents.py): GraphQL hands
// its filters and widgets over as JSON, so their shape is written here once, by hand.

export const WIDGET_KINDS = [
  { value: "kpi", label: "Key figure" },
  { value: "trend", label: "Trend" },
  { value: "breakdown", label: "Breakdown" },
  { value: "table", label: "Table" },
  { value: "heatmap", label: "Heatmap" },
  { value: "rating_distribution", label: "Rating distribution" },
  { value: "top_n", label: "Top N" },
  { value: "profitability", label: "Profitability" },
] as const;

export type WidgetKind = (typeof WIDGET_KINDS)[number]["value"];

/** Aggregates and granularities as documents keep them (lower case); GraphQL takes upper case. */
export const AGGREGATES = [
  { value: "sum", label: "Sum" },
  { value: "avg", label: "Average" },
  { value: "count", label: "Count" },
  { value: "count_distinct", label: "Distinct count" },
  { value: "min", label: "Minimum" },
  { value: "max", label: "Maximum" },
] as const;

export type AggregateName = (typeof AGGREGATES)[number]["value"];

export interface MeasureDoc {
  aggregate: string;
  column?: string | null;
  alias?: string | null;
}

export interface FilterDoc {
  kind: string;
  column: string;
  values: (string | null)[];
}

export interface OrderDoc {
  name: string;
  descending?: boolean;
}

export interface WidgetQueryDoc {
  datasource: string;
  measures: MeasureDoc[];
  dimensions?: string[] | null;
  granularity?: string | null;
  filters?: FilterDoc[] | null;
  order?: OrderDoc[] | null;
  limit?: number | null;
  offset?: number;
}

export interface WidgetSize {
  width: number;
  height: number;
}

export interface WidgetDoc {
  kind: WidgetKind;
  title: string;
  query: WidgetQueryDoc;
  size: WidgetSize;
}

export type FilterValue = string | number | boolean | null | (string | null)[];

export type Visibility = "private" | "shared" | "users";

export interface WorkbookDocument {
  title: string;
  description: string;
  datasource: string;
  /** What the dashboard's URL holds: from, to, branch, product, customer, gender, payment. */
  filters: Record<string, FilterValue>;
  widgets: WidgetDoc[];
  tags: string[];
  visibility: Visibility;
  shared_with: string[];
}

const KINDS = new Set<string>(WIDGET_KINDS.map((k) => k.value));

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The widgets of a workbook as GraphQL's JSON holds them; anything unreadable is left out. */
export function parseWidgets(value: unknown): WidgetDoc[] {
  if (!Array.isArray(value)) return [];
  return value.flatMap((item): WidgetDoc[] => {
    if (!isObject(item) || typeof item.kind !== "string" || !KINDS.has(item.kind) || !isObject(item.query)) {
      return [];
    }
    const size = isObject(item.size) ? item.size : {};
    return [
      {
        kind: item.kind as WidgetKind,
        title: typeof item.title === "string" ? item.title : "",
        query: item.query as unknown as WidgetQueryDoc,
        size: {
          width: typeof size.width === "number" ? size.width : 6,
          height: typeof size.height === "number" ? size.height : 4,
        },
      },
    ];
  });
}

export function parseFilters(value: unknown): Record<string, FilterValue> {
  return isObject(value) ? (value as Record<string, FilterValue>) : {};
}

export function kindLabel(kind: string): string {
  return WIDGET_KINDS.find((k) => k.value === kind)?.label ?? kind;
}
