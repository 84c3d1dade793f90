import { useId } from "react";

/** The datasource the page shows, chosen among those the reader may open (kept in the URL). */
export function DatasourcePicker({
  value,
  names,
  onChange,
}: {
  value: string;
  names: string[];
  onChange: (name: string) => void;
}) {
  const id = useId();
  const options = [...new Set([...names, value])].sort();
  return (
    <form className="filter-bar" aria-label="Choose a datasource" onSubmit={(event) => event.preventDefault()}>
      <div className="field">
        <label htmlFor={id}>Datasource</label>
        <select id={id} value={value} onChange={(event) => onChange(event.target.value)}>
          {options.map((name) => (
            <option key={name} value={name}>
              {name}
            </option>
          ))}
        </select>
      </div>
    </form>
  );
}
