import { colourFor } from "./colours";

/** A chart's values as buttons: what a click on a bar or slice does, for a keyboard too. */
export function DrillButtons({
  label,
  values,
  dimension,
  onSelect,
}: {
  /** "Filter by branch:", "Show the rows of a city:". */
  label: string;
  values: string[];
  dimension: string;
  onSelect: (value: string) => void;
}) {
  if (values.length === 0) return null;
  return (
    <div className="drill" role="group" aria-label={label}>
      <p aria-hidden="true">{label}</p>
      {values.map((value) => (
        <button key={value} type="button" onClick={() => onSelect(value)} data-drill={value}>
          <span className="swatch" aria-hidden="true" style={{ background: colourFor(dimension, value) }} />
          {value}
        </button>
      ))}
    </div>
  );
}
