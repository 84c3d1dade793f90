import { useId, useMemo } from "react";
import { useSearchParams } from "react-router";

import { DataDetails } from "../../components/DataTable";
import { Widget } from "../../components/Widget";
import type { Granularity, ProfitabilityBy, SalesFilter } from "../../gql/graphql";
import {
  formatChange,
  formatInteger,
  formatNumber,
  formatPercent,
  formatPeriod,
  hourLabel,
  weekdayName,
} from "../../format";
import { useDocumentTitle } from "../../hooks/useDocumentTitle";
import { useWidgetQuery } from "../../hooks/useWidgetQuery";
import { Donut, HeatLegend, Heatmap, HorizontalBars, ProfitChart, RatingChart, TrendChart } from "./charts";
import { FilterBar } from "./FilterBar";
import {
  filtersFromParams,
  filtersToParams,
  granularityFromParams,
  GRANULARITIES,
  PROFITABILITY_BY,
  profitabilityFromParams,
  toSalesFilter,
  withSetting,
} from "./filters";
import { DetailsQuery, OverviewQuery, ProfitabilityQuery, TrendQuery } from "./queries";
import { SaveDashboardButton } from "../workbook/SaveDashboardButton";
import { useHomeChoice } from "./useHomeChoice";

type Figure = "totalSales" | "grossIncome" | "transactions" | "unitsSold" | "averageBasket" | "averageRating";

const KPIS: { key: Figure; label: string; integer?: boolean }[] = [
  { key: "totalSales", label: "Total sales" },
  { key: "grossIncome", label: "Gross income" },
  { key: "transactions", label: "Transactions", integer: true },
  { key: "unitsSold", label: "Units sold", integer: true },
  { key: "averageBasket", label: "Average basket" },
  { key: "averageRating", label: "Average rating" },
];

function Kpis({ filter }: { filter: SalesFilter }) {
  const q = useWidgetQuery(OverviewQuery, { filter });
  const s = q.data?.salesSummary;
  return (
    <Widget
      title="Key figures"
      fetching={q.fetching}
      error={q.error}
      hasData={q.hasData}
      empty={!s || s.transactions === 0}
      emptyText={q.missingDatasource ?? "No sales in this selection."}
      onRetry={q.refetch}
    >
      {s ? (
        <ul className="kpis">
          {KPIS.map(({ key, label, integer }) => {
            const change = s.changePercent[key];
            const tone = change === null || change === undefined || change === 0 ? "" : change > 0 ? "up" : "down";
            return (
              <li className="kpi" key={key} data-kpi={key}>
                <p className="kpi-label">{label}</p>
                <p className="kpi-value" data-value={s[key] ?? ""}>
                  {integer ? formatInteger(s[key]) : formatNumber(s[key])}
                </p>
                <p className={`kpi-change ${tone}`}>
                  {change === null || change === undefined
                    ? "no previous period"
                    : `${formatChange(change)} vs previous period`}
                </p>
              </li>
            );
          })}
        </ul>
      ) : null}
    </Widget>
  );
}

