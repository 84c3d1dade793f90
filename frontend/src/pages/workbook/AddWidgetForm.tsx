import { useId, useState, type FormEvent } from "react";

import { useWidgetQuery } from "../../hooks/useWidgetQuery";
import { GRANULARITIES } from "../dashboard/filters";
import { buildWidget, needsDimension } from "./builder";
import { DatasourceColumnsQuery } from "./queries";
import { AGGREGATES, WIDGET_KINDS, type WidgetDoc, type WidgetKind } from "./types";

const NUMERIC = /^(int|float|double|decimal|number|long|i\d+|f\d+|u\d+)/i;

interface Props {
  datasource: string;
  onAdd: (widget: WidgetDoc) => void;
}

/** Edit mode's "Add a widget": a kind, then a measure (aggregate and column) and a dimension
 * from the datasource's columns. */
export function AddWidgetForm({ datasource, onAdd }: Props) {
  const id = useId();
  const q = useWidgetQuery(DatasourceColumnsQuery, { name: datasource });
  const columns = (q.data?.datasource.columns ?? []).filter((c) => !c.name.startsWith("__"));
  const numeric = columns.filter((c) => NUMERIC.test(c.type));
  const [kind, setKind] = useState<WidgetKind>("breakdown");
  const [aggregate, setAggregate] = useState("sum");
  const [column, setColumn] = useState("");
  const [dimension, setDimension] = useState("");
  const [second, setSecond] = useState("");
  const [granularity, setGranularity] = useState("day");
  const [title, setTitle] = useState("");
  const [problem, setProblem] = useState<string | null>(null);
  const measureColumns =
    aggregate === "count_distinct" || aggregate === "min" || aggregate === "max" ? columns : numeric;
  const chosenColumn = column || measureColumns[0]?.name || "";
  const chosenDimension = dimension || columns.find((c) => !NUMERIC.test(c.type))?.name || columns[0]?.name || "";
  const counting = aggregate === "count";

  function submit(event: FormEvent) {
    event.preventDefault();
    if (!counting && !chosenColumn) return setProblem("Choose a column to measure.");
    if (needsDimension(kind) && !chosenDimension) return setProblem("Choose a column to group by.");
    setProblem(null);
    onAdd(
      buildWidget({
        kind,
        datasource,
        measure: { aggregate, column: counting ? null : chosenColumn },
        dimension: needsDimension(kind) ? chosenDimension : null,
        secondDimension: kind === "heatmap" ? second || null : null,
        granularity,
        title,
      }),
    );
    setTitle("");
  }

  const select = (
    key: string,
    label: string,
    value: string,
    set: (v: string) => void,
    options: { value: string; label: string }[],
  ) => (
    <div className="field">
      <label htmlFor={`${id}-${key}`}>{label}</label>
      <select id={`${id}-${key}`} value={value} onChange={(e) => set(e.target.value)}>
        {options.map((o) => (
          <option key={o.value} value={o.value}>
            {o.label}
          </option>
        ))}
      </select>
    </div>
  );
  const asOptions = (list: { name: string }[]) => list.map((c) => ({ value: c.name, label: c.name }));

  return (
    <form className="wb-add filter-bar" aria-label="Add a widget" onSubmit={submit}>
      {select("kind", "Kind", kind, (v) => setKind(v as WidgetKind), [...WIDGET_KINDS])}
      {select("aggregate", "Measure", aggregate, setAggregate, [...AGGREGATES])}
      {counting ? null : select("column", "Of column", chosenColumn, setColumn, asOptions(measureColumns))}
      {kind === "trend"
        ? select(
            "granularity",
            "Per",
            granularity,
            setGranularity,
            GRANULARITIES.map((g) => ({ value: g.value.toLowerCase(), label: g.label })),
          )
        : null}
      {needsDimension(kind) ? select("dimension", "By", chosenDimension, setDimension, asOptions(columns)) : null}
      {kind === "heatmap"
        ? select("second", "And by", second, setSecond, [{ value: "", label: "Nothing else" }, ...asOptions(columns)])
        : null}
      <div className="field">
        <label htmlFor={`${id}-title`}>Widget title</label>
        <input id={`${id}-title`} value={title} maxLength={200} onChange={(e) => setTitle(e.target.value)} />
      </div>
      <button type="submit" disabled={q.fetching && columns.length === 0}>
        Add widget
      </button>
      {problem ? (
        <p className="problem" role="alert">
          {problem}
        </p>
      ) : null}
    </form>
  );
}
