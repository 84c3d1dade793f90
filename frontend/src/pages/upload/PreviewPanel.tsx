// A dry run's preview: the columns as the service read them (type, samples, the contract's rule),
// each with a type to choose, a new name and Drop; the date order, the time column and the
// datasource to load into; the first rows as they would be stored. "Load" confirms with the
// choices, "Preview again" makes another dry run with them. Nothing is loaded until Load, and a
// refused Load leaves the preview and every choice on screen. Columns dropped before the last
// Preview again stay listed, struck through, with Keep. A datasource whose column types are fixed
// (a contract, or rows already loaded) offers no type to choose, and says why.
import { useId, useState } from "react";

import { ErrorMessage } from "../../components/ErrorMessage";
import { formatCount } from "../../format";
import { checkDatasourceName } from "../datasourceName";
import { COLUMN_TYPES, type DateOrder, type Overrides, type Preview, type PreviewColumn } from "./api";
import {
  columnType,
  dateOrder,
  type Edits,
  loadInto,
  overrides,
  problem,
  storedName,
  timeColumn,
  typesFixed,
} from "./overrides";

interface Props {
  preview: Preview;
  edits: Edits;
  onEdit: (edits: Edits) => void;
  /** Load (dryRun false) or Preview again (dryRun true) into `datasource`; rejects with the
   * service's error. */
  onConfirm: (overrides: Overrides, dryRun: boolean, datasource: string) => Promise<void>;
  /** The datasource the preview was made for (the "Load into" field starts with it). */
  datasource?: string;
  /** The datasources that exist (names are checked against them, as on the Upload page). */
  existing?: readonly string[];
  /** Columns earlier previews showed that this one does not: they were dropped. */
  dropped?: readonly PreviewColumn[];
  /** A Load or Preview again is running as a task (its status is shown above). */
  waiting?: "load" | "again" | null;
  /** Why the last Load or Preview again failed, in words. */
  refused?: string | null;
}

interface RowProps {
  column: PreviewColumn;
  edits: Edits;
  onEdit: (e: Edits) => void;
  /** The time column's header name: it cannot be dropped. */
  time: string | null;
  /** The id of the sentence saying why the types are fixed, when they are. */
  fixedNote: string | null;
}

function DropCell({ column, edits, onEdit, time }: Omit<RowProps, "fixedNote">) {
  const key = column.source_name;
  if (edits.drop.includes(key)) {
    return (
      <button
        type="button"
        aria-label={`Keep ${key}`}
        onClick={() => onEdit({ ...edits, drop: edits.drop.filter((c) => c !== key) })}
      >
        Keep
      </button>
    );
  }
  return (
    <input
      type="checkbox"
      aria-label={`Drop ${key}`}
      checked={false}
      disabled={time === key}
      onChange={() => onEdit({ ...edits, drop: [...edits.drop, key] })}
    />
  );
}

function ColumnRow({ column, edits, onEdit, time, fixedNote }: RowProps) {
  const key = column.source_name;
  const dropped = edits.drop.includes(key);
  const name = (
    <>
      {column.source_name}
      {column.name !== column.source_name ? <span className="field-note"> (stored as {column.name})</span> : null}
    </>
  );
  return (
    <tr className={dropped ? "dropped" : undefined}>
      <th scope="row">
        {dropped ? (
          <>
            <s>{name}</s> <span className="field-note">(dropped)</span>
          </>
        ) : (
          name
        )}
      </th>
      <td>
        <select
          aria-label={`Type of ${key}`}
          value={fixedNote ? column.type : columnType(edits, column)}
          disabled={dropped || fixedNote !== null}
          aria-describedby={fixedNote ?? undefined}
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
        <DropCell column={column} edits={edits} onEdit={onEdit} time={time} />
      </td>
      <td>{column.samples.join(", ")}</td>
      <td>{column.nullable ? "yes" : "no"}</td>
      <td>{column.rule ?? ""}</td>
    </tr>
  );
}

function LoadInto({
  id,
  value,
  existing,
  onChange,
}: {
  id: string;
  value: string;
  existing: readonly string[];
  onChange: (value: string) => void;
}) {
  const name = checkDatasourceName(value, existing);
  return (
    <div className="field">
      <label htmlFor={`${id}-into`}>Load into</label>
      <input
        id={`${id}-into`}
        list={`${id}-into-names`}
        value={value}
        required
        aria-invalid={name.problem ? true : undefined}
        aria-describedby={`${id}-into-said`}
        onChange={(e) => onChange(e.target.value)}
      />
      <p id={`${id}-into-said`} className={name.problem ? "field-problem" : "field-note"} aria-live="polite">
        {name.problem ?? name.note}
      </p>
      <datalist id={`${id}-into-names`}>
        {existing.map((n) => (
          <option key={n} value={n} />
        ))}
      </datalist>
    </div>
  );
}

export function PreviewPanel({
  preview,
  edits,
  onEdit,
  onConfirm,
  datasource = "",
  existing = [],
  dropped = [],
  waiting = null,
  refused = null,
}: Props) {
  const id = useId();
  const [busy, setBusy] = useState<"load" | "again" | null>(null);
  const [error, setError] = useState<unknown>(null);
  // Every column known: this preview's and those dropped before it.
  const known: Preview = { ...preview, columns: [...preview.columns, ...dropped] };
  const time = timeColumn(edits, known);
  const target = loadInto(edits, datasource);
  const fixed = datasource ? typesFixed(preview, datasource, target, existing) : null;
  const said = problem(edits, known) ?? (datasource ? checkDatasourceName(target, existing).problem : null);
  const kept = known.columns.filter((c) => !edits.drop.includes(c.source_name));
  const running = busy ?? waiting;

  function confirm(dryRun: boolean) {
    setBusy(dryRun ? "again" : "load");
    setError(null);
    onConfirm(overrides(edits, known, fixed !== null), dryRun, target)
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
        {datasource ? (
          <LoadInto
            id={id}
            value={edits.datasource ?? datasource}
            existing={existing}
            onChange={(v) => onEdit({ ...edits, datasource: v })}
          />
        ) : null}
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
      {fixed ? (
        <p id={`${id}-fixed`} className="field-note" data-testid="types-fixed">
          {fixed} The types are shown as the datasource has them.
        </p>
      ) : null}
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
            {known.columns.map((c) => (
              <ColumnRow
                key={c.source_name}
                column={c}
                edits={edits}
                onEdit={onEdit}
                time={time}
                fixedNote={fixed ? `${id}-fixed` : null}
              />
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
          disabled={running !== null || said !== null}
          onClick={() => confirm(false)}
        >
          Load
        </button>
        <button type="button" disabled={running !== null || said !== null} onClick={() => confirm(true)}>
          Preview again
        </button>
        {waiting ? (
          <p role="status">
            {waiting === "load" ? "Loading the file: its task is shown above." : "Making the preview again…"}
          </p>
        ) : null}
      </div>
      {refused ? (
        <p className="field-problem" role="alert" data-testid="preview-refused">
          {refused}
        </p>
      ) : null}
      {error ? <ErrorMessage error={error} what="The preview could not be confirmed" /> : null}
    </section>
  );
}
