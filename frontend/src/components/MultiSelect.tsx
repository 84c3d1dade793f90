import { useId } from "react";

interface Props {
  label: string;
  options: string[];
  selected: string[];
  onChange: (values: string[]) => void;
  loading?: boolean;
}

/** A fold-out list of checkboxes ("Branches: A, B"); keyboard: Enter/Space opens, Tab moves. */
export function MultiSelect({ label, options, selected, onChange, loading = false }: Props) {
  const id = useId();
  const summary = selected.length === 0 ? "all" : selected.join(", ");
  const values = [...new Set([...options, ...selected])];
  function toggle(value: string, on: boolean) {
    onChange(on ? [...selected, value] : selected.filter((v) => v !== value));
  }
  return (
    <details className="multi-select" data-filter={label}>
      <summary>
        <span className="multi-select-label">{label}</span>
        <span className="multi-select-value">{summary}</span>
      </summary>
      <fieldset>
        <legend className="visually-hidden">{label}</legend>
        {loading && values.length === 0 ? <p role="status">Loading…</p> : null}
        {!loading && values.length === 0 ? <p>No values in this datasource.</p> : null}
        {values.map((value, index) => (
          <div className="check" key={value}>
            <input
              type="checkbox"
              id={`${id}-${index}`}
              checked={selected.includes(value)}
              onChange={(event) => toggle(value, event.target.checked)}
            />
            <label htmlFor={`${id}-${index}`}>{value}</label>
          </div>
        ))}
        {selected.length > 0 ? (
          <button type="button" className="link-button" onClick={() => onChange([])}>
            Clear {label.toLowerCase()}
          </button>
        ) : null}
      </fieldset>
    </details>
  );
}
