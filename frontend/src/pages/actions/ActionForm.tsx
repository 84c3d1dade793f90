import { useCallback, useId, useState, type FormEvent } from "react";
import { useMutation, useQuery } from "urql";

import { describeError } from "../../api/errors";
import type { ActionFieldsFragment } from "../../gql/graphql";
import {
  emptyDraft,
  KIND_LABELS,
  KINDS,
  paramsOf,
  problemsOf,
  serverProblems,
  triggersOf,
  type Draft,
  type Kind,
  type Problems,
} from "./draft";
import { Field } from "./Field";
import { KindFields } from "./KindFields";
import { DashboardDatasourcesQuery } from "../dashboard/generic/queries";
import { WorkbooksQuery } from "../workbooks/queries";
import { CreateActionMutation, UpdateActionMutation } from "./queries";
import type { ScheduleCheck } from "./SchedulePreview";
import { TriggerFields } from "./TriggerFields";

interface Props {
  /** The draft to start from (a saved action's, to edit it). */
  initial?: Draft;
  /** The action being edited (absent: a new one). */
  editing?: { id: string; name: string } | undefined;
  onSaved: (action: ActionFieldsFragment, secret: string | null) => void;
  onCancel: () => void;
}

function timeZones(): string[] {
  try {
    return Intl.supportedValuesOf("timeZone");
  } catch {
    return ["UTC"];
  }
}

/** The schedule problems the server found as you typed, by trigger key. */
function scheduleProblems(checks: Record<number, ScheduleCheck>, draft: Draft): Problems {
  const out: Problems = {};
  draft.triggers.forEach((t, i) => {
    const check = checks[i];
    if (t.type === "schedule" && check?.valid === false && check.error) out[`trigger.${i}.cron`] = check.error;
  });
  return out;
}

/** Create an action (or change one): the fields of its kind, its triggers, checked as you type;
 * the server's sentences land under the fields they name. */
export function ActionForm({ initial, editing, onSaved, onCancel }: Props) {
  const id = useId();
  const idOf = (key: string) => `${id}-${key.replaceAll(".", "-")}`;
  const [draft, setDraft] = useState<Draft>(() => initial ?? emptyDraft());
  const [touched, setTouched] = useState<Set<string>>(() => new Set());
  const [submitted, setSubmitted] = useState(false);
  const [server, setServer] = useState<Problems>({});
  const [general, setGeneral] = useState<string[]>([]);
  const [checks, setChecks] = useState<Record<number, ScheduleCheck>>({});
  const [creating, create] = useMutation(CreateActionMutation);
  const [updating, update] = useMutation(UpdateActionMutation);
  // The workbooks listing's own query (by title): the reports' workbook picker.
  const [workbooks] = useQuery({
    query: WorkbooksQuery,
    variables: { tags: null, author: null, q: null, favorites: false, sort: "title", limit: 100, offset: 0 },
    pause: draft.kind !== "report",
  });
  // The dashboard's own list of datasources and their columns: the alert's pickers.
  const [datasources] = useQuery({ query: DashboardDatasourcesQuery, pause: draft.kind !== "alert" });
  const onChecked = useCallback(
    (index: number, check: ScheduleCheck) => setChecks((old) => ({ ...old, [index]: check })),
    [],
  );

  const local = { ...problemsOf(draft), ...scheduleProblems(checks, draft) };
  const problem = (key: string): string | null =>
    server[key] ??
    (submitted || touched.has(key) || key.endsWith(".cron") || key === "triggers" ? (local[key] ?? null) : null);

  const set = (patch: Partial<Draft>) => {
    setDraft((old) => ({ ...old, ...patch }));
    const keys = Object.keys(patch);
    setTouched((old) => new Set([...old, ...keys]));
    setServer((old) => Object.fromEntries(Object.entries(old).filter(([k]) => !keys.includes(k))));
  };
  const setTriggers = (triggers: Draft["triggers"]) => {
    setDraft((old) => ({ ...old, triggers }));
    setServer((old) => Object.fromEntries(Object.entries(old).filter(([k]) => !k.startsWith("trigger"))));
  };

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setSubmitted(true);
    setGeneral([]);
    const first = Object.keys(local)[0];
    if (first) {
      document.getElementById(idOf(first))?.focus();
      return;
    }
    const input = {
      name: draft.name.trim(),
      params: paramsOf(draft),
      triggers: triggersOf(draft),
      enabled: draft.enabled,
    };
    const result = editing
      ? await update({ id: editing.id, input })
      : await create({ input: { ...input, kind: draft.kind } });
    if (result.error) {
      const problem = describeError(result.error);
      const found = serverProblems(problem.message, problem.detail);
      setServer(found.fields);
      setGeneral(found.rest);
      const field = Object.keys(found.fields)[0];
      if (field) document.getElementById(idOf(field))?.focus();
      return;
    }
    const data = result.data;
    if (data && "createAction" in data) onSaved(data.createAction.action, data.createAction.secret ?? null);
    else if (data && "updateAction" in data) onSaved(data.updateAction, null);
  };

  const busy = creating.fetching || updating.fetching;
  const title = editing ? `Change ${editing.name}` : "New action";
  return (
    <form className="widget action-form" aria-labelledby={`${id}-title`} noValidate onSubmit={(e) => void submit(e)}>
      <h2 id={`${id}-title`}>{title}</h2>
      <Field id={idOf("name")} label="Name" problem={problem("name")}>
        {(a11y) => (
          <input {...a11y} autoComplete="off" value={draft.name} onChange={(e) => set({ name: e.target.value })} />
        )}
      </Field>
      <Field
        id={idOf("kind")}
        label="Kind"
        hint={
          editing
            ? "An action's kind stays as created."
            : "Imports, webhooks and any web address need the uploader role; viewers make alerts and e-mail reports to themselves."
        }
      >
        {(a11y) => (
          <select
            {...a11y}
            value={draft.kind}
            disabled={Boolean(editing)}
            onChange={(e) => set({ kind: e.target.value as Kind })}
          >
            {KINDS.map((kind) => (
              <option key={kind} value={kind}>
                {KIND_LABELS[kind]}
              </option>
            ))}
          </select>
        )}
      </Field>
      <KindFields
        draft={draft}
        set={set}
        problem={problem}
        idOf={idOf}
        workbooks={workbooks.data?.workbooks.items}
        datasources={datasources.data?.datasources}
      />
      <TriggerFields
        triggers={draft.triggers}
        onChange={setTriggers}
        problem={problem}
        idOf={idOf}
        onChecked={onChecked}
      />
      <datalist id={idOf("zones")}>
        {timeZones().map((zone) => (
          <option key={zone} value={zone} />
        ))}
      </datalist>
      <label className="check">
        <input type="checkbox" checked={draft.enabled} onChange={(e) => set({ enabled: e.target.checked })} />
        Enabled
      </label>
      {general.length ? (
        <div className="problem" role="alert">
          {general.map((sentence) => (
            <p key={sentence}>{sentence}</p>
          ))}
        </div>
      ) : null}
      {submitted && Object.keys(local).length ? (
        <p className="field-problem" role="alert">
          Some fields need a change: each says what under it.
        </p>
      ) : null}
      <div className="dialog-actions">
        <button type="submit" className="primary" disabled={busy}>
          {editing ? "Save changes" : "Create action"}
        </button>
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
