import { useId } from "react";

import type { Granularity } from "../../gql/graphql";
import { GRANULARITIES } from "./filters";

/** The period a trend is drawn by (hour to year), for a widget's actions. */
export function GranularitySelect({ value, onChange }: { value: Granularity; onChange: (g: Granularity) => void }) {
  const id = useId();
  return (
    <>
      <label htmlFor={id} className="visually-hidden">
        Granularity
      </label>
      <select id={id} value={value} onChange={(e) => onChange(e.target.value as Granularity)}>
        {GRANULARITIES.map((g) => (
          <option key={g.value} value={g.value}>
            {g.label}
          </option>
        ))}
      </select>
    </>
  );
}
