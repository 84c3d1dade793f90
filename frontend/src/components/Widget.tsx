import { useId, type ReactNode } from "react";

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
  emptyText?: string;
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
  emptyText = "Nothing to show for this selection.",
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
        {actions ? <div className="widget-actions">{actions}</div> : null}
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
      {state === "empty" ? <p className="widget-empty">{emptyText}</p> : null}
      {state === "ready" ? (
        <>
          {error ? <ErrorMessage error={error} what="The latest refresh failed" onRetry={onRetry} /> : null}
          {children}
        </>
      ) : null}
    </section>
  );
}
