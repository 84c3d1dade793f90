import { useEffect, useId, useRef, useState } from "react";
import { useMutation, useQuery } from "urql";

import { describeError } from "../../api/errors";
import { StatusBadge } from "../../components/StatusBadge";
import { Widget } from "../../components/Widget";
import { formatCount, formatDateTime, formatDateTimeIn, formatInteger } from "../../format";
import type { ActionFieldsFragment } from "../../gql/graphql";
import { useDocumentTitle } from "../../hooks/useDocumentTitle";
import { useWidgetQuery } from "../../hooks/useWidgetQuery";
import { WorkbooksQuery } from "../workbooks/queries";
import { ActionForm } from "./ActionForm";
import { draftOf, EVENT_LABELS, KIND_LABELS, summaryOf, type Kind } from "./draft";
import {
  DeleteActionMutation,
  ExecuteActionMutation,
  ListActionsQuery,
  RotateActionSecretMutation,
  UpdateActionMutation,
} from "./queries";
import { RunHistory } from "./RunHistory";
import { SecretNotice } from "./SecretNotice";

type Action = ActionFieldsFragment;

/** A trigger in words: a schedule's from the server (with its next time, in its own zone), an
 * event's and a manual one's from here. */
export function triggerWords(t: Action["triggers"][number], enabled = true): string {
  if (t.type === "schedule") {
    const words = t.words ?? `On the schedule ${t.cron ?? ""} (${t.timezone ?? "UTC"})`;
    const sentence = /[.!?]$/.test(words) ? words : `${words}.`;
    const next = t.nextTimes[0];
    if (!enabled || !next) return sentence;
    return `${sentence} Next run: ${formatDateTimeIn(next, t.timezone ?? "UTC")}.`;
  }
  if (t.type === "event") {
    const what = EVENT_LABELS[t.event ?? ""] ?? t.event ?? "an event happens";
    return `When ${what}${t.datasource ? ` on ${t.datasource}` : ""}.`;
  }
  return "By hand (Run now).";
}

type Json = Record<string, unknown>;

function obj(value: unknown): Json {
  return value && typeof value === "object" && !Array.isArray(value) ? (value as Json) : {};
}

/** The last run as its card says it: an alert's state (firing or OK) rather than "succeeded", a
 * delivery waiting for its next attempt as "Retrying at ...", else the run's status. */
export function LastRun({ action }: { action: Action }) {
  const last = action.lastRun;
  if (!last) return <>none yet.</>;
  const status = last.status.toLowerCase();
  const output = obj(last.output);
  if (status === "queued" && last.nextAttemptAt && last.attempts > 0) {
    return (
      <span className="badge badge-warn" data-status="retrying">
        Retrying at {formatDateTime(last.nextAttemptAt)}.
      </span>
    );
  }
  if (action.kind === "alert" && status === "succeeded" && typeof output.state === "string") {
    if (output.state === "firing") {
      // A run that fired is when the figure crossed the line; a later one only finds it still there.
      const since = output.fired === true ? `Firing since ${formatDateTime(last.createdAt)}.` : "Firing.";
      return (
        <>
          <span className="badge badge-bad" data-status="firing">
            {since}
          </span>{" "}
          Checked {formatDateTime(last.createdAt)}.
        </>
      );
    }
    return (
      <>
        <span className="badge badge-good" data-status="ok">
          OK
        </span>{" "}
        Checked {formatDateTime(last.createdAt)}.
      </>
    );
  }
  return (
    <>
      <StatusBadge status={last.status} /> {formatDateTime(last.createdAt)}.
    </>
  );
}

interface RowProps {
  action: Action;
  /** Workbook titles by id: a report names the one it sends. */
  workbooks: Map<string, string>;
  onEdit: (action: Action) => void;
  onChanged: () => void;
  onSecret: (name: string, secret: string) => void;
}

