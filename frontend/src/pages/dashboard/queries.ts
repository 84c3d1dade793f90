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
      transactions
    }
    productLines: salesByProductLine(filter: $filter) {
      key
      transactions
    }
    customerTypes: salesByCustomerType(filter: $filter) {
      key
      transactions
    }
    genders: salesByGender(filter: $filter) {
      key
      transactions
    }
    payments: salesByPayment(filter: $filter) {
      key
      transactions
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

// The dashboard asks in few requests: a browser opens at most 6 connections to one server, and
// a dozen separate requests would wait for each other. Widgets sharing a document share its one
// request (urql deduplicates); trend and profitability have switches of their own.
export const OverviewQuery = graphql(`
  query DashboardOverview($filter: SalesFilter!) {
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
    byBranch: salesByBranch(filter: $filter) {
      ...BreakdownFields
    }
    byCity: salesByCity(filter: $filter) {
      ...BreakdownFields
    }
    byProductLine: salesByProductLine(filter: $filter) {
      ...BreakdownFields
    }
    byPayment: salesByPayment(filter: $filter) {
      ...BreakdownFields
    }
    byCustomerType: salesByCustomerType(filter: $filter) {
      ...BreakdownFields
    }
    byGender: salesByGender(filter: $filter) {
      ...BreakdownFields
    }
  }
`);

export const DetailsQuery = graphql(`
  query DashboardDetails($filter: SalesFilter!) {
    topProductLines(filter: $filter, metric: REVENUE, limit: 5) {
      productLine
      value
      totalSales
      grossIncome
      transactions
      unitsSold
      averageRating
    }
    ratingDistribution(filter: $filter, bins: 10) {
      lower
      upper
      count
    }
    salesHeatmap(filter: $filter) {
      dayOfWeek
      hour
      totalSales
      transactions
    }
  }
`);
