import { useId } from "react";
import { useMutation } from "urql";

import { ErrorMessage } from "../components/ErrorMessage";
import { StatusBadge } from "../components/StatusBadge";
import { Widget } from "../components/Widget";
import { graphql } from "../gql";
import type { SigmaMode, StatusQuery as StatusQueryResult } from "../gql/graphql";
import { formatCount, formatDateTime, formatInteger, formatMs } from "../format";
import { useDocumentTitle } from "../hooks/useDocumentTitle";
import { usePolling } from "../hooks/usePolling";
import { useWidgetQuery } from "../hooks/useWidgetQuery";
import { StackedTable } from "./performance/StackedTable";
import { componentName, ENGINES } from "./performance/words";
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
      engineName
      druidUnavailable
      lastChange {
        mode
        changedAt
        changedBy
      }
    }
    sigmaCapabilities {
      name
      available
      description
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

type Engine = NonNullable<StatusQueryResult["sigmaStatus"]>;

/** Which engine serves dashboards, and the switch: Apache Druid cannot be chosen (and says why)
 * when it is not set up or does not answer. */
function EngineChoice({ sigma, onChanged }: { sigma: Engine; onChanged: () => void }) {
  const reasonId = useId();
  const [change, setMode] = useMutation(SetModeMutation);
  const switchTo = (mode: SigmaMode) => void setMode({ mode }).then(onChanged);
  const druidRefused = sigma.druidUnavailable !== null && sigma.druidUnavailable !== undefined;
  const latency =
    sigma.engineLatencyMs !== null && sigma.engineLatencyMs !== undefined
      ? `, it answered in ${formatMs(sigma.engineLatencyMs)}`
      : "";
  return (
    <>
      <p>
        Engine: <strong data-testid="engine">{sigma.engineName}</strong>.{" "}
        {sigma.operational ? `It works${latency}.` : "It does not work now."}
      </p>
      {sigma.engineDetail ? <p>{sigma.engineDetail}</p> : null}
      <p>
        It serves {formatInteger(sigma.datasources)} {sigma.datasources === 1 ? "datasource" : "datasources"} with{" "}
        {formatCount(sigma.rowsServed, "row")}.{" "}
        {sigma.lastChange.changedAt
          ? `Chosen ${formatDateTime(sigma.lastChange.changedAt)} by ${sigma.lastChange.changedBy ?? "someone"}.`
          : "It has never been changed."}
      </p>
      <fieldset>
        <legend>Engine for dashboards</legend>
        <button
          type="button"
          disabled={change.fetching || sigma.mode === "STANDALONE"}
          onClick={() => switchTo("STANDALONE")}
        >
          Use the {ENGINES.STANDALONE} engine
        </button>{" "}
        <button
          type="button"
          disabled={change.fetching || sigma.mode === "WAREHOUSE" || druidRefused}
          aria-describedby={druidRefused ? reasonId : undefined}
          onClick={() => switchTo("WAREHOUSE")}
        >
          Use {ENGINES.WAREHOUSE}
        </button>
        {druidRefused ? (
          <p id={reasonId} data-testid="druid-reason">
            {ENGINES.WAREHOUSE} cannot be chosen: {sigma.druidUnavailable}
          </p>
        ) : null}
      </fieldset>
      {change.error ? <ErrorMessage error={change.error} what="The engine was not changed" /> : null}
    </>
  );
}

export default function StatusPage() {
  useDocumentTitle("Status");
  const q = useWidgetQuery(StatusQuery, {});
  usePolling(q.refetch, 10000);
  const health = q.data?.health;
  const sigma = q.data?.sigmaStatus;
  const common = { fetching: q.fetching, error: q.error, hasData: q.hasData, onRetry: q.refetch };
  return (
    <>
      <h1>Status</h1>
      <Widget title="Health" {...common}>
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
            <StackedTable
              visibleCaption
              caption="Components"
              rows={health.checks}
              rowKey={(c) => c.name}
              columns={[
                { header: "Component", cell: (c) => <span title={c.name}>{componentName(c.name)}</span> },
                { header: "Status", cell: (c) => <StatusBadge status={c.status} /> },
                { header: "Latency", cell: (c) => formatMs(c.latencyMs), numeric: true },
                { header: "Detail", cell: (c) => c.detail ?? "" },
              ]}
            />
          </>
        ) : null}
      </Widget>
      <Widget title="Engine" {...common}>
        {sigma ? <EngineChoice sigma={sigma} onChanged={q.refetch} /> : null}
      </Widget>
      <Widget title="Capabilities" {...common} empty={(q.data?.sigmaCapabilities ?? []).length === 0}>
        <StackedTable
          caption="Capabilities"
          rows={q.data?.sigmaCapabilities ?? []}
          rowKey={(c) => c.name}
          columns={[
            {
              header: "Available",
              cell: (c) => <StatusBadge status={c.available ? "available" : "unavailable"} />,
            },
            { header: "What it means", cell: (c) => <span title={c.name}>{c.description}</span> },
          ]}
        />
      </Widget>
      <StatusUsers />
    </>
  );
}
