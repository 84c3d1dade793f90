import { useEffect, useRef, useState } from "react";
import { Link } from "react-router";
import { useClient, useMutation } from "urql";

import { describeError } from "../../api/errors";
import { ErrorMessage } from "../../components/ErrorMessage";
import { StatusBadge } from "../../components/StatusBadge";
import {
  formatChange,
  formatCount,
  formatDateTime,
  formatDuration,
  formatInteger,
  formatMs,
  formatNumber,
} from "../../format";
import type { ActionRunFieldsFragment } from "../../gql/graphql";
import { usePolling } from "../../hooks/usePolling";
import { useWidgetQuery } from "../../hooks/useWidgetQuery";
import { EVENT_LABELS } from "./draft";
import { ActionRunsQuery, RedeliverRunMutation } from "./queries";

const LIVE = new Set(["queued", "running"]);
const TRIGGERS: Record<string, string> = { manual: "by hand", schedule: "on schedule", event: "on an event" };

type Json = Record<string, unknown>;

function obj(value: unknown): Json {
  return value && typeof value === "object" && !Array.isArray(value) ? (value as Json) : {};
}

function num(value: unknown): number | null {
  return typeof value === "number" && Number.isFinite(value) ? value : null;
}

/** The seconds between two moments (null while the run has not ended). */
export function secondsBetween(start: string | null | undefined, end: string | null | undefined): number | null {
  if (!start || !end) return null;
  const ms = new Date(end).getTime() - new Date(start).getTime();
  return Number.isFinite(ms) ? Math.max(0, ms / 1000) : null;
}

function count(value: unknown): number {
  return Array.isArray(value) ? value.length : 0;
}

/** The tasks an import queued, each a link to its page. */
function TaskLinks({ tasks }: { tasks: string[] }) {
  return (
    <span>
      {tasks.length === 1 ? "Task " : "Tasks "}
      {tasks.map((t, i) => (
        <span key={t}>
          {i ? ", " : null}
          <Link to={`/tasks/${t}`}>{t.slice(0, 8)}</Link>
        </span>
      ))}
    </span>
  );
}

/** What a run's output says, in short: the tasks it queued, the HTTP answer, the rows, an
 * alert's value and state, and the kind's own note. */
export function OutputSummary({ output }: { output: unknown }) {
  const o = obj(output);
  const tasks = Array.isArray(o.task_ids) ? o.task_ids.filter((t): t is string => typeof t === "string") : [];
  const status = num(o.http_status);
  const latency = num(o.latency_ms);
  const rows = num(o.rows);
  const value = num(o.value);
  const change = num(o.change_pct);
  const recipients = num(o.recipients);
  const parts = [];
  if (tasks.length) parts.push(<TaskLinks key="tasks" tasks={tasks} />);
  if (count(o.duplicates)) parts.push(<span key="dup">{formatCount(count(o.duplicates), "file")} loaded before</span>);
  if (count(o.refused)) parts.push(<span key="ref">{formatCount(count(o.refused), "file")} refused</span>);
  if (status !== null) {
    parts.push(
      <span key="http">
        HTTP {status}
        {latency !== null ? ` in ${formatMs(latency)}` : ""}
      </span>,
    );
  }
  if (rows !== null) parts.push(<span key="rows">{formatCount(rows, "row")}</span>);
  if (recipients) parts.push(<span key="to">{formatCount(recipients, "recipient")}</span>);
  if (value !== null) parts.push(<span key="value">Value {formatNumber(value)}</span>);
  if (change !== null) parts.push(<span key="change">Change {formatChange(change)}</span>);
  if (typeof o.state === "string") parts.push(<span key="state">State {o.state}</span>);
  if (o.fired === true) parts.push(<strong key="fired">Fired</strong>);
  if (typeof o.note === "string") parts.push(<span key="note">{o.note}</span>);
  if (!parts.length) return <span className="muted">Nothing to report.</span>;
  return <span className="run-output">{parts}</span>;
}

function errorText(error: unknown): string | null {
  if (!error) return null;
  const e = obj(error);
  const text = e.message ?? e.reason ?? e.error;
  return typeof text === "string" ? text : JSON.stringify(error);
}

type Delivery = ActionRunFieldsFragment["deliveryLog"][number];

