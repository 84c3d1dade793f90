import { DataDetails } from "../../../components/DataTable";
import { Widget } from "../../../components/Widget";
import type { SalesFilter } from "../../../gql/graphql";
import { formatInteger, formatNumber, hourLabel, weekdayName } from "../../../format";
import { useWidgetQuery } from "../../../hooks/useWidgetQuery";
import { HeatLegend, Heatmap, RatingChart } from "../charts";
import { DetailsQuery } from "../queries";

export function TopProducts({ filter }: { filter: SalesFilter }) {
  const q = useWidgetQuery(DetailsQuery, { filter });
  const rows = q.data?.topProductLines ?? [];
  return (
    <Widget
      title="Top product lines"
      fetching={q.fetching}
      error={q.error}
      hasData={q.hasData}
      empty={rows.length === 0}
      onRetry={q.refetch}
    >
      <ol>
        {rows.map((r) => (
          <li key={r.productLine}>
            <strong>{r.productLine}</strong>: {formatNumber(r.totalSales)} ({formatInteger(r.transactions)}{" "}
            transactions, rating {formatNumber(r.averageRating, 1)})
          </li>
        ))}
      </ol>
    </Widget>
  );
}

export function Ratings({ filter }: { filter: SalesFilter }) {
  const q = useWidgetQuery(DetailsQuery, { filter });
  const bins = (q.data?.ratingDistribution ?? []).map((b) => ({
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

export function HeatmapWidget({ filter }: { filter: SalesFilter }) {
  const q = useWidgetQuery(DetailsQuery, { filter });
  const cells = q.data?.salesHeatmap ?? [];
  const busy = cells.filter((c) => c.transactions > 0);
  const max = Math.max(0, ...cells.map((c) => c.totalSales));
  return (
    <Widget
      title="Sales by weekday and hour"
      className="wide"
      fetching={q.fetching}
      error={q.error}
      hasData={q.hasData}
      empty={busy.length === 0}
      onRetry={q.refetch}
    >
      <Heatmap cells={cells} label="Total sales by day of week and hour of day" />
      <HeatLegend max={max} />
      <DataDetails
        caption="Sales by weekday and hour"
        rows={busy}
        rowKey={(c) => `${c.dayOfWeek}:${c.hour}`}
        columns={[
          { header: "Day", cell: (c) => weekdayName(c.dayOfWeek) },
          { header: "Hour", cell: (c) => hourLabel(c.hour) },
          { header: "Total sales", cell: (c) => formatNumber(c.totalSales), numeric: true },
          { header: "Transactions", cell: (c) => formatInteger(c.transactions), numeric: true },
        ]}
      />
    </Widget>
  );
}
