import { graphql } from "../../gql";

export const FilterOptionsQuery = graphql(`
  query FilterOptions($filter: SalesFilter!) {
    datasources {
      name
      rowCount
      timeStart
      timeEnd
      dataAsOf
    }
    branches: salesByBranch(filter: $filter) {
      key
    }
    productLines: salesByProductLine(filter: $filter) {
      key
    }
    customerTypes: salesByCustomerType(filter: $filter) {
      key
    }
    genders: salesByGender(filter: $filter) {
      key
    }
    payments: salesByPayment(filter: $filter) {
      key
    }
  }
`);

export const SummaryQuery = graphql(`
  query Summary($filter: SalesFilter!) {
    salesSummary(filter: $filter) {
      totalSales
      grossIncome
      transactions
      unitsSold
      averageBasket
      averageRating
      previous {
        totalSales
        grossIncome
        transactions
        unitsSold
        averageBasket
        averageRating
      }
      changePercent {
        totalSales
        grossIncome
        transactions
        unitsSold
        averageBasket
        averageRating
      }
      periodStart
      periodEnd
      previousStart
      previousEnd
    }
  }
`);

export const TrendQuery = graphql(`
  query Trend($filter: SalesFilter!, $granularity: Granularity!) {
    salesTrend(filter: $filter, granularity: $granularity) {
      period
      totalSales
      grossIncome
      transactions
      unitsSold
    }
  }
`);

graphql(`
  fragment BreakdownFields on SalesBreakdown {
    key
    totalSales
    grossIncome
    transactions
    unitsSold
    share
  }
`);

export const ByBranchQuery = graphql(`
  query ByBranch($filter: SalesFilter!) {
    rows: salesByBranch(filter: $filter) {
      ...BreakdownFields
    }
  }
`);

export const ByCityQuery = graphql(`
  query ByCity($filter: SalesFilter!) {
    rows: salesByCity(filter: $filter) {
      ...BreakdownFields
    }
  }
`);

export const ByProductLineQuery = graphql(`
  query ByProductLine($filter: SalesFilter!) {
    rows: salesByProductLine(filter: $filter) {
      ...BreakdownFields
    }
  }
`);

export const ByPaymentQuery = graphql(`
  query ByPayment($filter: SalesFilter!) {
    rows: salesByPayment(filter: $filter) {
      ...BreakdownFields
    }
  }
`);

export const ByCustomerTypeQuery = graphql(`
  query ByCustomerType($filter: SalesFilter!) {
    rows: salesByCustomerType(filter: $filter) {
      ...BreakdownFields
    }
  }
`);

export const ByGenderQuery = graphql(`
  query ByGender($filter: SalesFilter!) {
    rows: salesByGender(filter: $filter) {
      ...BreakdownFields
    }
  }
`);

export const ProfitabilityQuery = graphql(`
  query Profitability($filter: SalesFilter!, $by: ProfitabilityBy!) {
    profitability(filter: $filter, by: $by) {
      key
      revenue
      cogs
      grossIncome
      margin
    }
  }
`);

export const TopProductLinesQuery = graphql(`
  query TopProductLines($filter: SalesFilter!, $metric: TopMetric!, $limit: Int!) {
    topProductLines(filter: $filter, metric: $metric, limit: $limit) {
      productLine
      value
      totalSales
      grossIncome
      transactions
      unitsSold
      averageRating
    }
  }
`);

export const RatingQuery = graphql(`
  query RatingDistribution($filter: SalesFilter!) {
    ratingDistribution(filter: $filter, bins: 10) {
      lower
      upper
      count
    }
  }
`);

export const HeatmapQuery = graphql(`
  query Heatmap($filter: SalesFilter!) {
    salesHeatmap(filter: $filter) {
      dayOfWeek
      hour
      totalSales
      transactions
    }
  }
`);
