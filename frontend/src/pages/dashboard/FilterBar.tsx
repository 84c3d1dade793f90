import { useId } from "react";

import { MultiSelect } from "../../components/MultiSelect";
import { formatDay, formatInteger } from "../../format";
import { useWidgetQuery } from "../../hooks/useWidgetQuery";
import { DateField } from "./DateField";
import { activeFilterCount, type DashboardFilters, type ListFilter } from "./filters";
import { FilterOptionsQuery } from "./queries";

interface Props {
  filters: DashboardFilters;
  onChange: (filters: DashboardFilters) => void;
}

const LISTS: { key: ListFilter; label: string }[] = [
  { key: "branches", label: "Branches" },
  { key: "productLines", label: "Product lines" },
  { key: "customerTypes", label: "Customer types" },
  { key: "genders", label: "Genders" },
  { key: "payments", label: "Payments" },
];

export function FilterBar({ filters, onChange }: Props) {
  const id = useId();
  // The values to choose from are the datasource's own (its breakdowns without other filters).
  const options = useWidgetQuery(FilterOptionsQuery, { filter: { datasource: filters.datasource } });
  const data = options.data;
  const datasources = data?.datasources ?? [];
  const current = datasources.find((d) => d.name === filters.datasource);
  const names = [...new Set([...datasources.map((d) => d.name), filters.datasource])].sort();
  const count = activeFilterCount(filters);
  const set = (patch: Partial<DashboardFilters>) => onChange({ ...filters, ...patch });

  return (
    <form className="filter-bar" aria-label="Filters" onSubmit={(event) => event.preventDefault()}>
      <div className="field">
        <label htmlFor={`${id}-ds`}>Datasource</label>
        <select
          id={`${id}-ds`}
          value={filters.datasource}
          onChange={(event) =>
            onChange({
              datasource: event.target.value,
              dateFrom: filters.dateFrom,
              dateTo: filters.dateTo,
              branches: [],
              productLines: [],
              customerTypes: [],
              genders: [],
              payments: [],
            })
          }
        >
          {names.map((name) => (
            <option key={name} value={name}>
              {name}
            </option>
          ))}
        </select>
      </div>
      <DateField
        id={`${id}-from`}
        label="From"
        value={filters.dateFrom}
        max={filters.dateTo}
        onCommit={(dateFrom) => set({ dateFrom })}
      />
      <DateField
        id={`${id}-to`}
        label="To"
        value={filters.dateTo}
        min={filters.dateFrom}
        onCommit={(dateTo) => set({ dateTo })}
      />
      {LISTS.map(({ key, label }) => (
        <MultiSelect
          key={key}
          label={label}
          options={(data?.[key] ?? []).map((row) => row.key)}
          selected={filters[key]}
          loading={options.fetching}
          onChange={(values) => set({ [key]: values })}
        />
      ))}
      <button
        type="button"
        className="clear-filters"
        disabled={count === 0}
        onClick={() =>
          onChange({
            datasource: filters.datasource,
            dateFrom: null,
            dateTo: null,
            branches: [],
            productLines: [],
            customerTypes: [],
            genders: [],
            payments: [],
          })
        }
      >
        Clear filters{count > 0 ? ` (${count})` : ""}
      </button>
      <p className="filter-note" aria-live="polite">
        {current
          ? `${formatInteger(current.rowCount)} rows from ${formatDay(current.timeStart)} to ${formatDay(current.timeEnd)}`
          : options.fetching
            ? ""
            : `Datasource “${filters.datasource}” has no data yet.`}
      </p>
    </form>
  );
}
