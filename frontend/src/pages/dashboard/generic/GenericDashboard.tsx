// The dashboard of a datasource without the sales columns, built from its contract: its rows
// counted, over time, broken down by each text column of few values, and the rows themselves.
import { useSearchParams } from "react-router";

import { Widget } from "../../../components/Widget";
import { formatDay, formatInteger } from "../../../format";
import { useWidgetQuery } from "../../../hooks/useWidgetQuery";
import { granularityFromParams, withSetting } from "../filters";
import {
  breakdownColumns,
  dataColumns,
  type DatasourceInfo,
  distinctCounts,
  hasDateColumn,
  hasTime,
  isNumeric,
  isText,
  MAX_DISTINCT,
  MAX_NUMBERS,
} from "./choice";
import { DatasourcePicker } from "./DatasourcePicker";
import { MakeWorkbookButton } from "./MakeWorkbookButton";
import { distinctQuery, PAGE_SIZE } from "./plan";
import { GenericAnalyticsQuery } from "./queries";
import "./generic.css";
import { ColumnBreakdown, RowCount, RowsTable, TimeTrend } from "./Widgets";

interface Props {
  datasource: DatasourceInfo;
  names: string[];
  onDatasource: (name: string) => void;
}

export function pageFromParams(params: URLSearchParams): number {
  const page = Number(params.get("page"));
  return Number.isInteger(page) && page >= 1 ? page : 1;
}

function timeRange(datasource: DatasourceInfo): string {
  if (!datasource.timeStart || !datasource.timeEnd) return "";
  return `From ${formatDay(datasource.timeStart)} to ${formatDay(datasource.timeEnd)}.`;
}

export default function GenericDashboard({ datasource, names, onDatasource }: Props) {
  const [params, setParams] = useSearchParams();
  const name = datasource.name;
  const columns = dataColumns(datasource);
  const text = columns.filter(isText).map((c) => c.name);
  const numbers = columns
    .filter(isNumeric)
    .map((c) => c.name)
    .slice(0, MAX_NUMBERS);
  const timed = hasTime(datasource);
  const pages = Math.max(1, Math.ceil(datasource.rowCount / PAGE_SIZE));
  const page = Math.min(pageFromParams(params), pages);
  const granularity = granularityFromParams(params);
  const empty = datasource.rowCount === 0;
  const found = useBreakdownColumns(name, text, empty);
  return (
    <>
      <div className="page-title">
        <h1>Dashboard of {name}</h1>
        {!empty && found.counted ? (
          <MakeWorkbookButton
            shape={{ datasource: name, numbers, breakdowns: found.chosen, granularity: timed ? granularity : null }}
          />
        ) : null}
      </div>
      <DatasourcePicker value={name} names={names} onChange={onDatasource} />
      <p className="filter-note generic-note">
        This datasource does not have the sales columns, so the page shows what any datasource can answer: its rows
        counted, over time, by each text column with few values, and the rows themselves.
      </p>
      {empty ? (
        <p role="status" className="widget-empty">
          {name} has no rows yet. Upload a file to it, and its figures appear here.
        </p>
      ) : (
        <>
          <RowCount datasource={name} range={timeRange(datasource)} />
          {timed ? (
            <TimeTrend
              datasource={name}
              numbers={numbers}
              granularity={granularity}
              onGranularity={(g) => setParams(withSetting(params, "g", g, "DAY"))}
            />
          ) : null}
          <Breakdowns datasource={name} numbers={numbers} found={found} />
          <RowsTable
            datasource={name}
            total={datasource.rowCount}
            timed={timed}
            dated={hasDateColumn(datasource)}
            types={Object.fromEntries(datasource.columns.map((c) => [c.name, c.type]))}
            page={page}
            onPage={(next) => setParams(withSetting(params, "page", String(next), "1"))}
          />
        </>
      )}
    </>
  );
}

/** The text columns worth a breakdown: those with at most MAX_DISTINCT values, counted in one
 * query (none while it runs). */
function useBreakdownColumns(datasource: string, text: string[], empty: boolean) {
  const q = useWidgetQuery(
    GenericAnalyticsQuery,
    { query: distinctQuery(datasource, text) },
    empty || text.length === 0,
  );
  const counts = distinctCounts(text, q.data?.analytics);
  return { q, chosen: counts ? breakdownColumns(text, counts) : [], counted: text.length === 0 || !!counts };
}

function Breakdowns({
  datasource,
  numbers,
  found,
}: {
  datasource: string;
  numbers: string[];
  found: ReturnType<typeof useBreakdownColumns>;
}) {
  const { q, chosen, counted } = found;
  if (!counted || chosen.length === 0) {
    return (
      <Widget
        title="Breakdowns"
        fetching={q.fetching}
        error={q.error}
        hasData={counted}
        empty
        emptyText={`No text column has ${formatInteger(MAX_DISTINCT)} or fewer different values to break the rows down by.`}
        onRetry={q.refetch}
      />
    );
  }
  return (
    <div className="grid generic-breakdowns">
      {chosen.map((column) => (
        <ColumnBreakdown key={column} datasource={datasource} column={column} numbers={numbers} />
      ))}
    </div>
  );
}
