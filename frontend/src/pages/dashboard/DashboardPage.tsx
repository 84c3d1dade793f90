import { lazy, Suspense, useMemo } from "react";
import { useQuery } from "urql";
import { useSearchParams } from "react-router";

import { useDocumentTitle } from "../../hooks/useDocumentTitle";
import { FilterBar } from "./FilterBar";
import {
  DEFAULT_DATASOURCE,
  filtersFromParams,
  filtersToParams,
  granularityFromParams,
  profitabilityFromParams,
  toSalesFilter,
  withSetting,
} from "./filters";
import { SaveDashboardButton } from "../workbook/SaveDashboardButton";
import { chooseDashboard } from "./generic/choice";
import { MissingDatasource } from "./generic/MissingDatasource";
import { DashboardDatasourcesQuery } from "./generic/queries";
import { useHomeChoice } from "./useHomeChoice";
import { useToday } from "./useToday";
import { Breakdown, BREAKDOWNS } from "./widgets/Breakdown";
import { HeatmapWidget, Ratings, TopProducts } from "./widgets/Details";
import { Kpis } from "./widgets/Kpis";
import { Profitability } from "./widgets/Profitability";
import { Trend } from "./widgets/Trend";

// A datasource without the sales columns gets a page of its own, loaded when first needed.
const GenericDashboard = lazy(() => import("./generic/GenericDashboard"));

function Opening({ text }: { text: string }) {
  return (
    <p role="status" className="page-loading">
      {text}
    </p>
  );
}

export default function DashboardPage() {
  useDocumentTitle("Dashboard");
  const [params, setParams] = useSearchParams();
  const filters = useMemo(() => filtersFromParams(params), [params]);
  const granularity = granularityFromParams(params);
  const today = useToday(); // relative ranges count from today in the profile's time zone
  const filter = useMemo(() => toSalesFilter(filters, today), [filters, today]);
  // The default datasource is always sales: its dashboard asks nothing more than before. The list
  // is read again on each visit: a datasource uploaded since is not missing.
  const [listed] = useQuery({
    query: DashboardDatasourcesQuery,
    pause: filters.datasource === DEFAULT_DATASOURCE,
    requestPolicy: "cache-and-network",
  });
  const choosing = useHomeChoice();
  if (choosing) return <Opening text="Opening your default dashboard…" />;
  const datasources = listed.data?.datasources;
  const choice = chooseDashboard(filters.datasource, datasources, listed.error !== undefined);
  const names = (datasources ?? []).map((d) => d.name);
  const openDatasource = (name: string) =>
    setParams(new URLSearchParams(name === DEFAULT_DATASOURCE ? {} : { ds: name }));
  const rereading = listed.fetching || (listed.stale ?? false);
  if (choice.kind === "loading" || (choice.kind === "missing" && rereading)) {
    return <Opening text="Opening the dashboard…" />;
  }
  if (choice.kind === "missing") {
    return <MissingDatasource name={choice.name} names={names} onDatasource={openDatasource} />;
  }
  if (choice.kind === "generic") {
    return (
      <Suspense fallback={<Opening text="Opening the dashboard…" />}>
        <GenericDashboard datasource={choice.datasource} names={names} onDatasource={openDatasource} />
      </Suspense>
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
