import { useState } from "react";
import { useNavigate } from "react-router";
import { useMutation } from "urql";

import { downloadFile } from "../../api/rest";
import { DataTable } from "../../components/DataTable";
import { ErrorMessage } from "../../components/ErrorMessage";
import { StatusBadge } from "../../components/StatusBadge";
import type { TaskFieldsFragment } from "../../gql/graphql";
import { formatBytes, formatCount, formatDateTime, formatInteger, formatPercent } from "../../format";
import { overridesWords } from "./overrides";
import { CancelTaskMutation, RetryTaskMutation, retryHelps, TERMINAL } from "./queries";
import { Remedies, type Reloaded, type Remedy } from "./Remedies";
import { TaskSource } from "./TaskSource";

interface SampleRow {
  key: string;
  row: number;
  column: string;
  value: string;
  reason: string;
}

/** Every sample of every failed check, one line each: where, what and why (the check's sentence,
 * or the sample's own when it says more, such as the value a derived column should have). */
export function reportRows(task: TaskFieldsFragment): SampleRow[] {
  const rows: SampleRow[] = [];
  for (const [i, check] of (task.report?.checks ?? []).entries()) {
    for (const [j, sample] of check.samples.entries()) {
      rows.push({
        key: `${i}:${j}`,
        row: sample.row,
        column: check.column ?? "",
        value: sample.value ?? "",
        reason: sample.message ?? check.message,
      });
    }
  }
  return rows.sort((a, b) => a.row - b.row);
}

/** The report's outcome after its counts: a dry run's says that nothing was loaded. */
function outcomeWords(outcome: string | null): string {
  if (outcome === "previewed") return " (a preview: nothing was loaded)";
  return outcome ? ` (${outcome})` : "";
}

export function ValidationTable({ task }: { task: TaskFieldsFragment }) {
  const report = task.report;
  if (!report) return null;
  const rows = reportRows(task);
  const problems = report.schemaProblems;
  const label = report.rowLabel || "line";
  return (
    <section aria-label="Validation report" className="widget" data-testid="validation-report">
      <h2>Validation report</h2>
      <p>
        {formatCount(report.rowsRead, "row")} read, {formatInteger(report.rowsValid)} valid,{" "}
        {formatInteger(report.rowsRejected)} rejected
        {outcomeWords(report.outcome)}.
      </p>
      {problems.missing.length > 0 ? <p>Missing columns: {problems.missing.join(", ")}</p> : null}
      {problems.extra.length > 0 ? <p>Extra columns: {problems.extra.join(", ")}</p> : null}
      {problems.wrongType.map((w) => (
        <p key={w.column}>
          Column {w.column} should be {w.expected}
        </p>
      ))}
      {rows.length > 0 ? (
        <DataTable
          visibleCaption
          caption={`Rejected values (${label} numbers as in the file)`}
          rows={rows}
          rowKey={(r) => r.key}
          columns={[
            { header: label[0]?.toUpperCase() + label.slice(1), cell: (r) => formatInteger(r.row), numeric: true },
            { header: "Column", cell: (r) => r.column },
            { header: "Value", cell: (r) => <code>{r.value}</code> },
            { header: "Reason", cell: (r) => r.reason },
          ]}
        />
      ) : null}
      {task.report?.checks.some((c) => c.truncated) ? (
        <p>Only the first samples of each check are shown; the rejected rows file has them all.</p>
      ) : null}
      {task.rejectedRowsUrl && (task.rowsRejected ?? 0) > 0 ? <RejectedLink task={task} /> : null}
    </section>
  );
}

function RejectedLink({ task }: { task: TaskFieldsFragment }) {
  const [error, setError] = useState<unknown>(null);
  const url = task.rejectedRowsUrl ?? "";
  const stem = task.filename.replace(/\.[^.]*$/, "") || task.taskId;
  return (
    <p>
      <a
        href={url}
        onClick={(event) => {
          event.preventDefault();
          downloadFile(url, `${stem}-rejected.csv`).catch(setError);
        }}
      >
        Download the rejected rows (CSV)
      </a>
      {error ? <ErrorMessage error={error} what="The download failed" /> : null}
    </p>
  );
}

/** What a task loaded, in words: a failed task loaded nothing, whatever its rows' checks found. */
export function rowsLoaded(task: {
  status: string;
  rowsRead?: number | null;
  rowsValid: number | null;
  rowsRejected: number | null;
}): string {
  const read = `${formatInteger(task.rowsRead)} read`;
  if (task.status.toLowerCase() === "failed") {
    const invalid = task.rowsRejected ? `, ${formatInteger(task.rowsRejected)} invalid` : "";
    return `${read}, none loaded${invalid}`;
  }
  return `${read}, ${formatInteger(task.rowsValid)} valid, ${formatInteger(task.rowsRejected)} rejected`;
}

type ActionsTask = { taskId: string; status: string; error?: { remedies: { action: string }[] } | null };

