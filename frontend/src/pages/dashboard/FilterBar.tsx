import { useId } from "react";

import { MultiSelect } from "../../components/MultiSelect";
import { formatCount, formatDay } from "../../format";
import { useWidgetQuery } from "../../hooks/useWidgetQuery";
import { DateField } from "./DateField";
import { activeFilterCount, effectiveDates, type DashboardFilters, type ListFilter } from "./filters";
import { FilterOptionsQuery } from "./queries";
import { describeRange, isRelativeRange, RELATIVE_RANGES } from "./relativeRange";
import { useToday } from "./useToday";

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
  const today = useToday();
  const shown = effectiveDates(filters, today);
  // A typed or picked date replaces a relative range; the other bound keeps the day it showed.
  const setDates = (dates: { dateFrom: string | null; dateTo: string | null }) => set({ range: null, ...dates });

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
              range: filters.range,
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
      <div className="field">
        <label htmlFor={`${id}-range`}>Range</label>
        <select
          id={`${id}-range`}
          value={filters.range ?? ""}
          aria-describedby={filters.range ? `${id}-range-note` : undefined}
          onChange={(event) => {
            const range = event.target.value;
            if (isRelativeRange(range)) set({ range, dateFrom: null, dateTo: null });
            else setDates({ dateFrom: shown.from, dateTo: shown.to });
          }}
        >
          <option value="">Chosen dates</option>
          {RELATIVE_RANGES.map((r) => (
            <option key={r.value} value={r.value}>
              {r.label}
            </option>
          ))}
        </select>
      </div>
      <DateField
        id={`${id}-from`}
        label="From"
        value={shown.from}
        max={shown.to}
        onCommit={(dateFrom) => setDates({ dateFrom, dateTo: shown.to })}
      />
      <DateField
        id={`${id}-to`}
        label="To"
        value={shown.to}
        min={shown.from}
        onCommit={(dateTo) => setDates({ dateFrom: shown.from, dateTo })}
      />
      {filters.range ? (
        <p className="range-note" id={`${id}-range-note`} data-testid="range-note">
          {describeRange(filters.range, today)}
        </p>
      ) : null}
      {LISTS.map(({ key, label }) => (
        <MultiSelect
          key={key}
          label={label}
          options={(data?.[key] ?? []).map((row) => ({ value: row.key, count: row.transactions }))}
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
            range: null,
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
          ? current.rowCount > 0
            ? `${formatCount(current.rowCount, "row")} from ${formatDay(current.timeStart)} to ${formatDay(current.timeEnd)}`
            : `Datasource “${filters.datasource}” has no rows yet.`
          : options.fetching
            ? ""
            : options.error
              ? "The datasource's rows and dates could not be read; the widgets below say why."
              : `There is no datasource named “${filters.datasource}” that you can open.`}
      </p>
    </form>
  );
}
