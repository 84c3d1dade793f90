import { useEffect, useRef, useState } from "react";
import { Link } from "react-router";

import { StatusBadge } from "../../components/StatusBadge";
import { Widget } from "../../components/Widget";
import { graphql } from "../../gql";
import type { PerformanceQuery as PerformanceQueryResult } from "../../gql/graphql";
import {
  formatBytes,
  formatCount,
  formatDuration,
  formatInteger,
  formatMs,
  formatNumber,
  formatPercent,
} from "../../format";
import { useDocumentTitle } from "../../hooks/useDocumentTitle";
import { usePolling } from "../../hooks/usePolling";
import { useWidgetQuery } from "../../hooks/useWidgetQuery";
import { AccessLog } from "./AccessLog";
import { StackedTable } from "./StackedTable";
import { reachedStages, sourceName, stageName } from "./words";

const PerformanceQuery = graphql(`
  query Performance {
    dataSources {
      id
      type
      status
      reason
      version
      sizeBytes
      sizeReason
      connections {
        total
        active
        max
      }
      connectionsReason
    }
    activeQueries {
      available
      reason
      queries {
        __typename
        ... on DatabaseQuery {
          pid
          state
          durationSeconds
          query
        }
        ... on DruidTask {
          taskId
          datasource
          state
          durationSeconds
        }
      }
    }
    slowQueries {
      available
      reason
      queries {
        query
        calls
        meanMs
        recommendations
      }
    }
    pipelines {
      datasource
      runs
      successRate
      rowsLoaded
      rowsRejected
      recent {
        taskId
        status
        filename
        durationSeconds
        waitedSeconds
        stages {
          stage
          seconds
        }
      }
    }
    application {
      uptimeSeconds
      requests
      errors
      routes {
        route
        label
        requests
        errors
        latencyMs {
          p50
          p95
          p99
        }
      }
      process {
        cpuUserSeconds
        cpuSystemSeconds
        rssBytes
        rssReason
      }
    }
  }
`);

type Performance = PerformanceQueryResult;
type Connections = NonNullable<Performance["dataSources"][number]["connections"]>;
type ActiveQuery = Performance["activeQueries"]["queries"][number];

const perMinute = (count: number, seconds: number): string =>
  seconds > 0 ? formatNumber((count * 60) / seconds, 1) : "–";
const connections = (c: Connections): string =>
  `${formatInteger(c.total)} of ${formatInteger(c.max)}, ${formatInteger(c.active)} active`;

/** Whether a source's queries can be seen: the reason when not, a sentence when there are none. */
function Availability({ found }: { found: { available: boolean; reason: string | null; queries: unknown[] } }) {
  if (!found.available) return <p>Not available: {found.reason ?? "–"}</p>;
  return found.queries.length === 0 ? <p>None right now.</p> : null;
}

function ActiveQueries({ found }: { found: Performance["activeQueries"] | undefined }) {
  const title = "Active queries";
  return (
    <>
      <h3>{title}</h3>
      {found ? <Availability found={found} /> : null}
      {found && found.queries.length > 0 ? (
        <StackedTable<ActiveQuery>
          caption={title}
          rows={found.queries}
          rowKey={(r, i) => (r.__typename === "DatabaseQuery" ? String(r.pid) : (r.taskId ?? String(i)))}
          columns={[
            {
              header: "Query",
              cell: (r) =>
                r.__typename === "DatabaseQuery" ? (
                  <code>{r.query}</code>
                ) : (
                  `${r.taskId ?? "–"} (${r.datasource ?? "–"})`
                ),
            },
            { header: "State", cell: (r) => r.state ?? "–" },
            {
              header: "Running for",
              cell: (r) => formatMs(r.durationSeconds === null ? null : r.durationSeconds * 1000),
              numeric: true,
            },
          ]}
        />
      ) : null}
    </>
  );
}

function SlowQueries({ found }: { found: Performance["slowQueries"] | undefined }) {
  const title = "Slow queries";
  return (
    <>
      <h3>{title}</h3>
      {found ? <Availability found={found} /> : null}
      {found && found.queries.length > 0 ? (
        <StackedTable
          caption={title}
          rows={found.queries}
          rowKey={(_, i) => String(i)}
          columns={[
            { header: "Query", cell: (r) => <code>{r.query}</code> },
            { header: "Calls", cell: (r) => formatInteger(r.calls), numeric: true },
            { header: "Mean time", cell: (r) => formatMs(r.meanMs), numeric: true },
            { header: "Recommendations", cell: (r) => r.recommendations.join(" ") },
          ]}
        />
      ) : null}
    </>
  );
}

type Run = Performance["pipelines"][number]["recent"][number];

/** The stages a run went through (none it never reached: Druid's when Druid is off), and the
 * time it waited for a retry, which is in none of them nor in the time it worked. */
