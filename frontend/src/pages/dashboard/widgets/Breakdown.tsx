import { useState } from "react";

import { DataDetails } from "../../../components/DataTable";
import { Widget } from "../../../components/Widget";
import type { SalesFilter } from "../../../gql/graphql";
import { formatInteger, formatMoney, formatPercent } from "../../../format";
import { useWidgetQuery } from "../../../hooks/useWidgetQuery";
import { Donut, HorizontalBars } from "../charts";
import { DrillButtons } from "../DrillButtons";
import { useDrill } from "../drill";
import type { ListFilter } from "../filters";
import { OverviewQuery } from "../queries";
import { RowsDialog } from "../rows/RowsDialog";
import type { RowsScope } from "../rows/scope";

export const BREAKDOWNS = [
  { title: "By branch", field: "byBranch", donut: false },
  { title: "By city", field: "byCity", donut: false },
  { title: "By product line", field: "byProductLine", donut: false },
  { title: "By payment", field: "byPayment", donut: true },
  { title: "By customer type", field: "byCustomerType", donut: true },
  { title: "By gender", field: "byGender", donut: true },
] as const;

type BreakdownField = (typeof BREAKDOWNS)[number]["field"];

/** Each breakdown's column, its colours' dimension and the dashboard filter a click sets (the
 * dashboard has no city filter: a city opens its rows instead). */
const DIMENSIONS: Record<BreakdownField, { column: string; dimension: string; filter: ListFilter | null }> = {
  byBranch: { column: "Branch", dimension: "branch", filter: "branches" },
  byCity: { column: "City", dimension: "city", filter: null },
  byProductLine: { column: "Product line", dimension: "productLine", filter: "productLines" },
  byPayment: { column: "Payment", dimension: "payment", filter: "payments" },
  byCustomerType: { column: "Customer type", dimension: "customerType", filter: "customerTypes" },
  byGender: { column: "Gender", dimension: "gender", filter: "genders" },
};

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
  const drill = useDrill();
  const [scope, setScope] = useState<RowsScope | null>(null);
  const { column, dimension, filter: drillFilter } = DIMENSIONS[field];
  const heading = `Sales ${title.toLowerCase()}`;
  const rows = q.data?.[field] ?? [];
  const data = rows.map((r) => ({ key: r.key, value: r.totalSales }));
  const select = (key: string) => {
    if (drillFilter) drill(drillFilter, key);
    else setScope({ title: `${column} ${key}`, filters: [{ kind: "IN", column, values: [key] }] });
  };
  const chartLabel = `Total sales ${title.toLowerCase()}`;
  return (
    <Widget
      title={heading}
      fetching={q.fetching}
      error={q.error}
      hasData={q.hasData}
      empty={rows.length === 0}
      onRetry={q.refetch}
      onShowRows={() => setScope({ title: heading })}
      figures={() => ({
        columns: [column, "Total sales", "Gross income", "Transactions", "Units sold", "Share"],
        rows: rows.map((r) => [r.key, r.totalSales, r.grossIncome, r.transactions, r.unitsSold, r.share]),
      })}
      overlay={scope ? <RowsDialog filter={filter} scope={scope} onClose={() => setScope(null)} /> : null}
    >
      {donut ? (
        <Donut data={data} label={chartLabel} dimension={dimension} onSelect={select} />
      ) : (
        <HorizontalBars
          data={data}
          valueName="Total sales"
          label={chartLabel}
          dimension={dimension}
          onSelect={select}
        />
      )}
      <DrillButtons
        label={
          drillFilter
            ? `Filter the dashboard by ${column.toLowerCase()}:`
            : `Show the rows of one ${column.toLowerCase()}:`
        }
        values={rows.map((r) => r.key)}
        dimension={dimension}
        onSelect={select}
      />
      <DataDetails
        caption={heading}
        rows={rows}
        rowKey={(r) => r.key}
        columns={[
          { header: column, cell: (r) => r.key },
          { header: "Total sales", cell: (r) => formatMoney(r.totalSales), numeric: true },
          { header: "Share", cell: (r) => formatPercent(r.share), numeric: true },
          { header: "Transactions", cell: (r) => formatInteger(r.transactions), numeric: true },
        ]}
      />
    </Widget>
  );
}
