import { useEffect, useId, useRef, useState } from "react";
import { Link } from "react-router";

import { DataTable } from "../../components/DataTable";
import { StatusBadge } from "../../components/StatusBadge";
import { Widget } from "../../components/Widget";
import { graphql } from "../../gql";
import {
  formatBytes,
  formatDateTime,
  formatDuration,
  formatInteger,
  formatMs,
  formatNumber,
  formatPercent,
} from "../../format";
import { useDocumentTitle } from "../../hooks/useDocumentTitle";
import { usePolling } from "../../hooks/usePolling";
import { useWidgetQuery } from "../../hooks/useWidgetQuery";

const PerformanceQuery = graphql(`
  query Performance {
    dataSources
    activeQueries
    slowQueries
    pipelines
    application
  }
`);

const AccessLogsQuery = graphql(`
  query AccessLogs($action: String, $limit: Int!, $offset: Int!) {
    accessLogs(action: $action, limit: $limit, offset: $offset) {
      total
      items {
        id
        at
        actor
        action
        target
      }
    }
  }
`);

type Json = Record<string, unknown>;
const obj = (value: unknown): Json =>
  value && typeof value === "object" && !Array.isArray(value) ? (value as Json) : {};
const list = (value: unknown): Json[] => (Array.isArray(value) ? value.map(obj) : []);
const num = (value: unknown): number | null => (typeof value === "number" ? value : null);
const perMinute = (count: number | null, seconds: number | null): string =>
  count === null || !seconds ? "–" : formatNumber((count * 60) / seconds, 1);
const str = (value: unknown): string => (value === null || value === undefined ? "–" : String(value));

function Queries({ title, data }: { title: string; data: unknown }) {
  const d = obj(data);
  const queries = list(d.queries);
  return (
    <>
      <h3>{title}</h3>
      {d.available === false ? <p>Not available: {str(d.reason)}</p> : null}
      {d.available !== false && queries.length === 0 ? <p>None right now.</p> : null}
      {queries.length > 0 ? (
        <DataTable
          caption={title}
          rows={queries}
          rowKey={(_, i) => String(i)}
          columns={[
            { header: "Query", cell: (r) => <code>{str(r.query)}</code> },
            { header: "Calls / state", cell: (r) => str(r.calls ?? r.state) },
            {
              header: "Time",
              cell: (r) => formatMs(num(r.mean_ms ?? r.mean_exec_time) ?? (num(r.seconds) ?? 0) * 1000),
              numeric: true,
            },
            { header: "Recommendation", cell: (r) => str(r.recommendation ?? "") },
          ]}
        />
      ) : null}
    </>
  );
}

function AccessLogs({ paused }: { paused: boolean }) {
  const id = useId();
  const [action, setAction] = useState("");
  const q = useWidgetQuery(AccessLogsQuery, { action: action || null, limit: 20, offset: 0 });
  usePolling(q.refetch, 5000, !paused);
  const page = q.data?.accessLogs;
  const filter = (
    <>
      <label htmlFor={id}>Action</label>{" "}
      <input id={id} value={action} onChange={(e) => setAction(e.target.value.trim())} placeholder="upload, retry…" />
    </>
  );
  return (
    <Widget
      title="Access logs"
      actions={filter}
      fetching={q.fetching}
      error={q.error}
      hasData={q.hasData}
      empty={(page?.items.length ?? 0) === 0}
      onRetry={q.refetch}
    >
      {page ? <p>{formatInteger(page.total)} entries; the newest 20:</p> : null}
      <DataTable
        caption="Access logs"
        rows={page?.items ?? []}
        rowKey={(r) => r.id}
        columns={[
          { header: "At", cell: (r) => formatDateTime(r.at) },
          { header: "Who", cell: (r) => r.actor },
          { header: "Action", cell: (r) => r.action },
          { header: "Target", cell: (r) => r.target ?? "" },
        ]}
      />
    </Widget>
  );
}

/** The process's CPU share between two samples (CPU seconds over uptime seconds). */
function useCpuPercent(cpuSeconds: number, uptime: number | null): number | null {
  const previous = useRef<{ cpu: number; uptime: number } | null>(null);
  const [percent, setPercent] = useState<number | null>(null);
  useEffect(() => {
    if (uptime === null) return;
    const last = previous.current;
    if (last && uptime > last.uptime) setPercent(((cpuSeconds - last.cpu) / (uptime - last.uptime)) * 100);
    previous.current = { cpu: cpuSeconds, uptime };
  }, [cpuSeconds, uptime]);
  return percent;
}

