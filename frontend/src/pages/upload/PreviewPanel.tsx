// A dry run's preview: the columns as the service read them (type, samples, the contract's rule),
// each with a type to choose, a new name and Drop; the date order and the time column; the first
// rows as they would be stored. "Load" confirms with the choices, "Preview again" makes another
// dry run with them. Nothing is loaded until Load.
import { useId, useState } from "react";

import { ErrorMessage } from "../../components/ErrorMessage";
import { formatCount } from "../../format";
import { COLUMN_TYPES, type DateOrder, type Overrides, type Preview, type PreviewColumn } from "./api";
import { columnType, dateOrder, type Edits, overrides, problem, storedName, timeColumn } from "./overrides";

interface Props {
  preview: Preview;
  edits: Edits;
  onEdit: (edits: Edits) => void;
  /** Load (dryRun false) or Preview again (dryRun true); rejects with the service's error. */
  onConfirm: (overrides: Overrides, dryRun: boolean) => Promise<void>;
}

interface RowProps {
  column: PreviewColumn;
  edits: Edits;
  onEdit: (e: Edits) => void;
  /** The time column's header name: it cannot be dropped. */
  time: string | null;
}

function ColumnRow({ column, edits, onEdit, time }: RowProps) {
  const key = column.source_name;
  const dropped = edits.drop.includes(key);
  const isTime = time === key;
  return (
    <tr className={dropped ? "dropped" : undefined}>
      <th scope="row">
        {column.source_name}
        {column.name !== column.source_name ? <span className="field-note"> (stored as {column.name})</span> : null}
      </th>
      <td>
        <select
          aria-label={`Type of ${key}`}
          value={columnType(edits, column)}
          disabled={dropped}
          onChange={(e) => onEdit({ ...edits, types: { ...edits.types, [key]: e.target.value } })}
        >
          {COLUMN_TYPES.map((t) => (
            <option key={t} value={t}>
              {t}
            </option>
          ))}
        </select>
      </td>
      <td>
        <input
          aria-label={`New name of ${key}`}
          value={edits.rename[key] ?? ""}
          placeholder={column.name}
          disabled={dropped}
          maxLength={255}
          onChange={(e) => onEdit({ ...edits, rename: { ...edits.rename, [key]: e.target.value } })}
        />
      </td>
      <td>
        <input
          type="checkbox"
          aria-label={`Drop ${key}`}
          checked={dropped}
          disabled={isTime && !dropped}
          onChange={(e) =>
            onEdit({
              ...edits,
              drop: e.target.checked ? [...edits.drop, key] : edits.drop.filter((c) => c !== key),
            })
          }
        />
      </td>
      <td>{column.samples.join(", ")}</td>
      <td>{column.nullable ? "yes" : "no"}</td>
      <td>{column.rule ?? ""}</td>
    </tr>
  );
}

export function PreviewPanel({ preview, edits, onEdit, onConfirm }: Props) {
  const id = useId();
  const [busy, setBusy] = useState<"load" | "again" | null>(null);
  const [error, setError] = useState<unknown>(null);
  const time = timeColumn(edits, preview);
  const said = problem(edits, preview);
  const kept = preview.columns.filter((c) => !edits.drop.includes(c.source_name));

  function confirm(dryRun: boolean) {
    setBusy(dryRun ? "again" : "load");
    setError(null);
    onConfirm(overrides(edits, preview), dryRun)
      .catch(setError)
      .finally(() => setBusy(null));
  }

  return (
    <section aria-labelledby={`${id}-h`} className="preview" data-testid="preview">
      <h2 id={`${id}-h`} tabIndex={-1}>
        Preview
      </h2>
      <p role="status">
        {formatCount(preview.rows_total, "row")} {preview.rows_total === 1 ? "was" : "were"} read and checked; nothing
        is loaded yet. Change what was guessed below, then press Load, or Preview again to see the first rows with your
        changes.
      </p>
      <div className="form-grid">
        <div className="field">
          <label htmlFor={`${id}-order`}>Date order</label>
          <select
            id={`${id}-order`}
            value={dateOrder(edits, preview)}
            onChange={(e) => onEdit({ ...edits, dateOrder: e.target.value as DateOrder })}
          >
            <option value="month_first">month first (1/5/2024 is January 5)</option>
            <option value="day_first">day first (1/5/2024 is May 1)</option>
          </select>
        </div>
        <div className="field">
          <label htmlFor={`${id}-time`}>Time column</label>
          <select
            id={`${id}-time`}
            value={time ?? ""}
            onChange={(e) => onEdit({ ...edits, timeColumn: e.target.value || null })}
          >
            {time === null ? <option value="">none found</option> : null}
            {kept.map((c) => (
              <option key={c.source_name} value={c.source_name}>
                {storedName(edits, c)}
              </option>
            ))}
          </select>
        </div>
      </div>
      <div className="table-scroll">
        <table aria-label="Columns">
          <thead>
            <tr>
              <th scope="col">Column</th>
              <th scope="col">Type</th>
              <th scope="col">Rename to</th>
              <th scope="col">Drop</th>
              <th scope="col">Samples</th>
              <th scope="col">May be empty</th>
              <th scope="col">Rule</th>
            </tr>
          </thead>
          <tbody>
            {preview.columns.map((c) => (
              <ColumnRow key={c.source_name} column={c} edits={edits} onEdit={onEdit} time={time} />
            ))}
          </tbody>
        </table>
      </div>
      <h3>First rows</h3>
      <div className="table-scroll">
        <table aria-label="First rows">
          <thead>
            <tr>
              {preview.columns.map((c) => (
                <th key={c.source_name} scope="col">
                  {c.name}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {preview.rows.map((row, index) => (
              <tr key={index}>
                {row.map((cell, column) => (
                  <td key={column}>{cell ?? ""}</td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {said ? (
        <p className="field-problem" role="alert">
          {said}
        </p>
      ) : null}
      <div className="form-grid">
        <button
          type="button"
          className="primary"
          disabled={busy !== null || said !== null}
          onClick={() => confirm(false)}
        >
          Load
        </button>
        <button type="button" disabled={busy !== null || said !== null} onClick={() => confirm(true)}>
          Preview again
        </button>
      </div>
      {error ? <ErrorMessage error={error} what="The preview could not be confirmed" /> : null}
    </section>
  );
}
