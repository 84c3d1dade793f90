import { graphql } from "../../../gql";

// Raw rows (no measures), their count and their first and last day: the `analytics` query.
export const RowsQuery = graphql(`
  query DashboardRows($query: AnalyticsQueryInput!) {
    analytics(query: $query) {
      columns
      rows
    }
  }
`);