/** One delivery attempt in a sentence; a refused one says why it was not sent. */
export function deliveryWords(d: Delivery): string {
  const when = `Attempt ${formatInteger(d.attempt)}, ${formatDateTime(d.at)}`;
  const to = d.channel === "smtp" ? `e-mail to ${d.target}` : `${d.target}`;
  if (d.refused) {
    const why = d.error ? d.error.replace(/[.\s]+$/, "") : "the address is not one actions may call";
    return `${when}: the delivery to ${to} was refused and not sent, because ${lowerFirst(why)}.`;
  }
  const status = d.statusCode !== null && d.statusCode !== undefined ? `, status ${d.statusCode}` : "";
  const latency = d.latencyMs !== null && d.latencyMs !== undefined ? ` in ${formatMs(d.latencyMs)}` : "";
  return `${when}: ${d.channel === "smtp" ? "sent" : "POST to"} ${to}${status}${latency}.`;
}

function lowerFirst(text: string): string {
  // "10.1.2.3 is a private address" stays; "The host..." reads "the host..." after "because".
  return /^[A-Z][a-z]/.test(text) ? text.charAt(0).toLowerCase() + text.slice(1) : text;
}

function Deliveries({ run }: { run: ActionRunFieldsFragment }) {
  if (!run.deliveryLog.length) return null;
  return (
    <details className="run-deliveries">
      <summary>Deliveries ({formatInteger(run.deliveryLog.length)})</summary>
      <ol>
        {run.deliveryLog.map((d) => (
          <li key={`${d.attempt}-${d.at}`} data-delivery={d.attempt}>
            <p className={d.refused ? "field-problem" : undefined}>{deliveryWords(d)}</p>
            {d.error && !d.refused ? <p className="field-problem">{d.error}</p> : null}
            {d.responseHead ? (
              <pre className="json" aria-label={`Answer to attempt ${d.attempt}`}>
                {d.responseHead.slice(0, 1024)}
              </pre>
            ) : null}
          </li>
        ))}
      </ol>
    </details>
  );
}

/** Whether a run delivered something that can be sent again: a webhook's, an alert's or a
 * report's run with a delivery log. An import's run never (sending it again would fetch anew). */
export function canSendAgain(kind: string, run: ActionRunFieldsFragment): boolean {
  if (kind === "import" || LIVE.has(run.status.toLowerCase())) return false;
  return run.deliveryLog.length > 0;
}

/** A run waiting for its next delivery attempt (it was tried and will be again). */
function retrying(run: ActionRunFieldsFragment): boolean {
  return run.status.toLowerCase() === "queued" && Boolean(run.nextAttemptAt) && run.attempts > 0;
}

interface RunProps {
  run: ActionRunFieldsFragment;
  kind: string;
  actionName: string;
  onChanged: () => void;
}

/** Which event started a run: "when a task fails: bad.csv (sales)", the file linking to its task. */
export function EventCause({ event }: { event: unknown }) {
  const given = obj(event);
  const type = typeof given.type === "string" ? given.type : null;
  if (!type) return <>on an event</>;
  const file = typeof given.filename === "string" ? given.filename : null;
  const task = typeof given.task_id === "string" ? given.task_id : null;
  const datasource = typeof given.datasource === "string" ? given.datasource : null;
  return (
    <>
      when {EVENT_LABELS[type] ?? type}
      {file && task ? (
        <>
          : <Link to={`/tasks/${task}`}>{file}</Link>
        </>
      ) : null}
      {datasource ? ` (${datasource})` : null}
    </>
  );
}

function RunItem({ run, kind, actionName, onChanged }: RunProps) {
  const [sending, redeliver] = useMutation(RedeliverRunMutation);
  const [problem, setProblem] = useState<string | null>(null);
  const status = run.status.toLowerCase();
  const error = errorText(run.error);
  const sendAgain = async () => {
    setProblem(null);
    const result = await redeliver({ actionId: run.actionId, runId: run.id });
    if (result.error) setProblem(describeError(result.error).message);
    onChanged();
  };
  return (
    <li className="run" data-run-status={retrying(run) ? "retrying" : status}>
      <div className="run-head">
        {retrying(run) ? (
          <span className="badge badge-warn" data-status="retrying">
            Retrying at {formatDateTime(run.nextAttemptAt)}.
          </span>
        ) : (
          <StatusBadge status={status} />
        )}
        <span>
          {formatDateTime(run.createdAt)},{" "}
          {run.trigger === "event" ? <EventCause event={run.event} /> : (TRIGGERS[run.trigger] ?? run.trigger)}
        </span>
        {canSendAgain(kind, run) ? (
          <button
            type="button"
            aria-label={`Send again: ${actionName}`}
            disabled={sending.fetching}
            onClick={() => void sendAgain()}
          >
            Send again
          </button>
        ) : null}
      </div>
      <dl className="facts">
        <dt>Duration</dt>
        <dd>{formatDuration(secondsBetween(run.startedAt, run.finishedAt))}</dd>
        <dt>Output</dt>
        <dd>
          <OutputSummary output={run.output} />
        </dd>
        {error ? (
          <>
            <dt>{retrying(run) ? "Last attempt" : "Error"}</dt>
            <dd className={retrying(run) ? undefined : "field-problem"}>{error}</dd>
          </>
        ) : null}
        {run.nextAttemptAt && LIVE.has(status) && !retrying(run) ? (
          <>
            <dt>Next attempt</dt>
            <dd>{formatDateTime(run.nextAttemptAt)}</dd>
          </>
        ) : null}
      </dl>
      {problem ? (
        <p className="field-problem" role="alert">
          {problem}
        </p>
      ) : null}
      <Deliveries run={run} />
    </li>
  );
}

