import { useId } from "react";
import { Link, useSearchParams } from "react-router";

import { DataTable } from "../../components/DataTable";
import { StatusBadge } from "../../components/StatusBadge";
import { Widget } from "../../components/Widget";
import type { TaskStatus } from "../../gql/graphql";
import { formatBytes, formatDateTime, formatInteger } from "../../format";
import { useDocumentTitle } from "../../hooks/useDocumentTitle";
import { useTaskListUpdates } from "../../hooks/useLiveUpdates";
import { useWidgetQuery } from "../../hooks/useWidgetQuery";
import { TasksQuery } from "./queries";
import { TaskActions } from "./TaskDetails";

const STATUSES: TaskStatus[] = [
  "QUEUED",
  "VALIDATING",
  "LOADING",
  "WAITING_FOR_DRUID",
  "DRUID_SUBMITTING",
  "DRUID_INDEXING",
  "DRUID_LOADING",
  "SUCCEEDED",
  "FAILED",
  "CANCELLED",
];
const PAGE = 20;

/** The rows a task loaded: a failed one none (whatever its checks found valid); null while it
 * runs or when it was cancelled. */
function loaded(task: { status: string; rowsValid: number | null }): number | null {
  const status = task.status.toLowerCase();
  if (status === "failed") return 0;
  return status === "succeeded" ? task.rowsValid : null;
}

export default function TasksPage() {
  useDocumentTitle("Tasks");
  const id = useId();
  const [params, setParams] = useSearchParams();
  const datasource = params.get("ds") || null;
  const statusParam = (params.get("status") ?? "").toUpperCase();
  const status = STATUSES.includes(statusParam as TaskStatus) ? (statusParam as TaskStatus) : null;
  const page = Math.max(0, Number.parseInt(params.get("page") ?? "0", 10) || 0);
  const q = useWidgetQuery(TasksQuery, { datasource, status, limit: PAGE + 1, offset: page * PAGE });
  useTaskListUpdates(datasource, q.refetch);
  const all = q.data?.ingestionTasks ?? [];
  const rows = all.slice(0, PAGE);
  const set = (key: string, value: string | null) => {
    const next = new URLSearchParams(params);
    if (value) next.set(key, value);
    else next.delete(key);
    if (key !== "page") next.delete("page");
    setParams(next);
  };
  return (
    <>
      <h1>Ingestion tasks</h1>
      <form className="toolbar" aria-label="Task filters" onSubmit={(e) => e.preventDefault()}>
        <div className="field">
          <label htmlFor={`${id}-ds`}>Datasource</label>
          <input
            id={`${id}-ds`}
            defaultValue={datasource ?? ""}
            onBlur={(e) => set("ds", e.target.value.trim() || null)}
            onKeyDown={(e) => {
              if (e.key === "Enter") set("ds", e.currentTarget.value.trim() || null);
            }}
          />
        </div>
        <div className="field">
          <label htmlFor={`${id}-st`}>Status</label>
          <select
            id={`${id}-st`}
            value={status ?? ""}
            onChange={(e) => set("status", e.target.value.toLowerCase() || null)}
          >
            <option value="">any</option>
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {s.toLowerCase().replaceAll("_", " ")}
              </option>
            ))}
          </select>
        </div>
      </form>
      <Widget
        title="Tasks"
        fetching={q.fetching}
        error={q.error}
        hasData={q.hasData}
        empty={rows.length === 0}
        emptyText="No task matches these filters."
        onRetry={q.refetch}
      >
        <DataTable
          caption="Ingestion tasks, newest first"
          rows={rows}
          rowKey={(r) => r.taskId}
          columns={[
            { header: "File", cell: (r) => <Link to={`/tasks/${r.taskId}`}>{r.filename}</Link> },
            { header: "Datasource", cell: (r) => r.datasource },
            { header: "Status", cell: (r) => <StatusBadge status={r.status} /> },
            { header: "Size", cell: (r) => formatBytes(r.sizeBytes), numeric: true },
            { header: "Rows loaded", cell: (r) => formatInteger(loaded(r)), numeric: true },
            { header: "Rejected", cell: (r) => formatInteger(r.rowsRejected), numeric: true },
            { header: "Created", cell: (r) => formatDateTime(r.createdAt) },
            { header: "Actions", cell: (r) => <TaskActions task={r} onChanged={q.refetch} /> },
          ]}
        />
      </Widget>
      <nav className="toolbar" aria-label="Pages of tasks">
        <button type="button" disabled={page === 0} onClick={() => set("page", page > 1 ? String(page - 1) : null)}>
          Previous
        </button>
        <span>Page {formatInteger(page + 1)}</span>
        <button type="button" disabled={all.length <= PAGE} onClick={() => set("page", String(page + 1))}>
          Next
        </button>
      </nav>
    </>
  );
}