function Trend({
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

const BREAKDOWNS = [
  { title: "By branch", field: "byBranch", donut: false },
  { title: "By city", field: "byCity", donut: false },
  { title: "By product line", field: "byProductLine", donut: false },
  { title: "By payment", field: "byPayment", donut: true },
  { title: "By customer type", field: "byCustomerType", donut: true },
  { title: "By gender", field: "byGender", donut: true },
] as const;

type BreakdownField = (typeof BREAKDOWNS)[number]["field"];

function Breakdown({
  title,
  field,
  donut,
  filter,
}: {
  title: string;
  field: BreakdownField;
  donut: boolean;
  filter: SalesFilter;
}) {
  const q = useWidgetQuery(OverviewQuery, { filter });
  const rows = q.data?.[field] ?? [];
  const data = rows.map((r) => ({ key: r.key, value: r.totalSales }));
  return (
    <Widget
      title={`Sales ${title.toLowerCase()}`}
      fetching={q.fetching}
      error={q.error}
      hasData={q.hasData}
      empty={rows.length === 0}
      onRetry={q.refetch}
    >
      {donut ? (
        <Donut data={data} label={`Total sales ${title.toLowerCase()}`} />
      ) : (
        <HorizontalBars data={data} valueName="Total sales" label={`Total sales ${title.toLowerCase()}`} />
      )}
      <DataDetails
        caption={`Sales ${title.toLowerCase()}`}
        rows={rows}
        rowKey={(r) => r.key}
        columns={[
          { header: "Value", cell: (r) => r.key },
          { header: "Total sales", cell: (r) => formatNumber(r.totalSales), numeric: true },
          { header: "Share", cell: (r) => formatPercent(r.share), numeric: true },
          { header: "Transactions", cell: (r) => formatInteger(r.transactions), numeric: true },
        ]}
      />
    </Widget>
  );
}

function Profitability({
  filter,
  by,
  onBy,
}: {
  filter: SalesFilter;
  by: ProfitabilityBy;
  onBy: (by: ProfitabilityBy) => void;
}) {
  const id = useId();
  const q = useWidgetQuery(ProfitabilityQuery, { filter, by });
  const rows = q.data?.profitability ?? [];
  const select = (
    <>
      <label htmlFor={id} className="visually-hidden">
        Profitability by
      </label>
      <select id={id} value={by} onChange={(e) => onBy(e.target.value as ProfitabilityBy)}>
        {PROFITABILITY_BY.map((p) => (
          <option key={p.value} value={p.value}>
            {p.label}
          </option>
        ))}
      </select>
    </>
  );
  return (
    <Widget
      title="Profitability"
      actions={select}
      fetching={q.fetching}
      error={q.error}
      hasData={q.hasData}
      empty={rows.length === 0}
      onRetry={q.refetch}
    >
      <ProfitChart data={rows} label="Cost of goods and gross income" />
      <DataDetails
        caption="Profitability"
        rows={rows}
        rowKey={(r) => r.key}
        columns={[
          { header: "Key", cell: (r) => r.key },
          { header: "Revenue", cell: (r) => formatNumber(r.revenue), numeric: true },
          { header: "Cost of goods", cell: (r) => formatNumber(r.cogs), numeric: true },
          { header: "Gross income", cell: (r) => formatNumber(r.grossIncome), numeric: true },
          { header: "Margin", cell: (r) => formatPercent(r.margin), numeric: true },
        ]}
      />
    </Widget>
  );
}

function TopProducts({ filter }: { filter: SalesFilter }) {
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

function Ratings({ filter }: { filter: SalesFilter }) {
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

function HeatmapWidget({ filter }: { filter: SalesFilter }) {
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

export default function DashboardPage() {
  useDocumentTitle("Dashboard");
  const [params, setParams] = useSearchParams();
  const filters = useMemo(() => filtersFromParams(params), [params]);
  const granularity = granularityFromParams(params);
  const filter = useMemo(() => toSalesFilter(filters), [filters]);
  if (useHomeChoice()) {
    return (
      <p role="status" className="page-loading">
        Opening your default dashboard…
      </p>
    );
  }
  return (
    <>
      <div className="page-title">
        <h1>Sales dashboard</h1>
        <SaveDashboardButton filters={filters} />
      </div>
      <FilterBar filters={filters} onChange={(next) => setParams(filtersToParams(next, params))} />
      <Kpis filter={filter} />
      <Trend
        filter={filter}
        granularity={granularity}
        onGranularity={(g) => setParams(withSetting(params, "g", g, "DAY"))}
      />
      <div className="grid">
        {BREAKDOWNS.map((b) => (
          <Breakdown key={b.title} title={b.title} field={b.field} donut={b.donut} filter={filter} />
        ))}
        <Profitability
          filter={filter}
          by={profitabilityFromParams(params)}
          onBy={(by) => setParams(withSetting(params, "profit", by, "PRODUCT_LINE"))}
        />
        <TopProducts filter={filter} />
        <Ratings filter={filter} />
        <HeatmapWidget filter={filter} />
      </div>
    </>
  );
}
