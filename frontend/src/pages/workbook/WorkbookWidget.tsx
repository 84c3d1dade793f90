import { useMemo, useState } from "react";

import { DataDetails, DataTable } from "../../components/DataTable";
import { ErrorMessage } from "../../components/ErrorMessage";
import { Widget } from "../../components/Widget";
import { useWidgetQuery } from "../../hooks/useWidgetQuery";
import { HorizontalBars } from "../dashboard/charts";
import { downloadWidgetCsv } from "./api";
import { analyticsInput } from "./filters";
import { AnalyticsQuery } from "./queries";
import { formatMeasure, widgetView, type Figures, type WidgetView } from "./render";
import type { FilterDoc, WidgetDoc } from "./types";
import { ColumnsOf, GridOf, LineOf, StackedOf } from "./WidgetCharts";

export const EMPTY_TEXT = "Nothing to show.";

function FiguresTable({ figures, caption, folded }: { figures: Figures; caption: string; folded: boolean }) {
  const props = {
    caption,
    rows: figures.rows,
    rowKey: (_row: string[], index: number) => String(index),
    columns: figures.headers.map((header, i) => ({ header, cell: (row: string[]) => row[i] ?? "", numeric: i > 0 })),
  };
  return folded ? <DataDetails {...props} /> : <DataTable {...props} />;
}

/** A widget's chart (by kind) and its figures. */
export function WidgetBody({ widget, view }: { widget: WidgetDoc; view: WidgetView }) {
  const caption = widget.title || "Figures";
  switch (view.type) {
    case "number":
      return (
        <div className="wb-kpi">
          <p className="kpi-value" data-value={view.value ?? ""}>
            {formatMeasure(view.value, widget)}
          </p>
          <p className="kpi-label">{view.label}</p>
        </div>
      );
    case "line":
      return (
        <>
          <LineOf points={view.points} name={view.label} label={`${caption}: ${view.label} per period`} />
          <FiguresTable figures={view.figures} caption={caption} folded />
        </>
      );
    case "bars":
      return (
        <>
          <HorizontalBars data={view.points} valueName={view.label} label={`${caption}: ${view.label}`} />
          <FiguresTable figures={view.figures} caption={caption} folded />
        </>
      );
    case "columns":
      return (
        <>
          <ColumnsOf points={view.points} name={view.label} label={`${caption}: ${view.label}`} />
          <FiguresTable figures={view.figures} caption={caption} folded />
        </>
      );
    case "stacked":
      return (
        <>
          <StackedOf rows={view.rows} series={view.series} label={`${caption}: ${view.series.join(" and ")}`} />
          <FiguresTable figures={view.figures} caption={caption} folded />
        </>
      );
    case "grid":
      return (
        <>
          <GridOf rowKeys={view.rowKeys} colKeys={view.colKeys} cells={view.cells} label={caption} />
          <FiguresTable figures={view.figures} caption={caption} folded />
        </>
      );
    case "table":
      return <FiguresTable figures={view.figures} caption={caption} folded={false} />;
  }
}

interface Props {
  widget: WidgetDoc;
  /** The workbook's filters, merged into the widget's query. */
  filters: FilterDoc[];
  /** The saved workbook and the widget's place in it (for its CSV); null before it is saved. */
  workbookId: string | null;
  index: number;
}

/** One widget of a workbook: its analytics query, then what its kind shows of the answer. */
export function WorkbookWidget({ widget, filters, workbookId, index }: Props) {
  const query = useMemo(() => analyticsInput(widget.query, filters), [widget.query, filters]);
  const q = useWidgetQuery(AnalyticsQuery, { query });
  const [downloadError, setDownloadError] = useState<unknown>(null);
  const answer = q.data?.analytics;
  const view = answer ? widgetView(widget, answer) : null;
  const title = widget.title || "Untitled widget";
  const download =
    workbookId !== null ? (
      <button
        type="button"
        onClick={() => {
          setDownloadError(null);
          downloadWidgetCsv(workbookId, index, title).catch(setDownloadError);
        }}
        aria-label={`Download CSV of ${title}`}
      >
        Download CSV
      </button>
    ) : null;
  return (
    <>
      <Widget
        title={title}
        fetching={q.fetching}
        error={q.error}
        hasData={q.hasData}
        empty={!view || view.figures.rows.length === 0}
        emptyText={q.missingDatasource ?? EMPTY_TEXT}
        actions={download}
        onRetry={q.refetch}
      >
        {view ? <WidgetBody widget={widget} view={view} /> : null}
      </Widget>
      {downloadError ? <ErrorMessage error={downloadError} what="The CSV could not be downloaded" /> : null}
    </>
  );
}