const PAGE = 20;

interface Props {
  actionId: string;
  /** The action's name: its runs' buttons are named with it. */
  actionName?: string;
  /** The action's kind (import runs are never sent again). */
  kind?: string;
  /** Changes when a run was started from outside (Run now): the runs are read again. */
  version?: number;
  /** Called when the runs that were live have all ended (the action's last run changed). */
  onSettled?: () => void;
}

/** An action's runs, newest first, read again every 2 s while one is queued or running. */
export function RunHistory({ actionId, actionName = "", kind = "", version = 0, onSettled }: Props) {
  // The newest 20 are read again while a run is live; "Show more" adds the next 20 after those
  // shown (a run that came in meanwhile shifts them: one already shown is not shown twice).
  const q = useWidgetQuery(ActionRunsQuery, { actionId, limit: PAGE, offset: 0 });
  const client = useClient();
  const [older, setOlder] = useState<ActionRunFieldsFragment[]>([]);
  const [more, setMore] = useState<{ fetching: boolean; problem: string | null }>({ fetching: false, problem: null });
  const newest = q.data?.actionRuns.items ?? [];
  const ids = new Set(newest.map((r) => r.id));
  const runs = [...newest, ...older.filter((r) => !ids.has(r.id))];
  const showMore = async () => {
    setMore({ fetching: true, problem: null });
    const result = await client
      .query(ActionRunsQuery, { actionId, limit: PAGE, offset: runs.length }, { requestPolicy: "network-only" })
      .toPromise();
    if (result.error) {
      setMore({ fetching: false, problem: describeError(result.error).message });
      return;
    }
    const shown = new Set(runs.map((r) => r.id));
    const added = (result.data?.actionRuns.items ?? []).filter((r) => !shown.has(r.id));
    setOlder((old) => [...old, ...added]);
    setMore({ fetching: false, problem: null });
  };
  const live = runs.some((r) => LIVE.has(r.status.toLowerCase()));
  usePolling(q.refetch, 2000, live);
  const wasLive = useRef(false);
  useEffect(() => {
    if (wasLive.current && !live) onSettled?.();
    wasLive.current = live;
  }, [live, onSettled]);
  const { refetch } = q;
  useEffect(() => {
    if (version) refetch();
    // eslint-disable-next-line react-hooks/exhaustive-deps -- only when a run was started
  }, [version]);
  if (q.error && !q.hasData)
    return <ErrorMessage error={q.error} what="The runs could not be loaded" onRetry={q.refetch} />;
  if (!q.hasData) {
    return (
      <p role="status" className="hint">
        Loading the runs…
      </p>
    );
  }
  if (!runs.length) return <p className="hint">No run yet: press Run now, or wait for a trigger.</p>;
  const total = q.data?.actionRuns.total ?? runs.length;
  return (
    <>
      <ol className="run-list" aria-label="Runs, newest first" aria-busy={q.fetching}>
        {runs.map((run) => (
          <RunItem key={run.id} run={run} kind={kind} actionName={actionName} onChanged={q.refetch} />
        ))}
      </ol>
      {total > runs.length ? (
        <div className="run-more">
          <p className="hint" role="status">
            The {formatInteger(runs.length)} latest of {formatCount(total, "run")}.
          </p>
          <button type="button" disabled={more.fetching} onClick={() => void showMore()}>
            Show more
          </button>
          {more.problem ? (
            <p className="field-problem" role="alert">
              {more.problem}
            </p>
          ) : null}
        </div>
      ) : null}
    </>
  );
}
