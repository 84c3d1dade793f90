import type { AnyVariables, DocumentInput } from "@urql/core";
import { useQuery } from "urql";

import { describeError } from "../api/errors";

export interface WidgetQuery<Data> {
  data: Data | undefined;
  fetching: boolean;
  error: unknown;
  hasData: boolean;
  /** A datasource that does not exist yet: an empty state, not an error. */
  missingDatasource: string | null;
  refetch: () => void;
}

/** A widget's query with what its loading, empty and error states need. */
export function useWidgetQuery<Data, Variables extends AnyVariables>(
  query: DocumentInput<Data, Variables>,
  variables: Variables,
  pause = false,
): WidgetQuery<Data> {
  const [result, reexecute] = useQuery<Data, Variables>({ query, variables, pause } as never);
  const problem = result.error ? describeError(result.error) : null;
  const missing = problem?.code === "UNKNOWN_DATASOURCE" ? problem.message : null;
  return {
    data: result.data ?? undefined,
    fetching: result.fetching || (result.stale ?? false),
    error: missing ? undefined : result.error,
    hasData: result.data !== undefined && result.data !== null ? true : missing !== null,
    missingDatasource: missing,
    refetch: () => reexecute({ requestPolicy: "network-only" }),
  };
}
