import { useId, type ReactNode } from "react";

import { csvName, downloadCsv, type CsvTable } from "./csv";
import { ErrorMessage } from "./ErrorMessage";

export type WidgetState = "loading" | "error" | "empty" | "ready";

interface Props {
  title: string;
  /** The query is running (first load or refresh). */
  fetching: boolean;
  error?: unknown;
  /** There is a result (possibly stale while refreshing). */
  hasData: boolean;
  /** The result has nothing to show. */
  empty?: boolean;
  /** What to change to see something (after "Nothing to show."). */
  emptyText?: string;
  /** The figures the widget shows, exact, for its "Download CSV" button. */
  figures?: () => CsvTable;
  /** Opens the rows behind the widget ("Show rows"). */
  onShowRows?: () => void;
  /** Shown whatever the state (a dialog the widget opens). */
  overlay?: ReactNode;
  /** Controls in the widget's header (a granularity switch...). */
  actions?: ReactNode;
  onRetry?: () => void;
  className?: string;
  children?: ReactNode;
}

/** A dashboard card with its loading, error, empty and ready states (data-state says which). */
export function Widget({
  title,
  fetching,
  error,
  hasData,
  empty = false,
  emptyText = "No sales match this selection: widen the date range or remove a filter.",
  figures,
  onShowRows,
  overlay,
  actions,
  onRetry,
  className,
  children,
}: Props) {
  const headingId = useId();
  let state: WidgetState;
  if (error && !hasData) state = "error";
  else if (!hasData) state = "loading";
  else if (empty) state = "empty";
  else state = "ready";
  return (
    <section
      className={`widget ${className ?? ""}`}
      aria-labelledby={headingId}
      aria-busy={fetching}
      data-widget={title}
      data-state={state}
    >
      <header className="widget-header">
        <h2 id={headingId}>{title}</h2>
        {actions || state === "ready" ? (
          <div className="widget-actions">
            {actions}
            {state === "ready" && onShowRows ? (
              <button type="button" onClick={onShowRows} aria-label={`Show rows of ${title.toLowerCase()}`}>
                Show rows
              </button>
            ) : null}
            {state === "ready" && figures ? (
              <button
                type="button"
                onClick={() => downloadCsv(csvName(title), figures())}
                aria-label={`Download CSV of ${title.toLowerCase()}`}
              >
                Download CSV
              </button>
            ) : null}
          </div>
        ) : null}
      </header>
      {state === "loading" ? (
        <div className="widget-loading" role="status">
          <span className="spinner" aria-hidden="true" />
          Loading…
        </div>
      ) : null}
      {state === "error" ? (
        <ErrorMessage error={error} what={`${title} could not be loaded`} onRetry={onRetry} />
      ) : null}
      {state === "empty" ? (
        <p className="widget-empty">
          <strong>Nothing to show.</strong> <span>{emptyText}</span>
        </p>
      ) : null}
      {state === "ready" ? (
        <>
          {error ? <ErrorMessage error={error} what="The latest refresh failed" onRetry={onRetry} /> : null}
          {children}
        </>
      ) : null}
      {overlay}
    </section>
  );
}
