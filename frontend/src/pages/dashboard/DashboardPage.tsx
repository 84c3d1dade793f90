import { useMemo } from "react";
import { useSearchParams } from "react-router";

import { useDocumentTitle } from "../../hooks/useDocumentTitle";
import { FilterBar } from "./FilterBar";
import {
  filtersFromParams,
  filtersToParams,
  granularityFromParams,
  profitabilityFromParams,
  toSalesFilter,
  withSetting,
} from "./filters";
import { SaveDashboardButton } from "../workbook/SaveDashboardButton";
import { useHomeChoice } from "./useHomeChoice";
import { useToday } from "./useToday";
import { Breakdown, BREAKDOWNS } from "./widgets/Breakdown";
import { HeatmapWidget, Ratings, TopProducts } from "./widgets/Details";
import { Kpis } from "./widgets/Kpis";
import { Profitability } from "./widgets/Profitability";
import { Trend } from "./widgets/Trend";

export default function DashboardPage() {
  useDocumentTitle("Dashboard");
  const [params, setParams] = useSearchParams();
  const filters = useMemo(() => filtersFromParams(params), [params]);
  const granularity = granularityFromParams(params);
  const today = useToday(); // relative ranges count from today in the profile's time zone
  const filter = useMemo(() => toSalesFilter(filters, today), [filters, today]);
  if (useHomeChoice()) {
    return (
      <p role="status" className="page-loading">
        Opening your default dashboard…
      </p>
    );
  }
  return (
    <>
      <div className="page-title">
        <h1>Sales dashboard</h1>
        <SaveDashboardButton filters={filters} />
      </div>
      <FilterBar filters={filters} onChange={(next) => setParams(filtersToParams(next, params))} />
      <Kpis
        filter={filter}
        onCompare={(dateFrom, dateTo) =>
          setParams(filtersToParams({ ...filters, range: null, dateFrom, dateTo }, params))
        }
      />
      <Trend
        filter={filter}
        granularity={granularity}
        onGranularity={(g) => setParams(withSetting(params, "g", g, "DAY"))}
      />
      <div className="grid">
        {BREAKDOWNS.map((b) => (
          <Breakdown key={b.title} title={b.title} field={b.field} donut={b.donut} filter={filter} />
        ))}
        <Profitability
          filter={filter}
          by={profitabilityFromParams(params)}
          onBy={(by) => setParams(withSetting(params, "profit", by, "PRODUCT_LINE"))}
        />
        <TopProducts filter={filter} />
        <Ratings filter={filter} />
        <HeatmapWidget filter={filter} />
      </div>
    </>
  );
}
