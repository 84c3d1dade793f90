import { Widget } from "../../../components/Widget";
import type { SalesFilter } from "../../../gql/graphql";
import { formatChange, formatInteger, formatNumber } from "../../../format";
import { useWidgetQuery } from "../../../hooks/useWidgetQuery";
import { OverviewQuery } from "../queries";

type Figure = "totalSales" | "grossIncome" | "transactions" | "unitsSold" | "averageBasket" | "averageRating";

const KPIS: { key: Figure; label: string; integer?: boolean }[] = [
  { key: "totalSales", label: "Total sales" },
  { key: "grossIncome", label: "Gross income" },
  { key: "transactions", label: "Transactions", integer: true },
  { key: "unitsSold", label: "Units sold", integer: true },
  { key: "averageBasket", label: "Average basket" },
  { key: "averageRating", label: "Average rating" },
];

export function Kpis({ filter }: { filter: SalesFilter }) {
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
