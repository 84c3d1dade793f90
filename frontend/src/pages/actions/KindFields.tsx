import { isNumeric } from "../dashboard/generic/choice";
import { AGGREGATE_LABELS, AGGREGATES, WINDOWS, type Draft } from "./draft";
import { Field } from "./Field";

export interface FieldsProps {
  draft: Draft;
  set: (patch: Partial<Draft>) => void;
  /** The sentence to show under a field now (null: none). */
  problem: (key: string) => string | null;
  idOf: (key: string) => string;
  /** The workbooks a report may send (id, title). */
  workbooks?: { id: string; title: string }[] | undefined;
  /** The datasources the person may read, with their columns (null: not known yet). */
  datasources?: { name: string; columns: { name: string; type: string }[] }[] | undefined;
}

/** The choices of a picker: the known names, and the saved one even when it is not among them. */
function choices(known: string[], current: string): string[] {
  return current && !known.includes(current) ? [current, ...known] : known;
}

function Picker({
  a11y,
  value,
  names,
  empty,
  onChange,
}: {
  a11y: { id: string; "aria-invalid": boolean; "aria-describedby": string | undefined };
  value: string;
  names: string[];
  empty: string;
  onChange: (value: string) => void;
}) {
  return (
    <select {...a11y} value={value} onChange={(e) => onChange(e.target.value)}>
      <option value="">{empty}</option>
      {names.map((name) => (
        <option key={name} value={name}>
          {name}
        </option>
      ))}
    </select>
  );
}

function UrlField({ draft, set, problem, idOf, label, hint }: FieldsProps & { label: string; hint?: string }) {
  return (
    <Field id={idOf("url")} label={label} problem={problem("url")} hint={hint}>
      {(a11y) => (
        <input
          {...a11y}
          type="url"
          inputMode="url"
          autoComplete="off"
          value={draft.url}
          onChange={(e) => set({ url: e.target.value })}
        />
      )}
    </Field>
  );
}

function DatasourceField({ draft, set, problem, idOf }: FieldsProps) {
  return (
    <Field id={idOf("datasource")} label="Datasource" problem={problem("datasource")}>
      {(a11y) => (
        <input
          {...a11y}
          autoComplete="off"
          value={draft.datasource}
          onChange={(e) => set({ datasource: e.target.value })}
        />
      )}
    </Field>
  );
}

function ImportFields(props: FieldsProps) {
  const { draft, set, problem, idOf } = props;
  return (
    <>
      <fieldset className="action-choice">
        <legend>Take the file from</legend>
        <label className="check">
          <input
            type="radio"
            name={idOf("source")}
            checked={draft.source === "url"}
            onChange={() => set({ source: "url" })}
          />
          A web address
        </label>
        <label className="check">
          <input
            type="radio"
            name={idOf("source")}
            checked={draft.source === "s3"}
            onChange={() => set({ source: "s3" })}
          />
          An S3 address
        </label>
      </fieldset>
      {draft.source === "url" ? (
        <UrlField {...props} label="File address" hint="An https:// address the file is downloaded from." />
      ) : (
        <Field
          id={idOf("s3Uri")}
          label="S3 address"
          problem={problem("s3Uri")}
          hint="s3://bucket/key, or s3://bucket/prefix/ for each new file under it."
        >
          {(a11y) => (
            <input {...a11y} autoComplete="off" value={draft.s3Uri} onChange={(e) => set({ s3Uri: e.target.value })} />
          )}
        </Field>
      )}
      <DatasourceField {...props} />
      <Field id={idOf("mode")} label="Mode">
        {(a11y) => (
          <select {...a11y} value={draft.mode} onChange={(e) => set({ mode: e.target.value as Draft["mode"] })}>
            <option value="append">Append the rows</option>
            <option value="replace">Replace the datasource's rows</option>
          </select>
        )}
      </Field>
      <Field id={idOf("onInvalid")} label="On invalid rows">
        {(a11y) => (
          <select
            {...a11y}
            value={draft.onInvalid}
            onChange={(e) => set({ onInvalid: e.target.value as Draft["onInvalid"] })}
          >
            <option value="reject">Reject the file</option>
            <option value="skip">Skip the invalid rows</option>
          </select>
        )}
      </Field>
      {draft.source === "url" ? (
        <>
          <Field
            id={idOf("headerName")}
            label="Header name (optional)"
            problem={problem("headerName")}
            hint="Sent with the request, such as Authorization."
          >
            {(a11y) => (
              <input
                {...a11y}
                autoComplete="off"
                value={draft.headerName}
                onChange={(e) => set({ headerName: e.target.value })}
              />
            )}
          </Field>
          <Field
            id={idOf("headerValue")}
            label="Header value"
            problem={problem("headerValue")}
            hint={
              draft.headerSet
                ? "A value is set: leave this empty to keep it."
                : "Stored encrypted and never shown again."
            }
          >
            {(a11y) => (
              <input
                {...a11y}
                type="password"
                autoComplete="off"
                value={draft.headerValue}
                onChange={(e) => set({ headerValue: e.target.value })}
              />
            )}
          </Field>
        </>
      ) : null}
    </>
  );
}