export function TaskActions({ task, onChanged }: { task: ActionsTask; onChanged: () => void }) {
  const [retry, doRetry] = useMutation(RetryTaskMutation);
  const [cancel, doCancel] = useMutation(CancelTaskMutation);
  const navigate = useNavigate();
  const status = task.status.toLowerCase();
  const error = retry.error ?? cancel.error;
  // A retry refused with a way out (the same file is loaded by another task: load it anyway).
  const offered = (retry.error?.graphQLErrors[0]?.extensions.remedies ?? []) as Remedy[];
  return (
    <span className="task-actions">
      {retryHelps(task) ? (
        <button
          type="button"
          disabled={retry.fetching}
          onClick={() => void doRetry({ taskId: task.taskId }).then(onChanged)}
        >
          Retry
        </button>
      ) : null}
      {!TERMINAL.has(status) ? (
        <button
          type="button"
          disabled={cancel.fetching}
          onClick={() => void doCancel({ taskId: task.taskId }).then(onChanged)}
        >
          Cancel
        </button>
      ) : null}
      {error && offered.length > 0 ? (
        <span className="problem" role="alert">
          <span className="problem-title">{retry.error?.graphQLErrors[0]?.message}</span>
          <Remedies
            taskId={task.taskId}
            remedies={offered}
            onReloaded={(next) => void navigate(`/tasks/${next.taskId}`)}
          />
        </span>
      ) : error ? (
        <ErrorMessage error={error} what="The task could not be changed" />
      ) : null}
    </span>
  );
}

function TaskProblem({ task, onReloaded }: { task: TaskFieldsFragment; onReloaded: (task: Reloaded) => void }) {
  const error = task.error;
  if (!error) return null;
  const offered = error.remedies.filter((r) => r.action !== "retry");
  // With buttons offered, the advice is theirs: the words without the service's option names.
  const detail = offered.length > 0 ? (error.plainDetail ?? null) : error.detail;
  return (
    <div className="problem" role="alert">
      <p className="problem-title">{error.message}</p>
      {detail ? <p>{detail}</p> : null}
      <Remedies taskId={task.taskId} remedies={offered} onReloaded={onReloaded} />
    </div>
  );
}

export function TaskDetails({
  task,
  onChanged,
  onReloaded,
}: {
  task: TaskFieldsFragment;
  onChanged: () => void;
  /** A remedy taken: the new task (default: its page). */
  onReloaded?: (task: Reloaded) => void;
}) {
  const navigate = useNavigate();
  const reloaded = onReloaded ?? ((next: Reloaded) => void navigate(`/tasks/${next.taskId}`));
  return (
    <div data-task-status={task.status.toLowerCase()}>
      <section className="widget" aria-label="Summary">
        <p>
          Status: <StatusBadge status={task.status} /> <TaskActions task={task} onChanged={onChanged} />
        </p>
        {/* Only while it runs: a failed task's "5%" reads as if it were still going. */}
        {!TERMINAL.has(task.status.toLowerCase()) ? (
          <progress max={1} value={task.progress} aria-label="Task progress">
            {formatPercent(task.progress * 100)}
          </progress>
        ) : null}
        <dl className="facts">
          <dt>File</dt>
          <dd>
            {task.filename} ({task.fileFormat}, {formatBytes(task.sizeBytes)})
          </dd>
          {task.action ? (
            <>
              <dt>Source</dt>
              <dd>
                <TaskSource source={task.action} />
              </dd>
            </>
          ) : null}
          <dt>Datasource</dt>
          <dd>{task.datasource}</dd>
          {overridesWords(task.overrides).length > 0 ? (
            <>
              <dt>Changes from the preview</dt>
              <dd data-testid="task-overrides">{overridesWords(task.overrides).join(" ")}</dd>
            </>
          ) : null}
          <dt>Rows</dt>
          <dd>{rowsLoaded(task)}</dd>
          <dt>Created</dt>
          <dd>{formatDateTime(task.createdAt)}</dd>
          <dt>Finished</dt>
          <dd>{formatDateTime(task.finishedAt)}</dd>
          <dt>Attempts</dt>
          <dd>{formatInteger(task.attempts)}</dd>
          <dt>Data as of</dt>
          <dd>{formatDateTime(task.dataAsOf)}</dd>
          {task.traceId ? (
            <>
              <dt>Trace</dt>
              <dd>
                <code title="OpenTelemetry trace id: look it up in your tracing tool">{task.traceId}</code>
              </dd>
            </>
          ) : null}
        </dl>
        <TaskProblem task={task} onReloaded={reloaded} />
      </section>
      <ValidationTable task={task} />
      <section className="widget" aria-label="Timeline">
        <h2>Timeline</h2>
        {task.events.length === 0 ? (
          <p>No events yet.</p>
        ) : (
          <ol className="timeline">
            {task.events.map((event, index) => (
              <li key={index}>
                <StatusBadge status={event.status} /> {formatDateTime(event.at)}: {event.message}
              </li>
            ))}
          </ol>
        )}
      </section>
      <section className="widget" aria-label="Druid">
        <h2>Druid</h2>
        {task.druidTaskId || task.druidReport ? (
          <>
            <p>
              Druid task {task.druidTaskId ?? "not submitted"} into {task.druidDatasource ?? task.datasource}
            </p>
            {task.druidReport ? <pre className="json">{JSON.stringify(task.druidReport, null, 2)}</pre> : null}
          </>
        ) : (
          <p>Not loaded into Druid: this installation serves dashboards from the embedded engine.</p>
        )}
      </section>
    </div>
  );
}
