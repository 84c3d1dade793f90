import { useState } from "react";
import { DataDetails } from "../../../components/DataTable";
import { Widget } from "../../../components/Widget";
import type { Granularity, SalesFilter } from "../../../gql/graphql";
import { formatInteger, formatMoney, formatPeriod } from "../../../format";
import { useWidgetQuery } from "../../../hooks/useWidgetQuery";
import { TrendChart } from "../charts";
import { GranularitySelect } from "../GranularitySelect";
import { partialPeriods } from "../partial";
import { OverviewQuery, TrendQuery } from "../queries";
import { RowsDialog } from "../rows/RowsDialog";

export function Trend({
  filter,
  granularity,
  onGranularity,
}: {
  filter: SalesFilter;
  granularity: Granularity;
  onGranularity: (g: Granularity) => void;
}) {
  const q = useWidgetQuery(TrendQuery, { filter, granularity });
  // The period the selection covers (shared with the key figures' request).
  const summary = useWidgetQuery(OverviewQuery, { filter }).data?.salesSummary;
  const [showRows, setShowRows] = useState(false);
  const trend = q.data?.salesTrend ?? [];
  const partial = partialPeriods(
    trend.map((p) => p.period),
    granularity,
    { start: summary?.periodStart, end: summary?.periodEnd },
  );
  const points = trend.map((p, i) => ({
    period: p.period,
    label: formatPeriod(p.period, granularity),
    totalSales: p.totalSales,
    grossIncome: p.grossIncome,
    transactions: p.transactions,
    unitsSold: p.unitsSold,
    partial: partial[i] ?? false,
  }));
  const partialCount = points.filter((p) => p.partial).length;
  const select = <GranularitySelect value={granularity} onChange={onGranularity} />;
  return (
    <Widget
      title="Sales trend"
      className="wide"
      actions={select}
      fetching={q.fetching}
      error={q.error}
      hasData={q.hasData}
      empty={points.length === 0 || points.every((p) => p.transactions === 0)}
      onRetry={q.refetch}
      onShowRows={() => setShowRows(true)}
      figures={() => ({
        columns: ["Period start", "Total sales", "Gross income", "Transactions", "Units sold", "Partial period"],
        rows: points.map((p) => [p.period, p.totalSales, p.grossIncome, p.transactions, p.unitsSold, p.partial]),
      })}
      overlay={
        showRows ? (
          <RowsDialog filter={filter} scope={{ title: "Sales trend" }} onClose={() => setShowRows(false)} />
        ) : null
      }
    >
      <TrendChart
        data={points}
        label="Total sales (left axis) and gross income (right axis) per period; a partial period is dashed"
      />
      {partialCount > 0 ? (
        <p className="partial-note">
          Dashed:{" "}
          {points
            .filter((p) => p.partial)
            .map((p) => p.label)
            .join(" and ")}{" "}
          {partialCount > 1 ? "are partial periods" : "is a partial period"}: the selection covers only part of{" "}
          {partialCount > 1 ? "them" : "it"}, so {partialCount > 1 ? "their totals are" : "its total is"} not comparable
          with a whole one.
        </p>
      ) : null}
      <DataDetails
        caption="Sales trend"
        rows={points}
        rowKey={(r) => r.label}
        columns={[
          { header: "Period", cell: (r) => (r.partial ? `${r.label} (partial period)` : r.label) },
          { header: "Total sales", cell: (r) => formatMoney(r.totalSales), numeric: true },
          { header: "Gross income", cell: (r) => formatMoney(r.grossIncome), numeric: true },
          { header: "Transactions", cell: (r) => formatInteger(r.transactions), numeric: true },
        ]}
      />
    </Widget>
  );
}