function ActionItem({ action, workbooks, onEdit, onChanged, onSecret }: RowProps) {
  const id = useId();
  const [, update] = useMutation(UpdateActionMutation);
  const [running, execute] = useMutation(ExecuteActionMutation);
  const [, remove] = useMutation(DeleteActionMutation);
  const [, rotate] = useMutation(RotateActionSecretMutation);
  const [problem, setProblem] = useState<string | null>(null);
  const [said, setSaid] = useState<string | null>(null);
  const [confirming, setConfirming] = useState<"delete" | "rotate" | null>(null);
  const [historyOpen, setHistoryOpen] = useState(false);
  const [version, setVersion] = useState(0);
  const opener = useRef<HTMLButtonElement | null>(null);
  const ask = (what: "delete" | "rotate", button: HTMLButtonElement) => {
    opener.current = button;
    setConfirming(what);
  };
  const keep = () => {
    setConfirming(null);
    opener.current?.focus();
  };
  const outcome = (error: unknown) => {
    setProblem(error ? describeError(error).message : null);
    return !error;
  };
  const toggle = async (enabled: boolean) => {
    const result = await update({ id: action.id, input: { enabled } });
    if (outcome(result.error)) setSaid(enabled ? "Enabled." : "Disabled: its triggers wait until you enable it.");
  };
  const runNow = async () => {
    const result = await execute({ id: action.id });
    if (!outcome(result.error)) return;
    setSaid("A run is queued: its progress shows in the run history.");
    setHistoryOpen(true);
    setVersion((v) => v + 1);
    onChanged();
  };
  const confirm = async () => {
    if (confirming === "delete") {
      const result = await remove({ id: action.id });
      if (outcome(result.error)) onChanged();
    } else if (confirming === "rotate") {
      const result = await rotate({ id: action.id });
      if (outcome(result.error) && result.data) onSecret(action.name, result.data.rotateActionSecret);
      else opener.current?.focus();
    }
    setConfirming(null);
  };
  const workbookId = obj(action.params).workbook_id;
  const workbook = typeof workbookId === "string" ? workbooks.get(workbookId) : undefined;
  const named = (what: string) => `${what}: ${action.name}`;
  return (
    <li
      className={action.enabled ? "action-card" : "action-card action-card-paused"}
      data-action={action.name}
      data-enabled={action.enabled}
      aria-labelledby={`${id}-name`}
    >
      <div className="action-card-header">
        <h3 id={`${id}-name`}>{action.name}</h3>
        <span className="badge badge-muted">{KIND_LABELS[action.kind as Kind] ?? action.kind}</span>
        {action.enabled ? null : <span className="badge badge-paused">Paused</span>}
      </div>
      {action.enabled ? null : <p className="action-paused-note">Paused: its triggers wait until you enable it.</p>}
      <p className="action-summary">{summaryOf(action.kind, action.params, workbook)}</p>
      <ul className="action-triggers" aria-label="Triggers">
        {action.triggers.map((t) => (
          <li key={t.id}>{triggerWords(t, action.enabled)}</li>
        ))}
      </ul>
      <p className="muted" data-testid="last-run">
        Owner {action.owner}. Last run: <LastRun action={action} />
      </p>
      <div className="action-buttons">
        <label className="check switch">
          <input
            type="checkbox"
            role="switch"
            aria-label={named("Enabled")}
            checked={action.enabled}
            onChange={(e) => void toggle(e.target.checked)}
          />
          <span aria-hidden="true">Enabled</span>
        </label>
        <button
          type="button"
          className={action.enabled ? "primary" : undefined}
          aria-label={named("Run now")}
          disabled={running.fetching}
          onClick={() => void runNow()}
        >
          Run now
        </button>
        <button type="button" aria-label={named("Edit")} onClick={() => onEdit(action)}>
          Edit
        </button>
        {action.secretHint ? (
          <button type="button" onClick={(e) => ask("rotate", e.currentTarget)}>
            New signing secret
          </button>
        ) : null}
        <button type="button" aria-label={named("Delete")} onClick={(e) => ask("delete", e.currentTarget)}>
          Delete
        </button>
      </div>
      {confirming ? (
        <div className="notice" role="alertdialog" aria-labelledby={`${id}-confirm`}>
          <p id={`${id}-confirm`}>
            {confirming === "delete"
              ? `Delete ${action.name}? Its runs and their log go with it.`
              : `Give ${action.name} a new signing secret? The one ending in ${action.secretHint} stops working at once.`}
          </p>
          <div className="dialog-actions">
            <button type="button" className="primary" onClick={() => void confirm()}>
              {confirming === "delete" ? "Delete it" : "Make a new secret"}
            </button>
            <button type="button" autoFocus onClick={keep}>
              Keep it
            </button>
          </div>
        </div>
      ) : null}
      {problem ? (
        <p className="field-problem" role="alert">
          {problem}
        </p>
      ) : null}
      <p role="status" className="hint">
        {said}
      </p>
      <details open={historyOpen} onToggle={(e) => setHistoryOpen(e.currentTarget.open)}>
        <summary>Run history</summary>
        {historyOpen ? (
          <RunHistory
            actionId={action.id}
            actionName={action.name}
            kind={action.kind}
            version={version}
            onSettled={onChanged}
          />
        ) : null}
      </details>
    </li>
  );
}