export default function PerformancePage() {
  useDocumentTitle("Performance");
  const [paused, setPaused] = useState(false);
  const q = useWidgetQuery(PerformanceQuery, {});
  usePolling(q.refetch, 5000, !paused);
  const d = q.data;
  const app = obj(d?.application);
  const proc = obj(app.process);
  const routes = Object.entries(obj(app.routes)).map(([route, v]) => ({
    route,
    requests: obj(v).requests,
    errors: obj(v).errors,
    latency: obj(obj(v).latency_ms),
  }));
  const pipelines = list(d?.pipelines);
  const cpu = useCpuPercent(
    (num(proc.cpu_user_seconds) ?? 0) + (num(proc.cpu_system_seconds) ?? 0),
    num(app.uptime_seconds),
  );
  const common = { fetching: q.fetching, error: q.error, hasData: q.hasData, onRetry: q.refetch };
  return (
    <>
      <h1>Performance</h1>
      <p className="toolbar">
        <button type="button" aria-pressed={paused} onClick={() => setPaused(!paused)}>
          {paused ? "Resume auto-refresh" : "Pause auto-refresh"}
        </button>
        <span role="status">{paused ? "Auto-refresh paused." : "Refreshing every 5 seconds."}</span>
      </p>
      <div className="grid">
        <Widget title="Data sources" {...common} empty={list(d?.dataSources).length === 0}>
          <DataTable
            caption="Data sources"
            rows={list(d?.dataSources)}
            rowKey={(r, i) => str(r.id ?? i)}
            columns={[
              { header: "Source", cell: (r) => `${str(r.id)} (${str(r.type)})` },
              { header: "Status", cell: (r) => <StatusBadge status={str(r.status)} /> },
              { header: "Version", cell: (r) => str(r.version) },
              {
                header: "Size",
                cell: (r) => (num(r.size_bytes) !== null ? formatBytes(num(r.size_bytes)) : str(r.size_reason)),
              },
              {
                header: "Connections",
                cell: (r) =>
                  num(r.connections) !== null ? formatInteger(num(r.connections)) : str(r.connections_reason),
              },
            ]}
          />
        </Widget>
        <Widget title="Queries" {...common}>
          <Queries title="Active queries" data={d?.activeQueries} />
          <Queries title="Slow queries" data={d?.slowQueries} />
        </Widget>
        <Widget title="Pipelines" {...common} empty={pipelines.length === 0} emptyText="No ingestion has run yet.">
          {pipelines.map((p) => (
            <div key={str(p.datasource)} data-pipeline={str(p.datasource)}>
              <h3>{str(p.datasource)}</h3>
              <p>
                {formatInteger(num(p.runs))} runs, success rate{" "}
                {formatPercent(num(p.success_rate) === null ? null : (num(p.success_rate) ?? 0) * 100)},{" "}
                {formatInteger(num(p.rows_loaded))} rows loaded, {formatInteger(num(p.rows_rejected))} rejected
              </p>
              <DataTable
                caption={`Recent runs of ${str(p.datasource)}`}
                rows={list(p.recent)}
                rowKey={(r) => str(r.task_id)}
                columns={[
                  { header: "Task", cell: (r) => <Link to={`/tasks/${str(r.task_id)}`}>{str(r.filename)}</Link> },
                  { header: "Status", cell: (r) => <StatusBadge status={str(r.status)} /> },
                  { header: "Duration", cell: (r) => formatDuration(num(r.duration_seconds)), numeric: true },
                  {
                    header: "Stages",
                    cell: (r) =>
                      Object.entries(obj(r.stages_seconds))
                        .map(([k, v]) => `${k} ${formatDuration(num(v))}`)
                        .join(", "),
                  },
                ]}
              />
            </div>
          ))}
        </Widget>
        <Widget title="Application" {...common}>
          <dl className="facts">
            <dt>Up for</dt>
            <dd>{formatDuration(num(app.uptime_seconds))}</dd>
            <dt>Requests</dt>
            <dd>
              {formatInteger(num(app.requests))} ({formatInteger(num(app.errors))} errors),{" "}
              {perMinute(num(app.requests), num(app.uptime_seconds))} per minute since start
            </dd>
            <dt>CPU</dt>
            <dd>
              {formatDuration((num(proc.cpu_user_seconds) ?? 0) + (num(proc.cpu_system_seconds) ?? 0))} used
              {cpu === null
                ? " (the share appears after the next refresh)"
                : `, ${formatPercent(cpu)} of one core since the last refresh`}
            </dd>
            <dt>Memory</dt>
            <dd>{num(proc.rss_bytes) !== null ? formatBytes(num(proc.rss_bytes)) : str(proc.rss_reason)}</dd>
          </dl>
          <DataTable
            caption="Requests per route"
            rows={routes}
            rowKey={(r) => r.route}
            columns={[
              { header: "Route", cell: (r) => r.route },
              { header: "Requests", cell: (r) => formatInteger(num(r.requests)), numeric: true },
              { header: "Errors", cell: (r) => formatInteger(num(r.errors)), numeric: true },
              { header: "p50", cell: (r) => formatMs(num(r.latency.p50)), numeric: true },
              { header: "p95", cell: (r) => formatMs(num(r.latency.p95)), numeric: true },
              { header: "p99", cell: (r) => formatMs(num(r.latency.p99)), numeric: true },
            ]}
          />
        </Widget>
      </div>
      <AccessLogs paused={paused} />
    </>
  );
}
