import { useId } from "react";
import { DataDetails } from "../../../components/DataTable";
import { Widget } from "../../../components/Widget";
import type { Granularity, SalesFilter } from "../../../gql/graphql";
import { formatInteger, formatNumber, formatPeriod } from "../../../format";
import { useWidgetQuery } from "../../../hooks/useWidgetQuery";
import { TrendChart } from "../charts";
import { GRANULARITIES } from "../filters";
import { TrendQuery } from "../queries";

export function Trend({
  filter,
  granularity,
  onGranularity,
}: {
  filter: SalesFilter;
  granularity: Granularity;
  onGranularity: (g: Granularity) => void;
}) {
  const id = useId();
  const q = useWidgetQuery(TrendQuery, { filter, granularity });
  const points = (q.data?.salesTrend ?? []).map((p) => ({
    label: formatPeriod(p.period, granularity),
    totalSales: p.totalSales,
    grossIncome: p.grossIncome,
    transactions: p.transactions,
  }));
  const select = (
    <>
      <label htmlFor={id} className="visually-hidden">
        Granularity
      </label>
      <select id={id} value={granularity} onChange={(e) => onGranularity(e.target.value as Granularity)}>
        {GRANULARITIES.map((g) => (
          <option key={g.value} value={g.value}>
            {g.label}
          </option>
        ))}
      </select>
    </>
  );
  return (
    <Widget
      title="Sales trend"
      className="wide"
      actions={select}
      fetching={q.fetching}
      error={q.error}
      hasData={q.hasData}
      empty={points.length === 0}
      onRetry={q.refetch}
    >
      <TrendChart data={points} label="Total sales and gross income per period" />
      <DataDetails
        caption="Sales trend"
        rows={points}
        rowKey={(r) => r.label}
        columns={[
          { header: "Period", cell: (r) => r.label },
          { header: "Total sales", cell: (r) => formatNumber(r.totalSales), numeric: true },
          { header: "Gross income", cell: (r) => formatNumber(r.grossIncome), numeric: true },
          { header: "Transactions", cell: (r) => formatInteger(r.transactions), numeric: true },
        ]}
      />
    </Widget>
  );
}
