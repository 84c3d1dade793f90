import { Widget } from "../../../components/Widget";
import type { SalesFilter } from "../../../gql/graphql";
import { formatChange, formatInteger, formatMoney, formatNumber } from "../../../format";
import { useWidgetQuery } from "../../../hooks/useWidgetQuery";
import { OverviewQuery } from "../queries";
import { formatDayRange } from "../relativeRange";

type Figure = "totalSales" | "grossIncome" | "transactions" | "unitsSold" | "averageBasket" | "averageRating";
type Kind = "money" | "integer" | "number";

const KPIS: { key: Figure; label: string; kind: Kind }[] = [
  { key: "totalSales", label: "Total sales", kind: "money" },
  { key: "grossIncome", label: "Gross income", kind: "money" },
  { key: "transactions", label: "Transactions", kind: "integer" },
  { key: "unitsSold", label: "Units sold", kind: "integer" },
  { key: "averageBasket", label: "Average basket", kind: "money" },
  { key: "averageRating", label: "Average rating", kind: "number" },
];

const FORMAT: Record<Kind, (value: number | null | undefined) => string> = {
  money: formatMoney,
  integer: formatInteger,
  number: (value) => formatNumber(value),
};

/** How many days the offered comparison covers when no range is chosen. */
export const COMPARE_DAYS = 30;
const DAY_MS = 86_400_000;

/** The inclusive days of a period whose end is exclusive (midnight after its last day). */
function periodDays(start: string, end: string): { from: string; to: string } {
  return {
    from: new Date(start).toISOString().slice(0, 10),
    to: new Date(new Date(end).getTime() - DAY_MS).toISOString().slice(0, 10),
  };
}

/** The last `COMPARE_DAYS` days of the data, ending on the day before `periodEnd` (exclusive). */
export function lastDaysOf(periodEnd: string): { from: string; to: string } {
  const end = new Date(periodEnd).getTime();
  return periodDays(new Date(end - COMPARE_DAYS * DAY_MS).toISOString(), periodEnd);
}

function changeText(change: number | null | undefined, before: number | null | undefined, kind: Kind, days: string) {
  if (change === null || change === undefined) return `Nothing in ${days} to compare with.`;
  return `${formatChange(change)} vs ${days}: ${FORMAT[kind](before)}`;
}

interface Props {
  filter: SalesFilter;
  /** Chooses these days (inclusive), offered when no range is set. */
  onCompare?: (from: string, to: string) => void;
}

export function Kpis({ filter, onCompare }: Props) {
  const q = useWidgetQuery(OverviewQuery, { filter });
  const s = q.data?.salesSummary;
  // Without chosen dates the figures cover all the data, and there is no previous period.
  const previous = s?.previousStart && s.previousEnd ? periodDays(s.previousStart, s.previousEnd) : null;
  const days = previous ? formatDayRange(previous.from, previous.to) : null;
  const offer = !previous && s?.periodEnd && onCompare ? lastDaysOf(s.periodEnd) : null;
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
        <>
          <ul className="kpis">
            {KPIS.map(({ key, label, kind }) => {
              const change = s.changePercent[key];
              const tone = change === null || change === undefined || change === 0 ? "" : change > 0 ? "up" : "down";
              return (
                <li className="kpi" key={key} data-kpi={key}>
                  <p className="kpi-label">{label}</p>
                  <p className="kpi-value" data-value={s[key] ?? ""}>
                    {FORMAT[kind](s[key])}
                  </p>
                  <p className={`kpi-change ${tone}`}>
                    {days ? changeText(change, s.previous[key], kind, days) : "No earlier period to compare with."}
                  </p>
                </li>
              );
            })}
          </ul>
          {offer && onCompare ? (
            <p className="kpi-compare">
              <button type="button" className="link-button" onClick={() => onCompare(offer.from, offer.to)}>
                Compare the last {COMPARE_DAYS} days of the data with the {COMPARE_DAYS} days before
              </button>
            </p>
          ) : null}
        </>
      ) : null}
    </Widget>
  );
}