function RunStages({ stages, waited }: { stages: Run["stages"]; waited: number }) {
  const reached = reachedStages(stages);
  return (
    <span>
      {reached.map((s) => `${stageName(s.stage)}: ${formatDuration(s.seconds)}`).join("; ")}
      {waited > 0 ? <span className="raw-name">Waited {formatDuration(waited)} for a retry (not counted).</span> : null}
    </span>
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
  const app = d?.application;
  const cpuSeconds = app ? app.process.cpuUserSeconds + app.process.cpuSystemSeconds : 0;
  const cpu = useCpuPercent(cpuSeconds, app?.uptimeSeconds ?? null);
  const dataSources = d?.dataSources ?? [];
  const pipelines = d?.pipelines ?? [];
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
        <Widget title="Data sources" {...common} empty={dataSources.length === 0}>
          <StackedTable
            caption="Data sources"
            rows={dataSources}
            rowKey={(r) => r.id}
            columns={[
              { header: "Part", cell: (r) => <span title={r.id}>{sourceName(r.id, r.type)}</span> },
              {
                header: "Status",
                cell: (r) => (r.status === "not_configured" ? "Not set up" : <StatusBadge status={r.status} />),
              },
              { header: "Version", cell: (r) => r.version ?? "–" },
              {
                header: "Size",
                cell: (r) => (r.sizeBytes !== null ? formatBytes(r.sizeBytes) : (r.sizeReason ?? "–")),
              },
              {
                header: "Connections",
                cell: (r) => (r.connections ? connections(r.connections) : (r.connectionsReason ?? "–")),
              },
            ]}
          />
        </Widget>
        <Widget title="Queries" {...common}>
          <ActiveQueries found={d?.activeQueries} />
          <SlowQueries found={d?.slowQueries} />
        </Widget>
      </div>
      <Widget title="Pipelines" {...common} empty={pipelines.length === 0} emptyText="No ingestion has run yet.">
        {pipelines.map((p) => (
          <div key={p.datasource} data-pipeline={p.datasource}>
            <h3>{p.datasource}</h3>
            <p>
              {formatCount(p.runs, "run")}, success rate{" "}
              {formatPercent(p.successRate === null ? null : p.successRate * 100)}, {formatCount(p.rowsLoaded, "row")}{" "}
              loaded, {formatInteger(p.rowsRejected)} rejected
            </p>
            <StackedTable
              caption={`Recent runs of ${p.datasource}`}
              rows={p.recent}
              rowKey={(r) => r.taskId}
              columns={[
                { header: "Task", cell: (r) => <Link to={`/tasks/${r.taskId}`}>{r.filename}</Link> },
                { header: "Status", cell: (r) => <StatusBadge status={r.status} /> },
                { header: "Worked", cell: (r) => formatDuration(r.durationSeconds), numeric: true },
                {
                  header: "Stages",
                  cell: (r) => <RunStages stages={r.stages} waited={r.waitedSeconds} />,
                },
              ]}
            />
          </div>
        ))}
      </Widget>
      <Widget title="Application" {...common}>
        {app ? (
          <dl className="facts">
            <dt>Up for</dt>
            <dd>{formatDuration(app.uptimeSeconds)}</dd>
            <dt>Requests</dt>
            <dd>
              {formatInteger(app.requests)} ({formatInteger(app.errors)} errors),{" "}
              {perMinute(app.requests, app.uptimeSeconds)} per minute since start
            </dd>
            <dt>CPU</dt>
            <dd>
              {formatDuration(cpuSeconds)} used
              {cpu === null
                ? " (the share appears after the next refresh)"
                : `, ${formatPercent(cpu)} of one core since the last refresh`}
            </dd>
            <dt>Memory</dt>
            <dd>
              {app.process.rssBytes !== null ? formatBytes(app.process.rssBytes) : (app.process.rssReason ?? "–")}
            </dd>
          </dl>
        ) : null}
        <StackedTable
          caption="Requests per route"
          rows={app?.routes ?? []}
          rowKey={(r) => r.route}
          columns={[
            {
              header: "Request",
              cell: (r) => (
                <span>
                  {r.label}
                  {r.label !== r.route ? <code className="raw-name">{r.route}</code> : null}
                </span>
              ),
            },
            { header: "Requests", cell: (r) => formatInteger(r.requests), numeric: true },
            { header: "Errors", cell: (r) => formatInteger(r.errors), numeric: true },
            { header: "p50", cell: (r) => formatMs(r.latencyMs.p50), numeric: true },
            { header: "p95", cell: (r) => formatMs(r.latencyMs.p95), numeric: true },
            { header: "p99", cell: (r) => formatMs(r.latencyMs.p99), numeric: true },
          ]}
        />
      </Widget>
      <AccessLog paused={paused} />
    </>
  );
}
