import { useState } from "react";

import { DataDetails } from "../../../components/DataTable";
import { Widget } from "../../../components/Widget";
import type { SalesFilter } from "../../../gql/graphql";
import { formatInteger, formatMoney, formatNumber, hourLabel, weekdayName } from "../../../format";
import { useWidgetQuery } from "../../../hooks/useWidgetQuery";
import { HeatLegend, Heatmap, RatingChart } from "../charts";
import { DetailsQuery } from "../queries";
import { RowsDialog } from "../rows/RowsDialog";
import { hourFilter, type RowsScope } from "../rows/scope";

export function TopProducts({ filter }: { filter: SalesFilter }) {
  const q = useWidgetQuery(DetailsQuery, { filter });
  const rows = q.data?.topProductLines ?? [];
  const [showRows, setShowRows] = useState(false);
  return (
    <Widget
      title="Top product lines"
      fetching={q.fetching}
      error={q.error}
      hasData={q.hasData}
      empty={rows.length === 0}
      onRetry={q.refetch}
      onShowRows={() => setShowRows(true)}
      figures={() => ({
        columns: ["Product line", "Total sales", "Gross income", "Transactions", "Units sold", "Average rating"],
        rows: rows.map((r) => [
          r.productLine,
          r.totalSales,
          r.grossIncome,
          r.transactions,
          r.unitsSold,
          r.averageRating,
        ]),
      })}
      overlay={
        showRows ? (
          <RowsDialog filter={filter} scope={{ title: "Top product lines" }} onClose={() => setShowRows(false)} />
        ) : null
      }
    >
      <ol>
        {rows.map((r) => (
          <li key={r.productLine}>
            <strong>{r.productLine}</strong>: {formatMoney(r.totalSales)} ({formatInteger(r.transactions)} transactions,
            rating {formatNumber(r.averageRating, 1)})
          </li>
        ))}
      </ol>
    </Widget>
  );
}

export function Ratings({ filter }: { filter: SalesFilter }) {
  const q = useWidgetQuery(DetailsQuery, { filter });
  const source = q.data?.ratingDistribution ?? [];
  const [showRows, setShowRows] = useState(false);
  const bins = source.map((b) => ({
    label: `${formatNumber(b.lower, 1)}–${formatNumber(b.upper, 1)}`,
    count: b.count,
  }));
  return (
    <Widget
      title="Rating distribution"
      fetching={q.fetching}
      error={q.error}
      hasData={q.hasData}
      empty={bins.every((b) => b.count === 0)}
      onRetry={q.refetch}
      onShowRows={() => setShowRows(true)}
      figures={() => ({
        columns: ["Rating from", "Rating to", "Transactions"],
        rows: source.map((b) => [b.lower, b.upper, b.count]),
      })}
      overlay={
        showRows ? (
          <RowsDialog filter={filter} scope={{ title: "Rating distribution" }} onClose={() => setShowRows(false)} />
        ) : null
      }
    >
      <RatingChart data={bins} label="Transactions per rating band" />
      <DataDetails
        caption="Rating distribution"
        rows={bins}
        rowKey={(r) => r.label}
        columns={[
          { header: "Rating", cell: (r) => r.label },
          { header: "Transactions", cell: (r) => formatInteger(r.count), numeric: true },
        ]}
      />
    </Widget>
  );
}

/** The rows of one heatmap cell: its hour of the day on the days that fall on its weekday (the
 * dashboard's filters have no weekday or hour, so a cell opens its rows instead of filtering). */
function cellScope(dayOfWeek: number, hour: number): RowsScope {
  return { title: `${weekdayName(dayOfWeek)} ${hourLabel(hour)}`, filters: [hourFilter(hour)], weekday: dayOfWeek };
}

export function HeatmapWidget({ filter }: { filter: SalesFilter }) {
  const q = useWidgetQuery(DetailsQuery, { filter });
  const cells = q.data?.salesHeatmap ?? [];
  const busy = cells.filter((c) => c.transactions > 0);
  const max = Math.max(0, ...cells.map((c) => c.totalSales));
  const [scope, setScope] = useState<RowsScope | null>(null);
  return (
    <Widget
      title="Sales by weekday and hour"
      className="wide"
      fetching={q.fetching}
      error={q.error}
      hasData={q.hasData}
      empty={busy.length === 0}
      onRetry={q.refetch}
      onShowRows={() => setScope({ title: "Sales by weekday and hour" })}
      figures={() => ({
        columns: ["Day of week (1 Monday to 7 Sunday)", "Day", "Hour", "Total sales", "Transactions"],
        rows: cells.map((c) => [c.dayOfWeek, weekdayName(c.dayOfWeek), c.hour, c.totalSales, c.transactions]),
      })}
      overlay={scope ? <RowsDialog filter={filter} scope={scope} onClose={() => setScope(null)} /> : null}
    >
      <Heatmap
        cells={cells}
        label="Total sales by day of week and hour of day; choose a cell to see its rows"
        onCell={(day, hour) => setScope(cellScope(day, hour))}
      />
      <HeatLegend max={max} />
      <DataDetails
        caption="Sales by weekday and hour"
        rows={busy}
        rowKey={(c) => `${c.dayOfWeek}:${c.hour}`}
        columns={[
          { header: "Day", cell: (c) => weekdayName(c.dayOfWeek) },
          { header: "Hour", cell: (c) => hourLabel(c.hour) },
          { header: "Total sales", cell: (c) => formatMoney(c.totalSales), numeric: true },
          { header: "Transactions", cell: (c) => formatInteger(c.transactions), numeric: true },
          {
            header: "Rows",
            cell: (c) => (
              <button type="button" onClick={() => setScope(cellScope(c.dayOfWeek, c.hour))}>
                Show rows
                <span className="visually-hidden">
                  {" "}
                  of {weekdayName(c.dayOfWeek)} {hourLabel(c.hour)}
                </span>
              </button>
            ),
          },
        ]}
      />
    </Widget>
  );
}