export default function ActionsPage() {
  useDocumentTitle("Actions");
  const q = useWidgetQuery(ListActionsQuery, { limit: 100, offset: 0 });
  const [editing, setEditing] = useState<Action | "new" | null>(null);
  const [secret, setSecret] = useState<{ name: string; secret: string } | null>(null);
  const newButton = useRef<HTMLButtonElement>(null);
  const actions = q.data?.actions.items ?? [];
  // A report names its workbook: the workbooks listing's titles, asked only when one is shown.
  const [workbookList] = useQuery({
    query: WorkbooksQuery,
    variables: { tags: null, author: null, q: null, favorites: false, sort: "title", limit: 100, offset: 0 },
    pause: !actions.some((a) => a.kind === "report"),
  });
  const workbooks = new Map((workbookList.data?.workbooks.items ?? []).map((w) => [w.id, w.title]));
  const total = q.data?.actions.total ?? actions.length;
  const formKey = editing === "new" ? "new" : (editing?.id ?? "none");
  useEffect(() => {
    if (editing) document.getElementById("action-form")?.querySelector<HTMLElement>("input, select")?.focus();
  }, [formKey, editing]);
  const close = () => {
    setEditing(null);
    newButton.current?.focus();
  };
  return (
    <>
      <h1>Actions</h1>
      <p className="muted">
        Imports from a web or S3 address, webhooks, alerts and reports: by hand, on a schedule or on an event.
      </p>
      {secret ? <SecretNotice name={secret.name} secret={secret.secret} onDone={() => setSecret(null)} /> : null}
      <div className="toolbar">
        <button
          ref={newButton}
          type="button"
          className="primary"
          aria-expanded={editing === "new"}
          onClick={() => setEditing(editing === "new" ? null : "new")}
        >
          New action
        </button>
      </div>
      {editing ? (
        <div id="action-form">
          <ActionForm
            key={formKey}
            initial={editing === "new" ? undefined : draftOf(editing)}
            editing={editing === "new" ? undefined : { id: editing.id, name: editing.name }}
            onCancel={close}
            onSaved={(action, created) => {
              close();
              if (created) setSecret({ name: action.name, secret: created });
              q.refetch();
            }}
          />
        </div>
      ) : null}
      <Widget
        title="Saved actions"
        fetching={q.fetching}
        error={q.error}
        hasData={q.hasData}
        empty={actions.length === 0}
        emptyText="Press New action to make one."
        onRetry={q.refetch}
      >
        <ul className="action-list">
          {actions.map((action) => (
            <ActionItem
              key={action.id}
              action={action}
              workbooks={workbooks}
              onEdit={setEditing}
              onChanged={q.refetch}
              onSecret={(name, value) => setSecret({ name, secret: value })}
            />
          ))}
        </ul>
        {total > actions.length ? (
          <p className="hint">
            The first {formatInteger(actions.length)} of {formatCount(total, "action")}.
          </p>
        ) : null}
      </Widget>
    </>
  );
}
