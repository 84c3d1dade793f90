import { useMutation } from "urql";

import { DataTable } from "../components/DataTable";
import { ErrorMessage } from "../components/ErrorMessage";
import { StatusBadge } from "../components/StatusBadge";
import { Widget } from "../components/Widget";
import { graphql } from "../gql";
import type { SigmaMode } from "../gql/graphql";
import { formatDateTime, formatInteger, formatMs } from "../format";
import { useDocumentTitle } from "../hooks/useDocumentTitle";
import { usePolling } from "../hooks/usePolling";
import { useWidgetQuery } from "../hooks/useWidgetQuery";
import { StatusUsers } from "./StatusUsers";

const StatusQuery = graphql(`
  query Status {
    health {
      status
      reasons
      checkedAt
      checks {
        name
        status
        latencyMs
        detail
      }
    }
    sigmaStatus {
      mode
      operational
      engine
      engineStatus
      engineLatencyMs
      engineDetail
      datasources
      rowsServed
      lastChange {
        mode
        changedAt
        changedBy
      }
    }
    sigmaCapabilities {
      name
      available
      reason
    }
  }
`);

const SetModeMutation = graphql(`
  mutation SetSigmaMode($mode: SigmaMode!) {
    setSigmaMode(mode: $mode) {
      mode
      changedAt
      changedBy
    }
  }
`);

export default function StatusPage() {
  useDocumentTitle("Status");
  const q = useWidgetQuery(StatusQuery, {});
  usePolling(q.refetch, 10000);
  const [change, setMode] = useMutation(SetModeMutation);
  const health = q.data?.health;
  const sigma = q.data?.sigmaStatus;
  const switchTo = (mode: SigmaMode) => void setMode({ mode }).then(q.refetch);
  return (
    <>
      <h1>Status</h1>
      <Widget title="Health" fetching={q.fetching} error={q.error} hasData={q.hasData} onRetry={q.refetch}>
        {health ? (
          <>
            <p>
              Overall: <StatusBadge status={health.status} /> checked {formatDateTime(health.checkedAt)}
            </p>
            {health.reasons.length > 0 ? (
              <ul>
                {health.reasons.map((r) => (
                  <li key={r}>{r}</li>
                ))}
              </ul>
            ) : null}
            <DataTable
              visibleCaption
              caption="Components"
              rows={health.checks}
              rowKey={(c) => c.name}
              columns={[
                { header: "Component", cell: (c) => c.name },
                { header: "Status", cell: (c) => <StatusBadge status={c.status} /> },
                { header: "Latency", cell: (c) => formatMs(c.latencyMs), numeric: true },
                { header: "Detail", cell: (c) => c.detail ?? "" },
              ]}
            />
          </>
        ) : null}
      </Widget>
      <Widget title="Sigma mode" fetching={q.fetching} error={q.error} hasData={q.hasData} onRetry={q.refetch}>
        {sigma ? (
          <>
            <p>
              Dashboards are served by <strong>{sigma.engine}</strong> in{" "}
              <strong data-testid="sigma-mode">{sigma.mode.toLowerCase()}</strong> mode (
              {sigma.operational ? "working" : "not working"}: {sigma.engineStatus}
              {sigma.engineLatencyMs !== null && sigma.engineLatencyMs !== undefined
                ? `, ${formatMs(sigma.engineLatencyMs)}`
                : ""}
              ).
            </p>
            {sigma.engineDetail ? <p>{sigma.engineDetail}</p> : null}
            <p>
              {formatInteger(sigma.datasources)} datasources, {formatInteger(sigma.rowsServed)} rows. Last change{" "}
              {formatDateTime(sigma.lastChange.changedAt)} by {sigma.lastChange.changedBy ?? "–"}.
            </p>
            <fieldset>
              <legend>Switch the engine</legend>
              <button
                type="button"
                disabled={change.fetching || sigma.mode === "STANDALONE"}
                onClick={() => switchTo("STANDALONE")}
              >
                Standalone (embedded)
              </button>{" "}
              <button
                type="button"
                disabled={change.fetching || sigma.mode === "WAREHOUSE"}
                onClick={() => switchTo("WAREHOUSE")}
              >
                Warehouse (Druid)
              </button>
            </fieldset>
            {change.error ? <ErrorMessage error={change.error} what="The mode was not changed" /> : null}
          </>
        ) : null}
      </Widget>
      <Widget
        title="Capabilities"
        fetching={q.fetching}
        error={q.error}
        hasData={q.hasData}
        empty={(q.data?.sigmaCapabilities ?? []).length === 0}
        onRetry={q.refetch}
      >
        <DataTable
          caption="Capabilities"
          rows={q.data?.sigmaCapabilities ?? []}
          rowKey={(c) => c.name}
          columns={[
            { header: "Capability", cell: (c) => c.name },
            { header: "Available", cell: (c) => <StatusBadge status={c.available ? "available" : "unavailable"} /> },
            { header: "Reason", cell: (c) => c.reason },
          ]}
        />
      </Widget>
      <StatusUsers />
    </>
  );
}
