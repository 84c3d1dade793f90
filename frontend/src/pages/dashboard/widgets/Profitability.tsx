import { useId, useState } from "react";
import { DataDetails } from "../../../components/DataTable";
import { Widget } from "../../../components/Widget";
import type { ProfitabilityBy, SalesFilter } from "../../../gql/graphql";
import { formatMoney, formatPercent } from "../../../format";
import { useWidgetQuery } from "../../../hooks/useWidgetQuery";
import { ProfitChart } from "../charts";
import { PROFITABILITY_BY } from "../filters";
import { ProfitabilityQuery } from "../queries";
import { RowsDialog } from "../rows/RowsDialog";

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
  const [showRows, setShowRows] = useState(false);
  const keyName = PROFITABILITY_BY.find((p) => p.value === by)?.label ?? "Key";
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
      onShowRows={() => setShowRows(true)}
      figures={() => ({
        columns: [keyName, "Revenue", "Cost of goods", "Gross income", "Margin"],
        rows: rows.map((r) => [r.key, r.revenue, r.cogs, r.grossIncome, r.margin]),
      })}
      overlay={
        showRows ? (
          <RowsDialog filter={filter} scope={{ title: "Profitability" }} onClose={() => setShowRows(false)} />
        ) : null
      }
    >
      <ProfitChart
        data={rows}
        label={`Revenue (bottom axis) and gross income (top axis) by ${keyName.toLowerCase()}`}
      />
      <DataDetails
        caption="Profitability"
        rows={rows}
        rowKey={(r) => r.key}
        columns={[
          { header: keyName, cell: (r) => r.key },
          { header: "Revenue", cell: (r) => formatMoney(r.revenue), numeric: true },
          { header: "Cost of goods", cell: (r) => formatMoney(r.cogs), numeric: true },
          { header: "Gross income", cell: (r) => formatMoney(r.grossIncome), numeric: true },
          { header: "Margin", cell: (r) => formatPercent(r.margin), numeric: true },
        ]}
      />
    </Widget>
  );
}
