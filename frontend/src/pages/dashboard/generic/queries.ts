import { graphql } from "../../../gql";

/** The datasources the reader may open, with their contract: which dashboard each gets. */
export const DashboardDatasourcesQuery = graphql(`
  query DashboardDatasources {
    datasources {
      name
      rowCount
      timeStart
      timeEnd
      columns {
        name
        type
      }
    }
  }
`);

/** Every figure of the page for any datasource: the ad-hoc analytics query. */
export const GenericAnalyticsQuery = graphql(`
  query GenericAnalytics($query: AnalyticsQueryInput!) {
    analytics(query: $query) {
      columns
      rows
    }
  }
`);