function AlertFields(props: FieldsProps) {
  const { draft, set, problem, idOf, datasources } = props;
  const source = datasources?.find((d) => d.name === draft.datasource.trim());
  // Sums and averages of numbers; counting distinct values, any column.
  const columns = (source?.columns ?? [])
    .filter((c) => draft.aggregate === "count_distinct" || isNumeric(c))
    .map((c) => c.name);
  return (
    <>
      {datasources ? (
        <Field id={idOf("datasource")} label="Datasource" problem={problem("datasource")}>
          {(a11y) => (
            <Picker
              a11y={a11y}
              value={draft.datasource}
              names={choices(
                datasources.map((d) => d.name),
                draft.datasource,
              )}
              empty="Choose a datasource"
              onChange={(datasource) => set({ datasource })}
            />
          )}
        </Field>
      ) : (
        <DatasourceField {...props} />
      )}
      <Field id={idOf("aggregate")} label="Measure">
        {(a11y) => (
          <select {...a11y} value={draft.aggregate} onChange={(e) => set({ aggregate: e.target.value })}>
            {AGGREGATES.map((a) => (
              <option key={a} value={a}>
                {AGGREGATE_LABELS[a] ?? a}
              </option>
            ))}
          </select>
        )}
      </Field>
      {draft.aggregate === "count" ? null : (
        <Field id={idOf("column")} label="Column" problem={problem("column")}>
          {(a11y) =>
            // A datasource with no column known yet (no file loaded): the name is typed.
            columns.length ? (
              <Picker
                a11y={a11y}
                value={draft.column}
                names={choices(columns, draft.column)}
                empty="Choose a column"
                onChange={(column) => set({ column })}
              />
            ) : (
              <input
                {...a11y}
                autoComplete="off"
                value={draft.column}
                onChange={(e) => set({ column: e.target.value })}
              />
            )
          }
        </Field>
      )}
      <Field id={idOf("window")} label="Window" problem={problem("window")}>
        {(a11y) => (
          <select {...a11y} value={draft.window} onChange={(e) => set({ window: e.target.value })}>
            {Object.entries(WINDOWS).map(([value, label]) => (
              <option key={value} value={value}>
                {label}
              </option>
            ))}
          </select>
        )}
      </Field>
      <Field id={idOf("op")} label="Condition">
        {(a11y) => (
          <select {...a11y} value={draft.op} onChange={(e) => set({ op: e.target.value as Draft["op"] })}>
            <option value="below">Below</option>
            <option value="above">Above</option>
            <option value="change_pct">Changes by more than (%)</option>
          </select>
        )}
      </Field>
      <Field id={idOf("value")} label="Value" problem={problem("value")}>
        {(a11y) => (
          <input {...a11y} inputMode="decimal" value={draft.value} onChange={(e) => set({ value: e.target.value })} />
        )}
      </Field>
      <Field id={idOf("timezone")} label="Time zone" problem={problem("timezone")} hint="The days of the window.">
        {(a11y) => (
          <input
            {...a11y}
            autoComplete="off"
            list={idOf("zones")}
            value={draft.timezone}
            onChange={(e) => set({ timezone: e.target.value })}
          />
        )}
      </Field>
      <UrlField {...props} label="Webhook address (optional)" hint="Also POSTed to this address when it fires." />
    </>
  );
}

function ReportFields(props: FieldsProps) {
  const { draft, set, problem, idOf, workbooks } = props;
  return (
    <>
      <Field id={idOf("workbookId")} label="Workbook" problem={problem("workbookId")}>
        {(a11y) => (
          <select {...a11y} value={draft.workbookId} onChange={(e) => set({ workbookId: e.target.value })}>
            <option value="">Choose a workbook</option>
            {(workbooks ?? []).map((w) => (
              <option key={w.id} value={w.id}>
                {w.title}
              </option>
            ))}
          </select>
        )}
      </Field>
      <Field
        id={idOf("to")}
        label="E-mail addresses"
        problem={problem("to")}
        hint="Separated by commas. Each gets the widgets' data as CSV files."
      >
        {(a11y) => <textarea {...a11y} rows={2} value={draft.to} onChange={(e) => set({ to: e.target.value })} />}
      </Field>
      <UrlField {...props} label="Webhook address (optional)" hint="The CSV files are POSTed to this address too." />
    </>
  );
}

/** The fields of the action's kind. */
export function KindFields(props: FieldsProps) {
  switch (props.draft.kind) {
    case "import":
      return <ImportFields {...props} />;
    case "webhook":
      return <UrlField {...props} label="Address" hint="Each run POSTs a signed JSON event to it." />;
    case "alert":
      return <AlertFields {...props} />;
    case "report":
      return <ReportFields {...props} />;
  }
}
