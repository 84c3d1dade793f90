// The access log (who did what, and who was refused): a page of 20 entries at a time, newest
// first, narrowed as one types to the entries whose person, action or target starts with the
// text (the service matches the start only, in any case; % and _ are plain characters).
import { useId, useState } from "react";

import { Widget } from "../../components/Widget";
import { graphql } from "../../gql";
import { formatDateTime } from "../../format";
import { usePolling } from "../../hooks/usePolling";
import { useWidgetQuery } from "../../hooks/useWidgetQuery";
import { StackedTable } from "./StackedTable";
import { accessLogRange, actionWords } from "./words";

export const PAGE = 20;
const MAX_SEARCH = 100; // the service's bound (backend.monitoring.audit.MAX_SEARCH)

const AccessLogsQuery = graphql(`
  query AccessLogs($search: String, $limit: Int!, $offset: Int!) {
    accessLogs(search: $search, limit: $limit, offset: $offset) {
      total
      nextOffset
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

export function AccessLog({ paused }: { paused: boolean }) {
  const id = useId();
  const [search, setSearch] = useState("");
  const [offset, setOffset] = useState(0);
  const text = search.trim();
  const q = useWidgetQuery(AccessLogsQuery, { search: text || null, limit: PAGE, offset });
  // Only the newest page follows new entries: on an older page they would push rows across pages
  // while the person reads it (shown twice, or skipped on Older).
  usePolling(q.refetch, 5000, !paused && offset === 0);
  const page = q.data?.accessLogs;
  const items = page?.items ?? [];
  const find = (
    <span className="toolbar">
      <label htmlFor={id}>Starts with</label>
      <input
        id={id}
        type="search"
        value={search}
        maxLength={MAX_SEARCH}
        placeholder="a name, an action, a task…"
        onChange={(e) => {
          setSearch(e.target.value);
          setOffset(0);
        }}
      />
    </span>
  );
  return (
    <Widget
      title="Access log"
      actions={find}
      fetching={q.fetching}
      error={q.error}
      hasData={q.hasData}
      onRetry={q.refetch}
    >
      {page ? (
        <p role="status" data-testid="access-log-range">
          {accessLogRange(page.total, offset, items.length, text)}
        </p>
      ) : null}
      {items.length > 0 ? (
        <StackedTable
          caption="Access log"
          rows={items}
          rowKey={(r) => r.id}
          columns={[
            { header: "When", cell: (r) => formatDateTime(r.at) },
            { header: "Who", cell: (r) => r.actor },
            {
              header: "What",
              cell: (r) => <span title={r.action}>{actionWords(r.action)}</span>,
            },
            { header: "On", cell: (r) => r.target ?? "" },
          ]}
        />
      ) : null}
      <nav className="toolbar" aria-label="Pages of the access log">
        <button type="button" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - PAGE))}>
          Newer
        </button>
        <button
          type="button"
          disabled={page?.nextOffset === null || page?.nextOffset === undefined}
          onClick={() => setOffset(page?.nextOffset ?? offset)}
        >
          Older
        </button>
      </nav>
    </Widget>
  );
}
