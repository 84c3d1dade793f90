// The rows behind a widget: the matching raw rows, 50 a page, sortable by any column, and the
// whole selection as one CSV file.
import { useEffect, useId, useRef, useState } from "react";
import { useQuery } from "urql";

import { downloadFile } from "../../../api/rest";
import { ErrorMessage } from "../../../components/ErrorMessage";
import type { FilterInput, SalesFilter } from "../../../gql/graphql";
import { formatCount, formatInteger } from "../../../format";
import { RowsQuery } from "./queries";
import { analyticsFilters, rowsCsvUrl, weekdayDates, type RowsScope } from "./scope";

export const PAGE_SIZE = 50;
const HIDDEN = new Set(["__time"]); // the Date and Time columns say it in words

interface Sort {
  name: string;
  descending: boolean;
}

/** The filters of the scope; a weekday becomes the list of its days between the first and last
 * matching day (null until those are known). */
function useScopeFilters(datasource: string, filter: SalesFilter, scope: RowsScope): FilterInput[] | null {
  const base = [...analyticsFilters(filter), ...(scope.filters ?? [])];
  const [bounds] = useQuery({
    query: RowsQuery,
    variables: {
      query: {
        datasource,
        measures: [
          { aggregate: "MIN", column: "Date", alias: "first" },
          { aggregate: "MAX", column: "Date", alias: "last" },
        ],
        filters: base,
      },
    },
    pause: !scope.weekday,
  });
  if (!scope.weekday) return base;
  const row = (bounds.data?.analytics.rows as (string | null)[][] | undefined)?.[0];
  if (!row) return null;
  const [first, last] = row;
  const days = first && last ? weekdayDates(first, last, scope.weekday) : [];
  return [...base, { kind: "IN", column: "Date", values: days }];
}

function cellText(value: unknown): string {
  if (value === null || value === undefined) return "";
  return String(value);
}

export function RowsDialog({ filter, scope, onClose }: { filter: SalesFilter; scope: RowsScope; onClose: () => void }) {
  const headingId = useId();
  const dialog = useRef<HTMLDialogElement>(null);
  const datasource = filter.datasource ?? "sales";
  const filters = useScopeFilters(datasource, filter, scope);
  const [page, setPage] = useState(0);
  const [sort, setSort] = useState<Sort | null>(null);
  const [downloadError, setDownloadError] = useState<unknown>(null);
  useEffect(() => {
    const element = dialog.current;
    if (element && !element.open) element.showModal();
  }, []);
  const [rows] = useQuery({
    query: RowsQuery,
    variables: {
      query: {
        datasource,
        measures: [],
        filters: filters ?? [],
        order: sort ? [sort] : [],
        limit: PAGE_SIZE,
        offset: page * PAGE_SIZE,
      },
    },
    pause: filters === null,
  });
  const [count] = useQuery({
    query: RowsQuery,
    variables: { query: { datasource, measures: [{ aggregate: "COUNT", alias: "rows" }], filters: filters ?? [] } },
    pause: filters === null,
  });
  const total = Number((count.data?.analytics.rows as number[][] | undefined)?.[0]?.[0] ?? 0);
  const columns = rows.data?.analytics.columns ?? [];
  const shown = columns.map((name, index) => ({ name, index })).filter((c) => !HIDDEN.has(c.name));
  const values = (rows.data?.analytics.rows as unknown[][] | undefined) ?? [];
  const pages = Math.max(1, Math.ceil(total / PAGE_SIZE));
  const first = page * PAGE_SIZE + 1;
  const sortBy = (name: string) => {
    setSort(sort?.name === name ? { name, descending: !sort.descending } : { name, descending: false });
    setPage(0);
  };
  const download = () => {
    setDownloadError(null);
    downloadFile(
      rowsCsvUrl(datasource, filters ?? [], sort?.name ?? null, sort?.descending ?? false),
      `${datasource}-rows.csv`,
    ).catch(setDownloadError);
  };
  const error = rows.error ?? count.error;
  return (
    <dialog ref={dialog} className="rows-dialog" aria-labelledby={headingId} onClose={onClose}>
      <div className="rows-dialog-header">
        <h2 id={headingId}>Rows: {scope.title}</h2>
        <div className="widget-actions">
          <button type="button" onClick={download} disabled={filters === null || total === 0}>
            Download CSV of all {formatCount(total, "row")}
          </button>
          <button type="button" onClick={() => dialog.current?.close()}>
            Close
          </button>
        </div>
      </div>
      {downloadError ? <ErrorMessage error={downloadError} what="The rows could not be downloaded" /> : null}
      {error ? <ErrorMessage error={error} what="The rows could not be loaded" /> : null}
      <p role="status" className="rows-status">
        {filters === null || rows.fetching || count.fetching
          ? "Loading the rows…"
          : total === 0
            ? "Nothing to show: no row matches. Widen the date range or remove a filter."
            : `Rows ${formatInteger(first)} to ${formatInteger(Math.min(total, first + PAGE_SIZE - 1))} of ${formatInteger(total)}` +
              (sort
                ? `, sorted by ${sort.name} ${sort.descending ? "from highest to lowest" : "from lowest to highest"}.`
                : ".")}
      </p>
      <div className="table-scroll" role="region" aria-label={`Rows: ${scope.title}`} tabIndex={0}>
        <table>
          <caption className="visually-hidden">Rows: {scope.title}. Choose a column heading to sort by it.</caption>
          <thead>
            <tr>
              {shown.map(({ name }) => (
                <th
                  key={name}
                  scope="col"
                  aria-sort={sort?.name === name ? (sort.descending ? "descending" : "ascending") : undefined}
                >
                  <button type="button" onClick={() => sortBy(name)}>
                    {name}
                    <span aria-hidden="true">{sort?.name === name ? (sort.descending ? " ▼" : " ▲") : ""}</span>
                  </button>
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {values.map((row, i) => (
              <tr key={i}>
                {shown.map(({ name, index }) => (
                  <td key={name}>{cellText(row[index])}</td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <nav className="rows-pager" aria-label="Pages of rows">
        <button type="button" onClick={() => setPage(page - 1)} disabled={page === 0}>
          Previous page
        </button>
        <span>
          Page {formatInteger(page + 1)} of {formatInteger(pages)}
        </span>
        <button type="button" onClick={() => setPage(page + 1)} disabled={page + 1 >= pages}>
          Next page
        </button>
      </nav>
    </dialog>
  );
}
