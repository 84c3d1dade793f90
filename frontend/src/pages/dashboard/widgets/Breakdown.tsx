import { DataDetails } from "../../../components/DataTable";
import { Widget } from "../../../components/Widget";
import type { SalesFilter } from "../../../gql/graphql";
import { formatInteger, formatNumber, formatPercent } from "../../../format";
import { useWidgetQuery } from "../../../hooks/useWidgetQuery";
import { Donut, HorizontalBars } from "../charts";
import { OverviewQuery } from "../queries";

export const BREAKDOWNS = [
  { title: "By branch", field: "byBranch", donut: false },
  { title: "By city", field: "byCity", donut: false },
  { title: "By product line", field: "byProductLine", donut: false },
  { title: "By payment", field: "byPayment", donut: true },
  { title: "By customer type", field: "byCustomerType", donut: true },
  { title: "By gender", field: "byGender", donut: true },
] as const;

type BreakdownField = (typeof BREAKDOWNS)[number]["field"];

export function Breakdown({
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
