// The widgets of the page for any datasource, each one analytics query.

import { DataDetails, DataTable } from "../../../components/DataTable";
import { Widget } from "../../../components/Widget";
import type { Granularity } from "../../../gql/graphql";
import { formatInteger, formatPeriod } from "../../../format";
import { useWidgetQuery } from "../../../hooks/useWidgetQuery";
import { GranularitySelect } from "../GranularitySelect";
import { isNumeric } from "./choice";
import { Bars, LineOverTime } from "./GenericCharts";
import {
  breakdownQuery,
  cellText,
  columnHeader,
  countQuery,
  figures,
  formatFigure,
  numberOf,
  PAGE_SIZE,
  PERIOD,
  ROWS,
  records,
  rowsQuery,
  shownColumns,
  trendQuery,
  type Row,
} from "./plan";
import { GenericAnalyticsQuery } from "./queries";

export function RowCount({ datasource, range }: { datasource: string; range: string }) {
  const q = useWidgetQuery(GenericAnalyticsQuery, { query: countQuery(datasource) });
  const count = records(q.data?.analytics)[0]?.[ROWS];
  return (
    <Widget title="Rows" fetching={q.fetching} error={q.error} hasData={q.hasData} onRetry={q.refetch}>
      <ul className="kpis">
        <li className="kpi" data-kpi="rows">
          <p className="kpi-label">Rows</p>
          <p className="kpi-value" data-value={numberOf(count)}>
            {formatInteger(numberOf(count))}
          </p>
        </li>
      </ul>
      {range ? <p className="filter-note">{range}</p> : null}
    </Widget>
  );
}

export function TimeTrend({
  datasource,
  numbers,
  granularity,
  onGranularity,
}: {
  datasource: string;
  numbers: string[];
  granularity: Granularity;
  onGranularity: (g: Granularity) => void;
}) {
  const q = useWidgetQuery(GenericAnalyticsQuery, { query: trendQuery(datasource, granularity, numbers) });
  const rows = records(q.data?.analytics);
  const shown = figures(numbers, false);
  const points = rows.map((r) => ({ label: formatPeriod(String(r[PERIOD]), granularity), value: numberOf(r[ROWS]) }));
  const select = <GranularitySelect value={granularity} onChange={onGranularity} />;
  return (
    <Widget
      title="Rows over time"
      className="wide"
      actions={select}
      fetching={q.fetching}
      error={q.error}
      hasData={q.hasData}
      empty={rows.length === 0}
      onRetry={q.refetch}
    >
      <LineOverTime data={points} label="Rows per period" valueName="Rows" />
      <DataDetails
        caption="Rows over time"
        rows={rows}
        rowKey={(r) => String(r[PERIOD])}
        columns={[
          { header: "Period", cell: (r: Row) => formatPeriod(String(r[PERIOD]), granularity) },
          ...shown.map((f) => ({
            header: f.label,
            cell: (r: Row) => formatFigure(r[f.name], f.integer),
            numeric: true,
          })),
        ]}
      />
    </Widget>
  );
}

export function ColumnBreakdown({
  datasource,
  column,
  numbers,
}: {
  datasource: string;
  column: string;
  numbers: string[];
}) {
  const q = useWidgetQuery(GenericAnalyticsQuery, { query: breakdownQuery(datasource, column, numbers) });
  const rows = records(q.data?.analytics);
  const shown = figures(numbers, true);
  // The bars show the first numeric column's sum when there is one, else the rows counted.
  const bar = shown[1] ?? { label: "Rows", name: ROWS, integer: true };
  const label = (r: Row) => cellText(r[column], column);
  return (
    <Widget
      title={`By ${column}`}
      fetching={q.fetching}
      error={q.error}
      hasData={q.hasData}
      empty={rows.length === 0}
      onRetry={q.refetch}
    >
      <Bars
        data={rows.map((r) => ({ label: label(r), value: numberOf(r[bar.name]) }))}
        label={`${bar.label} by ${column}`}
        valueName={bar.label}
      />
      <DataTable
        caption={`Rows by ${column}`}
        rows={rows}
        rowKey={(r) => label(r)}
        columns={[
          { header: column, cell: label },
          ...shown.map((f) => ({
            header: f.label,
            cell: (r: Row) => formatFigure(r[f.name], f.integer),
            numeric: true,
          })),
        ]}
      />
    </Widget>
  );
}

export function RowsTable({
  datasource,
  total,
  timed,
  dated,
  types,
  page,
  onPage,
}: {
  datasource: string;
  /** Each column's type, as the contract says. */
  types: Record<string, string>;
  total: number;
  timed: boolean;
  /** It has a date column of its own (which the time column was made from). */
  dated: boolean;
  page: number;
  onPage: (page: number) => void;
}) {
  const q = useWidgetQuery(GenericAnalyticsQuery, { query: rowsQuery(datasource, page, timed) });
  const columns = shownColumns(q.data?.analytics.columns ?? [], dated);
  const rows = records(q.data?.analytics);
  const pages = Math.max(1, Math.ceil(total / PAGE_SIZE));
  const first = (page - 1) * PAGE_SIZE + 1;
  const pager = (
    <nav className="toolbar" aria-label="Pages of rows">
      <button type="button" disabled={page <= 1} onClick={() => onPage(page - 1)}>
        Previous
      </button>
      <span aria-live="polite">
        {rows.length > 0
          ? `Rows ${formatInteger(first)} to ${formatInteger(first + rows.length - 1)} of ${formatInteger(total)}`
          : `Page ${formatInteger(page)} of ${formatInteger(pages)}`}
      </span>
      <button type="button" disabled={page >= pages} onClick={() => onPage(page + 1)}>
        Next
      </button>
    </nav>
  );
  return (
    <Widget
      title={timed ? "Rows, latest first" : "Rows"}
      className="wide"
      fetching={q.fetching}
      error={q.error}
      hasData={q.hasData}
      empty={rows.length === 0}
      emptyText="There are no rows on this page."
      onRetry={q.refetch}
    >
      <DataTable
        caption={`Rows of ${datasource}`}
        rows={rows}
        rowKey={(_, index) => String(first + index)}
        columns={columns.map((c) => ({
          header: columnHeader(c),
          cell: (r: Row) => cellText(r[c], c, types[c]),
          numeric: isNumeric({ name: c, type: types[c] ?? "" }),
        }))}
      />
      {pager}
    </Widget>
  );
}
