import { useId } from "react";
import { DataDetails } from "../../../components/DataTable";
import { Widget } from "../../../components/Widget";
import type { ProfitabilityBy, SalesFilter } from "../../../gql/graphql";
import { formatNumber, formatPercent } from "../../../format";
import { useWidgetQuery } from "../../../hooks/useWidgetQuery";
import { ProfitChart } from "../charts";
import { PROFITABILITY_BY } from "../filters";
import { ProfitabilityQuery } from "../queries";

export function Profitability({
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
