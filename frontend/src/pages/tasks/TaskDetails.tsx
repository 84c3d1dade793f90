import { useState } from "react";
import { useMutation } from "urql";

import { downloadFile } from "../../api/rest";
import { DataTable } from "../../components/DataTable";
import { ErrorMessage } from "../../components/ErrorMessage";
import { StatusBadge } from "../../components/StatusBadge";
import type { TaskFieldsFragment } from "../../gql/graphql";
import { formatBytes, formatDateTime, formatInteger, formatPercent } from "../../format";
import { CancelTaskMutation, RetryTaskMutation, TERMINAL } from "./queries";

interface SampleRow {
  key: string;
  row: number;
  column: string;
  value: string;
  reason: string;
}

/** Every sample of every failed check, one line each: where, what and why. */
export function reportRows(task: TaskFieldsFragment): SampleRow[] {
  const rows: SampleRow[] = [];
  for (const [i, check] of (task.report?.checks ?? []).entries()) {
    for (const [j, sample] of check.samples.entries()) {
      rows.push({
        key: `${i}:${j}`,
        row: sample.row,
        column: check.column ?? "",
        value: sample.value ?? "",
        reason: check.message,
      });
    }
  }
  return rows.sort((a, b) => a.row - b.row);
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
        {formatInteger(report.rowsRead)} rows read, {formatInteger(report.rowsValid)} valid,{" "}
        {formatInteger(report.rowsRejected)} rejected
        {report.outcome ? ` (${report.outcome})` : ""}.
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

export function TaskActions({ task, onChanged }: { task: { taskId: string; status: string }; onChanged: () => void }) {
  const [retry, doRetry] = useMutation(RetryTaskMutation);
  const [cancel, doCancel] = useMutation(CancelTaskMutation);
  const status = task.status.toLowerCase();
  const error = retry.error ?? cancel.error;
  return (
    <span className="task-actions">
      {status === "failed" || status === "cancelled" ? (
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
      {error ? <ErrorMessage error={error} what="The task could not be changed" /> : null}
    </span>
  );
}

export function TaskDetails({ task, onChanged }: { task: TaskFieldsFragment; onChanged: () => void }) {
  return (
    <div data-task-status={task.status.toLowerCase()}>
      <section className="widget" aria-label="Summary">
        <p>
          Status: <StatusBadge status={task.status} /> <TaskActions task={task} onChanged={onChanged} />
        </p>
        <progress max={1} value={task.progress} aria-label="Task progress">
          {formatPercent(task.progress * 100)}
        </progress>
        <dl className="facts">
          <dt>File</dt>
          <dd>
            {task.filename} ({task.fileFormat}, {formatBytes(task.sizeBytes)})
          </dd>
          <dt>Datasource</dt>
          <dd>{task.datasource}</dd>
          <dt>Rows</dt>
          <dd>
            {formatInteger(task.rowsRead)} read, {formatInteger(task.rowsValid)} valid,{" "}
            {formatInteger(task.rowsRejected)} rejected
          </dd>
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
        {task.error ? (
          <div className="problem" role="alert">
            <p className="problem-title">{task.error.message}</p>
            {task.error.detail ? <p>{task.error.detail}</p> : null}
          </div>
        ) : null}
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
