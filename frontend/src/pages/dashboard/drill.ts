// Drill-through: a click on a bar or a slice filters the whole dashboard by its value, through
// the URL as the filter bar does (one history entry, so Back undoes it).
import { useCallback } from "react";
import { useSearchParams } from "react-router";

import { filtersFromParams, filtersToParams, type ListFilter } from "./filters";

export function useDrill(): (key: ListFilter, value: string) => void {
  const [params, setParams] = useSearchParams();
  return useCallback(
    (key: ListFilter, value: string) => {
      const filters = filtersFromParams(params);
      setParams(filtersToParams({ ...filters, [key]: [value] }, params));
    },
    [params, setParams],
  );
}
